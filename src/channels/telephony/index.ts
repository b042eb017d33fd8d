/** The telephony provider the operator picked (ONY_TELEPHONY_PROVIDER), built from its credentials. */
import type { TelephonyProviderConfig } from '../../config/telephony.js';
import { createPlivoProvider } from './plivo.js';
import type { TelephonyProvider } from './provider.js';
import { createTelnyxProvider } from './telnyx.js';
import { createSignalWireProvider, createTwilioProvider } from './twilio.js';

export function createTelephonyProvider(cfg: TelephonyProviderConfig): TelephonyProvider {
  switch (cfg.name) {
    case 'twilio':
      return createTwilioProvider(cfg);
    case 'signalwire':
      return createSignalWireProvider(cfg);
    case 'telnyx':
      return createTelnyxProvider(cfg);
    case 'plivo':
      return createPlivoProvider(cfg);
  }
}
