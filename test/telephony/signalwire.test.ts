/** Phone calls and SMS through signalwire's HTTP fake (the shared scenarios in ./scenarios.ts). */
import { startTwilioFake } from '../fakes/twilio.js';
import { telephonyScenarios } from './scenarios.js';

telephonyScenarios('signalwire', (o) => startTwilioFake({ ...o, flavour: 'signalwire' }));
