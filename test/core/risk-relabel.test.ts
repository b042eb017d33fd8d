/**
 * Labels can only raise the level (issue #17 §1): relabelling any labelled case's `payload.kind` to
 * any allowed kind, or its `action.type` to `other`, never gives a lower level than the true labels.
 *
 * One exception, by construction: a case with no content at all (no payload, amount or recipient
 * count), whose only signal is the action type itself (`file.delete` of `/`, `iam.change`, a
 * `payment` without an amount). Relabelled `other`, nothing is left to read; those cases keep the
 * payload-kind property and are listed so the exception stays visible.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveRisk, levelRank, PAYLOAD_KINDS, type RiskInput } from '../../src/core/risk/index.js';
import { RISK_CASES } from '../fixtures/risk-cases.js';

function relabel(
  input: RiskInput,
  kind: (typeof PAYLOAD_KINDS)[number] | undefined,
  other: boolean,
): RiskInput {
  return {
    ...input,
    action: other ? { ...input.action, type: 'other' } : input.action,
    ...(input.payload !== undefined && kind !== undefined ? { payload: { ...input.payload, kind } } : {}),
  };
}

const typeOnly = (input: RiskInput): boolean =>
  input.payload === undefined &&
  input.action.amount === undefined &&
  input.action.recipients_count === undefined;

describe('relabelling never lowers the level', () => {
  const levels = RISK_CASES.map((c) => levelRank(deriveRisk(c.input).level));

  it('holds for every case, every payload kind and action type other (property)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: RISK_CASES.length - 1 }),
        fc.option(fc.constantFrom(...PAYLOAD_KINDS), { nil: undefined }),
        fc.boolean(),
        (i, kind, other) => {
          const input = RISK_CASES[i]!.input;
          const relabelled = deriveRisk(relabel(input, kind, other && !typeOnly(input)));
          expect(levelRank(relabelled.level), RISK_CASES[i]!.name).toBeGreaterThanOrEqual(levels[i]!);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('holds exhaustively for every case', () => {
    const lowered: string[] = [];
    RISK_CASES.forEach((c, i) => {
      if (levels[i]! === 0) return; // nothing can be lower than low
      for (const kind of [undefined, ...PAYLOAD_KINDS])
        for (const other of typeOnly(c.input) ? [false] : [false, true]) {
          const got = deriveRisk(relabel(c.input, kind, other)).level;
          if (levelRank(got) < levels[i]!)
            lowered.push(`${c.name} as ${kind ?? 'same kind'}${other ? ', other' : ''}: ${got}`);
        }
    });
    expect(lowered).toEqual([]);
  }, 120_000);

  it('the type-only exception stays small', () => {
    const only = RISK_CASES.filter((c) => typeOnly(c.input) && c.input.action.type !== 'other');
    expect(only.length / RISK_CASES.length).toBeLessThan(0.1);
  });
});
