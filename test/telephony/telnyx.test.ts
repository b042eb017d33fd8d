/** Phone calls and SMS through telnyx's HTTP fake (the shared scenarios in ./scenarios.ts). */
import { startTelnyxFake } from '../fakes/telnyx.js';
import { telephonyScenarios } from './scenarios.js';

telephonyScenarios('telnyx', (o) => startTelnyxFake(o));
