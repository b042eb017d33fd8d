/**
 * Measures the risk engine on the labelled cases: exact-match rate, under-classification (any level
 * below the label) and the safety floor: no high or critical case may come out low. Prints them.
 */
import { describe, expect, it } from 'vitest';
import { deriveRisk, levelRank } from '../../src/core/risk/index.js';
import { RISK_CASES } from '../fixtures/risk-cases.js';

describe('labelled risk cases', () => {
  const results = RISK_CASES.map((c) => ({ c, got: deriveRisk(c.input) }));

  it('has at least 200 cases, over every level', () => {
    expect(RISK_CASES.length).toBeGreaterThanOrEqual(200);
    for (const level of ['low', 'medium', 'high', 'critical'])
      expect(RISK_CASES.some((c) => c.level === level)).toBe(true);
  });

  it('never classifies a high or critical case as low, and reports agreement', () => {
    const severe = results.filter(({ c }) => levelRank(c.level) >= 2);
    const severeToLow = severe.filter(({ got }) => got.level === 'low');
    const under = results.filter(({ c, got }) => levelRank(got.level) < levelRank(c.level));
    const criticalUnder = results.filter(({ c, got }) => c.level === 'critical' && got.level !== 'critical');
    const exact = results.filter(({ c, got }) => c.level === got.level);
    const over = results.filter(({ c, got }) => levelRank(got.level) > levelRank(c.level));
    console.log(
      `risk cases: ${results.length}; exact ${exact.length} (${((exact.length / results.length) * 100).toFixed(1)}%); ` +
        `under-classified ${under.length} (${((under.length / results.length) * 100).toFixed(1)}%); over-classified ${over.length}; ` +
        `high/critical -> low ${severeToLow.length}/${severe.length}; critical below critical ${criticalUnder.length}`,
    );
    expect(severeToLow.map(({ c }) => c.name)).toEqual([]);
    expect(under.length / results.length).toBeLessThanOrEqual(0.05);
    expect(exact.length / results.length).toBeGreaterThanOrEqual(0.9);
  });

  it('gives the expected reasons', () => {
    const missing = results.flatMap(({ c, got }) =>
      c.reasons.filter((r) => !got.reasons.includes(r)).map((r) => `${c.name}: ${r}`),
    );
    expect(missing).toEqual([]);
  });
});
