/**
 * The worker-thread entry of the risk pool (risk-pool.ts): the pure analysis, nothing else. Piscina
 * loads this module once per thread and calls the default export with each task.
 */
import { deriveRisk, type RiskAssessment, type RiskInput, type RiskPolicy } from '../../core/risk/index.js';

export interface RiskTask {
  readonly input: RiskInput;
  readonly policy: RiskPolicy;
}

export default function analyse(task: RiskTask): RiskAssessment {
  return deriveRisk(task.input, task.policy);
}
