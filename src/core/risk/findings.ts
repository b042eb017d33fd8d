/**
 * What the analysers found: reason codes, each with up to three pieces of evidence and, where the
 * reading itself decides it, a level above the reason's default (hidden characters inside a command
 * are high, in prose medium). Every analyser writes here; only the combiner reads it.
 */
import { maxLevel, type RiskLevel } from './levels.js';
import type { ReasonCode } from './reasons.js';

export interface FindingSink {
  /** Records a reason; `level` raises it above the reason's default for this handoff. */
  add(reason: ReasonCode, evidence: string, level?: RiskLevel): void;
}

export class Findings implements FindingSink {
  readonly evidence = new Map<ReasonCode, string[]>();
  readonly levels = new Map<ReasonCode, RiskLevel>();
  add(reason: ReasonCode, evidence: string, level?: RiskLevel): void {
    const list = this.evidence.get(reason) ?? [];
    if (list.length < 3 && !list.includes(evidence)) list.push(evidence);
    this.evidence.set(reason, list);
    if (level !== undefined) this.levels.set(reason, maxLevel(this.levels.get(reason) ?? 'low', level));
  }
  delete(reason: ReasonCode): void {
    this.evidence.delete(reason);
    this.levels.delete(reason);
  }
  has(reason: ReasonCode): boolean {
    return this.evidence.has(reason);
  }
  reasons(): ReasonCode[] {
    return [...this.evidence.keys()];
  }
}
