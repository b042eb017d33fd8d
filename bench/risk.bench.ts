/**
 * Risk engine: throughput over the labelled cases, the confusion matrix of that corpus, analysis
 * time of realistic payloads (shell script, SQL, diff) at 1 KiB, 64 KiB and 1 MiB directly and
 * through the risk pool (worker threads), the event-loop delay while each runs, and /healthz
 * latency on a real server while four 1 MiB creates run (pool, and the engine in place as before).
 */
import { randomInt } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { deriveRisk, type RiskInput } from '../src/core/risk/index.js';
import { gist } from '../src/core/gist/index.js';
import { createRiskPool, type RiskAnalyser } from '../src/features/risk/risk-pool.js';
import { RISK_CASES } from '../test/fixtures/risk-cases.js';
import { as, createOrgWithAdmin, startTestServer } from '../test/helpers/app.js';
import { confusionMatrix, formatMatrix } from '../scripts/risk-doc.js';
import { median, percentile, timeRounds } from './stats.js';

/** Repeats `lines` (numbered through {n}) up to `bytes`, cut at a line end. */
function fill(bytes: number, lines: readonly string[]): string {
  let out = '';
  for (let n = 0; out.length < bytes; n++)
    out += lines.map((l) => l.replaceAll('{n}', String(n))).join('\n') + '\n';
  const cut = out.lastIndexOf('\n', bytes - 1);
  return out.slice(0, cut > 0 ? cut + 1 : bytes);
}

const SHELL = [
  'set -euo pipefail',
  'cd /srv/app && git fetch origin && git checkout --detach origin/feature-{n}',
  'npm ci --no-audit --no-fund && npm run build -- --mode staging',
  'for f in dist/*.js; do gzip -k -9 "$f"; done',
  'rsync -az --exclude node_modules dist/ deploy@web-{n}.staging:/srv/app/dist/',
  'docker compose -f compose.staging.yml up -d --no-deps web-{n}',
  'rm -f /tmp/build-{n}.log && echo "built $(git rev-parse --short HEAD)" | tee -a deploy.log',
];
const SQL = [
  'INSERT INTO orders (id, customer_id, total, created_at) VALUES ({n}, 77, 129.50, now());',
  'UPDATE customers SET last_order_at = now(), orders_count = orders_count + 1 WHERE id = {n};',
  'SELECT o.id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.id = {n} LIMIT 20;',
  "DELETE FROM carts WHERE customer_id = {n} AND updated_at < now() - interval '30 days';",
];
const DIFF = [
  'diff --git a/src/lib/format-{n}.ts b/src/lib/format-{n}.ts',
  '--- a/src/lib/format-{n}.ts',
  '+++ b/src/lib/format-{n}.ts',
  '@@ -1,6 +1,8 @@',
  " import { round } from './math.js';",
  '-export function price(x: number) {',
  "+export function price(x: number, currency = 'EUR') {",
  '+  // Two decimals, the currency after the amount.',
  '   return `${round(x, 2)}`;',
  ' }',
];

type Kind = 'shell' | 'sql' | 'diff';
function payloadInput(kind: Kind, bytes: number): RiskInput {
  if (kind === 'shell')
    return {
      action: { type: 'shell.exec', target: 'build-runner-3' },
      title: 'Build and roll out to staging',
      summary: 'The release script',
      payload: { kind: 'command', content: fill(bytes, SHELL) },
    };
  if (kind === 'sql')
    return {
      action: { type: 'db.query', target: 'orders-db' },
      title: 'Backfill order counters',
      summary: 'Batch of statements',
      payload: { kind: 'sql', content: fill(bytes, SQL) },
    };
  return {
    action: { type: 'git.push', target: 'feature/pricing' },
    title: 'Push the pricing refactor',
    summary: 'Formatting helpers',
    payload: { kind: 'diff', content: fill(bytes, DIFF) },
  };
}

const SIZES = [
  { label: '1 KiB', bytes: 1024, reps: 60 },
  { label: '64 KiB', bytes: 64 * 1024, reps: 12 },
  { label: '1 MiB', bytes: 1024 * 1024, reps: 4 },
] as const;
const KINDS: readonly Kind[] = ['shell', 'sql', 'diff'];

interface ModeResult {
  /** Per size label, every analysis's ms (the three kinds together). */
  readonly times: Map<string, number[]>;
  readonly loop: { p50: number; p99: number; max: number };
}

/** Analyses the mix one at a time (direct, or awaiting the pool), with the event loop monitored. */
async function analyseMix(assess: (input: RiskInput) => Promise<unknown> | unknown): Promise<ModeResult> {
  const times = new Map<string, number[]>();
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  for (const size of SIZES) {
    const inputs = KINDS.map((k) => payloadInput(k, size.bytes));
    const out: number[] = [];
    for (let r = 0; r < size.reps; r++) {
      for (const input of inputs) {
        const s = performance.now();
        await assess(input);
        out.push(performance.now() - s);
      }
      // Let timers run between rounds, as a server's other requests would.
      await new Promise((res) => setImmediate(res));
    }
    times.set(size.label, out);
  }
  h.disable();
  const ms = (ns: number) => ns / 1e6;
  return { times, loop: { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) } };
}

