/**
 * The confusion matrix of the labelled risk corpus (test/fixtures/risk-cases.ts): rows are the
 * expected level, columns the level the engine derives. Shared by `npm run bench risk` and any docs
 * generator that prints the table.
 */
import {
  deriveRisk,
  levelRank,
  RISK_LEVELS,
  type RiskInput,
  type RiskLevel,
} from '../src/core/risk/index.js';

export interface LabelledCase {
  readonly level: RiskLevel;
  readonly input: RiskInput;
}

export interface ConfusionMatrix {
  /** matrix[expected][derived] = number of cases. */
  readonly matrix: Readonly<Record<RiskLevel, Readonly<Record<RiskLevel, number>>>>;
  readonly total: number;
  /** Cases whose derived level is their label. */
  readonly exact: number;
  /** Cases derived below their label (the dangerous direction). */
  readonly below: number;
}

export function confusionMatrix(
  cases: readonly LabelledCase[],
  derive: (input: RiskInput) => { level: RiskLevel } = deriveRisk,
): ConfusionMatrix {
  const row = () => Object.fromEntries(RISK_LEVELS.map((l) => [l, 0])) as Record<RiskLevel, number>;
  const matrix = Object.fromEntries(RISK_LEVELS.map((l) => [l, row()])) as Record<
    RiskLevel,
    Record<RiskLevel, number>
  >;
  let exact = 0;
  let below = 0;
  for (const c of cases) {
    const got = derive(c.input).level;
    matrix[c.level][got]++;
    if (got === c.level) exact++;
    else if (levelRank(got) < levelRank(c.level)) below++;
  }
  return { matrix, total: cases.length, exact, below };
}

/** A Markdown table (rows expected, columns derived) and the summary line under it. */
export function formatConfusionMatrix(m: ConfusionMatrix): string {
  const head = `| expected \\ derived | ${RISK_LEVELS.join(' | ')} | total |`;
  const rule = `| --- | ${RISK_LEVELS.map(() => '---:').join(' | ')} | ---: |`;
  const rows = RISK_LEVELS.map((e) => {
    const cells = RISK_LEVELS.map((d) => m.matrix[e][d]);
    return `| ${e} | ${cells.join(' | ')} | ${cells.reduce((a, b) => a + b, 0)} |`;
  });
  const pct = m.total === 0 ? 0 : (100 * m.exact) / m.total;
  return [
    head,
    rule,
    ...rows,
    '',
    `exact match ${m.exact} / ${m.total} = ${pct.toFixed(1)} %; below their label: ${m.below}`,
  ].join('\n');
}
