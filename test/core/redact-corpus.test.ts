/**
 * Measures the redactor on the synthetic corpus: recall (secret gone from the output), type
 * agreement, and false redactions on text that must come out unchanged. Prints the figures.
 */
import { describe, expect, it } from 'vitest';
import { redact, SECRET_TYPES } from '../../src/core/redact/index.js';
import { mustNotRedact, positiveSamples } from '../fixtures/redact-corpus.js';

describe('redaction corpus', () => {
  const positives = positiveSamples();
  const negatives = mustNotRedact();

  it('finds at least 95% of the secrets and covers every rule type', () => {
    let removed = 0;
    let typed = 0;
    const missed: string[] = [];
    for (const s of positives) {
      const out = redact(s.text);
      if (!out.text.includes(s.secret)) removed++;
      else missed.push(`${s.type}: ${s.text.slice(0, 80)}`);
      if (out.findings.some((f) => f.type === s.type)) typed++;
    }
    const recall = removed / positives.length;
    const typeAgreement = typed / positives.length;
    const coveredTypes = new Set(positives.map((p) => p.type));
    console.log(
      `redaction corpus: ${positives.length} secrets across ${coveredTypes.size} types; recall ${(recall * 100).toFixed(1)}%; type agreement ${(typeAgreement * 100).toFixed(1)}%`,
    );
    expect(missed).toEqual([]);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    expect([...SECRET_TYPES].filter((t) => !coveredTypes.has(t))).toEqual([]);
  });

  it('redacts nothing in the must-not-redact set', () => {
    const falseRedactions = negatives.flatMap((text) =>
      redact(text).findings.map((f) => `${f.type}: ${text.slice(f.start, f.end)}`),
    );
    console.log(`must-not-redact set: ${negatives.length} texts; false redactions ${falseRedactions.length}`);
    expect(falseRedactions).toEqual([]);
  });
});