async function directVsPool(): Promise<void> {
  const warnings: unknown[] = [];
  // A generous budget: this measures the analysis, not the fail-closed path.
  const pool: RiskAnalyser = createRiskPool({
    workers: 2,
    timeoutMs: 120_000,
    maxQueue: 64,
    logger: { warn: (o: unknown) => void warnings.push(o) },
  });
  try {
    const warm = payloadInput('shell', 64 * 1024);
    for (let i = 0; i < 4; i++) {
      deriveRisk(warm);
      await pool.assess(warm, {});
    }
    const direct = await analyseMix((input) => deriveRisk(input));
    const pooled = await analyseMix((input) => pool.assess(input, {}));
    console.log('analysis time (ms), a mix of shell script, SQL and diff, one at a time:');
    for (const size of SIZES) {
      const d = direct.times.get(size.label)!;
      const p = pooled.times.get(size.label)!;
      console.log(
        `  ${size.label.padEnd(7)} direct p50 ${percentile(d, 0.5).toFixed(1).padStart(7)} p99 ${percentile(d, 0.99).toFixed(1).padStart(7)}   ` +
          `pool p50 ${percentile(p, 0.5).toFixed(1).padStart(7)} p99 ${percentile(p, 0.99).toFixed(1).padStart(7)}   [${d.length} each]`,
      );
    }
    const f = (x: number) => x.toFixed(1).padStart(7);
    console.log('event-loop delay while they ran (ms; monitorEventLoopDelay, 10 ms resolution):');
    console.log(`  direct p50 ${f(direct.loop.p50)} p99 ${f(direct.loop.p99)} max ${f(direct.loop.max)}`);
    console.log(`  pool   p50 ${f(pooled.loop.p50)} p99 ${f(pooled.loop.p99)} max ${f(pooled.loop.max)}`);
    console.log(
      `  direct / pool: p50 ${(direct.loop.p50 / pooled.loop.p50).toFixed(1)}x, p99 ${(direct.loop.p99 / pooled.loop.p99).toFixed(1)}x, max ${(direct.loop.max / pooled.loop.max).toFixed(1)}x` +
        (warnings.length > 0 ? `   (${warnings.length} analyses did not finish)` : ''),
    );
  } finally {
    await pool.close();
  }
}

/** /healthz latency: no load, then while 4 agents each create 1 MiB handoffs back to back. */
async function healthUnderLoad(): Promise<void> {
  // The server's own budget (default 2000 ms); ONY_RISK_TIMEOUT_MS=60000 separates the analysis from the fail-closed path.
  const t = await startTestServer({
    ONY_RATE_LIMIT_PER_MINUTE: '1000000',
    ONY_LOG_LEVEL: 'warn',
    ...(process.env.ONY_RISK_TIMEOUT_MS !== undefined && {
      ONY_RISK_TIMEOUT_MS: process.env.ONY_RISK_TIMEOUT_MS,
    }),
  });
  try {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const admin = await createOrgWithAdmin(t, `bench-${randomInt(1e6)}`);
    const res = await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' });
    const token = res.json<{ token: string }>().token;
    const body = JSON.stringify(payloadInput('shell', 1024 * 1024));
    const health = async (): Promise<number> => {
      const s = performance.now();
      const r = await fetch(`${base}/healthz`);
      await r.text();
      if (r.status !== 200) throw new Error(`healthz answered ${r.status}`);
      return performance.now() - s;
    };
    for (let i = 0; i < 20; i++) await health();
    const idle: number[] = [];
    for (let i = 0; i < 200; i++) idle.push(await health());

    const underLoad = async (label: string, perAgent: number) => {
      let running = 4;
      let incomplete = 0;
      const agents = [0, 1, 2, 3].map(async () => {
        for (let i = 0; i < perAgent; i++) {
          const r = await fetch(`${base}/v1/handoffs`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body,
          });
          const text = await r.text();
          if (r.status !== 201) throw new Error(`create answered ${r.status}: ${text}`);
          if (text.includes('analysis_incomplete')) incomplete++;
        }
        running--;
      });
      const lat: number[] = [];
      const t0 = performance.now();
      while (running > 0) lat.push(await health());
      await Promise.all(agents);
      const s = (performance.now() - t0) / 1000;
      console.log(
        `  ${label.padEnd(34)} p50 ${percentile(lat, 0.5).toFixed(1).padStart(7)} p99 ${percentile(lat, 0.99).toFixed(1).padStart(7)} max ${Math.max(
          ...lat,
        )
          .toFixed(1)
          .padStart(7)}   ` +
          `[${lat.length} probes over ${4 * perAgent} creates in ${s.toFixed(1)} s; ${incomplete} answered analysis_incomplete]`,
      );
    };
    console.log(
      `/healthz latency (ms), real server on loopback, ${t.database.kind}, risk budget ${t.container.config.risk.timeoutMs} ms:`,
    );
    console.log(
      `  ${'no load'.padEnd(34)} p50 ${percentile(idle, 0.5).toFixed(1).padStart(7)} p99 ${percentile(idle, 0.99).toFixed(1).padStart(7)} max ${Math.max(
        ...idle,
      )
        .toFixed(1)
        .padStart(7)}   [${idle.length} probes]`,
    );
    await underLoad('4 x 1 MiB creates, pool (2 threads)', 3);
    // As before this change: the engine in place, on the event loop (the service calls the container's analyser).
    const analyser = t.container.risk;
    const pooled = analyser.assess;
    analyser.assess = async (input, policy) => deriveRisk(input, policy);
    try {
      await underLoad('4 x 1 MiB creates, engine in place', 3);
    } finally {
      analyser.assess = pooled;
    }
  } finally {
    await t.close();
  }
}

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
  console.log(
    'confusion matrix of the labelled cases (rows: label, columns: deriveRisk under the default policy):',
  );
  console.log(formatMatrix(confusionMatrix(RISK_CASES)).join('\n'));

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

  await directVsPool();
  await healthUnderLoad();
}
