/** Risk engine throughput: the labelled cases (cases/s) and a 1 MB command payload. */
import { deriveRisk, type RiskInput } from '../src/core/risk/index.js';
import { gist } from '../src/core/gist/index.js';
import { RISK_CASES } from '../test/fixtures/risk-cases.js';
import { median, timeRounds } from './stats.js';

export async function run(): Promise<void> {
  const inputs = RISK_CASES.map((c) => c.input);
  for (const input of inputs) deriveRisk(input);
  const rounds = await timeRounds(7, () => {
    for (const input of inputs) deriveRisk(input);
  });
  const ms = median(rounds);
  console.log(
    `labelled cases: ${inputs.length} in ${ms.toFixed(1)} ms -> ${Math.round(inputs.length / (ms / 1000))} cases/s`,
  );

  const gists = await timeRounds(7, () => {
    for (const input of inputs) gist(input, { level: 'high', reasons: ['destructive_delete'] });
  });
  console.log(`gist: ${Math.round(inputs.length / (median(gists) / 1000))} gists/s`);

  const big = (content: string, kind: 'command' | 'sql' | 'diff'): RiskInput => ({
    action: { type: kind === 'sql' ? 'db.query' : 'shell.exec' },
    title: 'big',
    summary: '',
    payload: { kind, content },
  });
  for (const [name, input] of [
    [
      '1 MB shell script',
      big(
        'ls -la && echo "$(date)" | tee -a log.txt; rm -f tmp/$i.json\n'.repeat(16_384).slice(0, 1 << 20),
        'command',
      ),
    ],
    ['1 MB of nested $( (adversarial)', big('$('.repeat(1 << 19), 'command')],
    ['1 MB of quotes (adversarial)', big(`"'`.repeat(1 << 19), 'command')],
    ['1 MB SQL', big("UPDATE t SET a = 'x' WHERE id = 1;\n".repeat(30_000).slice(0, 1 << 20), 'sql')],
  ] as const) {
    deriveRisk(input);
    const t = median(await timeRounds(3, () => void deriveRisk(input)));
    console.log(`${name}: ${t.toFixed(0)} ms (${(1 / (t / 1000)).toFixed(1)} MB/s)`);
  }
}
