/**
 * Redactor throughput on a 1 MB synthetic diff (with a few secrets) and on adversarial inputs built
 * to provoke backtracking, each as MB/s and as a ratio to a plain loop over `text.length` of the
 * same string (so the figure means "how many plain scans one redaction costs").
 */
import { redact } from '../src/core/redact/index.js';
import { SecretGenerator } from '../test/fixtures/redact-corpus.js';
import { median, timeRounds } from './stats.js';

const MB = 1 << 20;

function syntheticDiff(bytes: number): string {
  const g = new SecretGenerator(1);
  const lines: string[] = [];
  let size = 0;
  let n = 0;
  while (size < bytes) {
    const file = `src/module-${n}/file-${n % 17}.ts`;
    const hunk = [
      `diff --git a/${file} b/${file}`,
      `index ${g.chars('0123456789abcdef', 7)}..${g.chars('0123456789abcdef', 7)} 100644`,
      `--- a/${file}`,
      `+++ b/${file}`,
      `@@ -${n},7 +${n},9 @@ export function handler${n}(req: Request): Response {`,
      `   const id = req.params.id; // ${g.chars('abcdefghij ', 30)}`,
      `-  const value = compute(id, ${n});`,
      `+  const value = await computeAsync(id, ${n}, { retries: 3, timeout: 5_000 });`,
      `+  logger.info({ id, value }, 'computed value for request ${n}');`,
      n % 50 === 0
        ? `+  const password = "${g.mixed('abcdefghijklmnop0123456789', 18)}";`
        : `+  const label = "item-${n}";`,
      n % 97 === 0 ? `+  // token ${g.checksummed('ghp_')}` : `+  return json({ id, value });`,
      '   }',
    ];
    for (const l of hunk) {
      lines.push(l);
      size += l.length + 1;
    }
    n++;
  }
  return lines.join('\n').slice(0, bytes);
}

function plainScan(text: string): number {
  let sum = 0;
  for (let i = 0; i < text.length; i++) sum = (sum + text.charCodeAt(i)) | 0;
  return sum;
}

const inputs: Array<[string, string]> = [
  ['1 MB synthetic diff', syntheticDiff(MB)],
  ["1 MB of 'a'", 'a'.repeat(MB)],
  ["1 MB of '='", '='.repeat(MB)],
  ["'-----BEGIN' repeated", '-----BEGIN'.repeat(MB / 10)],
  ["'-----BEGIN RSA PRIVATE KEY-----' repeated", '-----BEGIN RSA PRIVATE KEY-----\n'.repeat(MB / 32)],
  ["'eyJ' repeated", 'eyJ'.repeat(MB / 3)],
  ["'password=' repeated", 'password='.repeat(MB / 9)],
  ["'a:' repeated", 'a:'.repeat(MB / 2)],
  ["'postgres://u:' repeated", 'postgres://u:'.repeat(MB / 13)],
  ["'kind: Secret\\ndata:\\n  a: b\\n' repeated", 'kind: Secret\ndata:\n  a: b\n'.repeat(MB / 28)],
];

export async function run(): Promise<void> {
  console.log(
    'input'.padEnd(44),
    'MB/s'.padStart(8),
    'plain MB/s'.padStart(11),
    'ratio'.padStart(8),
    'findings'.padStart(9),
  );
  let sink = 0;
  for (const [name, text] of inputs) {
    redact(text); // warm-up
    const rounds = await timeRounds(7, () => void redact(text));
    const plain = await timeRounds(7, () => void (sink += plainScan(text)));
    const mb = text.length / MB;
    const ms = median(rounds);
    const plainMs = Math.max(median(plain), 1e-3);
    console.log(
      name.padEnd(44),
      (mb / (ms / 1000)).toFixed(1).padStart(8),
      (mb / (plainMs / 1000)).toFixed(0).padStart(11),
      `${(ms / plainMs).toFixed(0)}x`.padStart(8),
      String(redact(text).findings.length).padStart(9),
    );
  }
  if (sink === 42) console.log('');
}
