/** Phone calls and SMS through plivo's HTTP fake (the shared scenarios in ./scenarios.ts). */
import { startPlivoFake } from '../fakes/plivo.js';
import { telephonyScenarios } from './scenarios.js';

telephonyScenarios('plivo', (o) => startPlivoFake(o));
