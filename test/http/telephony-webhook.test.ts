/**
 * The telephony webhook routes on their own: a request whose handling fails gives its replay key
 * back (the provider retries the same signed request after a 5xx, and that retry must not be refused
 * as a replay), while a request handled once is refused the second time.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createPlivoProvider } from '../../src/channels/telephony/plivo.js';
import { SAY } from '../../src/core/telephony/call-flow.js';
import type { CallsService } from '../../src/features/telephony/calls.service.js';
import type { SmsService } from '../../src/features/telephony/sms.service.js';
import { registerErrorHandling } from '../../src/http/plugins/errors.js';
import { telephonyWebhookRoutes } from '../../src/http/webhooks/telephony.js';
import { systemClock } from '../../src/lib/clock.js';
import { createMemoryStore } from '../../src/state/store.js';
import { plivoSignatureV3 } from '../fakes/plivo.js';

const PUBLIC = 'https://ony.test';
const AUTH_TOKEN = 'plivo-auth-token-for-tests';

describe('telephony webhook replay keys', () => {
  it('are given back when handling fails, so the provider retry is served; kept once it succeeded', async () => {
    let failures = 1;
    const calls = {
      async voice() {
        if (failures-- > 0) throw new Error('database unavailable');
        return { say: [SAY.ended], then: { kind: 'hangup' } };
      },
      async status() {},
    } as unknown as CallsService; // only the two methods the routes call
    const app = Fastify();
    registerErrorHandling(app);
    const store = createMemoryStore();
    await app.register(telephonyWebhookRoutes, {
      server: {
        provider: createPlivoProvider({
          name: 'plivo',
          authId: 'MA0000',
          authToken: AUTH_TOKEN,
          apiUrl: PUBLIC,
        }),
        calls,
        sms: {} as SmsService, // not reached by a voice request
      },
      // The routes' contract with the guard, over the memory store (the durable guard has its own tests).
      replay: { claim: (key, ttlMs) => store.claim(key, '1', ttlMs), release: (key) => store.del(key) },
      clock: systemClock,
      config: { publicUrl: PUBLIC },
    });
    const path = '/webhooks/telephony/voice?s=abcdefghijklmnopqrstuvwxyz012345';
    const fields = {
      CallUUID: 'c0ffee00-0000-4000-8000-000000000001',
      ALegRequestUUID: 'c0ffee00-0000-4000-8000-000000000001',
      From: '14155550101',
      To: '15005550006',
      Digits: '1',
    };
    const nonce = '12345678901234567890';
    const send = () =>
      app.inject({
        method: 'POST',
        url: path,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-plivo-signature-v3': plivoSignatureV3(AUTH_TOKEN, PUBLIC + path, fields, nonce),
          'x-plivo-signature-v3-nonce': nonce,
        },
        payload: new URLSearchParams(fields).toString(),
      });
    expect((await send()).statusCode).toBe(500);
    const retried = await send();
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.body).toContain(SAY.ended);
    expect((await send()).statusCode).toBe(403);
    await app.close();
    await store.close();
  });
});
