/** Phone calls and SMS through twilio's HTTP fake (the shared scenarios in ./scenarios.ts). */
import { startTwilioFake } from '../fakes/twilio.js';
import { telephonyScenarios } from './scenarios.js';

telephonyScenarios('twilio', (o) => startTwilioFake(o));
