/**
 * The payload retention sweep at scale (issue #10): N decided handoffs with payloads (default
 * 1,000,000; BENCH_RETENTION_N to change), seeded with set-based SQL, then one sweep of the org while
 * agents keep creating handoffs through the API. Reports the sweep's time and rate, and each
 * concurrent create's latency before and during the sweep; the figure that matters is the longest
 * create during the sweep (target: no create waits more than 100 ms on the sweep's locks).
 * Needs Postgres (DATABASE_URL); on PGlite it runs 20,000 and says the figure is not the target's.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { connectPostgres } from '../src/db/client.js';
import { createRetentionService } from '../src/features/retention/retention.service.js';
import { createLogger } from '../src/lib/logger.js';
import { as, createOrgWithAdmin, startTestServer } from '../test/helpers/app.js';
import { realDatabaseUrl } from '../test/helpers/db.js';
import { median } from './stats.js';

const N = Number(process.env.BENCH_RETENTION_N ?? (realDatabaseUrl ? 1_000_000 : 20_000));
const SEED_CHUNK = 100_000;
const CREATORS = 4;
const BATCH = Number(process.env.BENCH_RETENTION_BATCH ?? 500);

const SWEEP_APP = 'ony-retention-sweep';

/**
 * Samples pg_stat_activity every few ms on its own connection and tracks every server backend seen
 * waiting on a heavyweight lock (row, tuple, transaction id): the longest continuous wait per
 * statement kind, and separately the waits whose blocker (pg_blocking_pids) was the sweep's own
 * connection. A lower bound with the sampling interval's resolution, but it sees lock waits apart
 * from the CPU contention that dominates latency on a small shared machine.
 */
function lockWaitSampler(url: string) {
  const client = new pg.Client({ connectionString: url, application_name: 'ony-bench-sampler' });
  const open = new Map<number, { since: number; last: number; query: string; bySweep: boolean }>();
  const longest = new Map<string, number>();
  let longestBySweep = 0;
  let stop = false;
  let samples = 0;
  const close = (pid: number) => {
    const w = open.get(pid)!;
    longest.set(w.query, Math.max(longest.get(w.query) ?? 0, w.last - w.since));
    if (w.bySweep) longestBySweep = Math.max(longestBySweep, w.last - w.since);
    open.delete(pid);
  };
  const loop = (async () => {
    await client.connect();
    while (!stop) {
      const now = performance.now();
      const { rows } = await client.query<{ pid: number; query: string; by_sweep: boolean }>(
        `select a.pid, left(regexp_replace(a.query, '[[:space:]]+', ' ', 'g'), 60) as query,
           exists (select 1 from pg_stat_activity b where b.pid = any (pg_blocking_pids(a.pid))
                   and b.application_name = '${SWEEP_APP}') as by_sweep
         from pg_stat_activity a where a.wait_event_type = 'Lock' and a.application_name = 'ony'`,
      );
      samples++;
      const seen = new Set<number>();
      for (const r of rows) {
        seen.add(r.pid);
        const w = open.get(r.pid);
        if (w && w.query === r.query) {
          w.last = now;
          w.bySweep ||= r.by_sweep;
        } else {
          if (w) close(r.pid);
          open.set(r.pid, { since: now, last: now, query: r.query, bySweep: r.by_sweep });
        }
      }
      for (const pid of [...open.keys()]) if (!seen.has(pid)) close(pid);
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const pid of [...open.keys()]) close(pid);
    await client.end();
  })();
  return {
    async stop() {
      stop = true;
      await loop;
      return { samples, longest, longestBySweep };
    },
  };
}

function printWaits(label: string, w: { samples: number; longest: Map<string, number> }) {
  console.log(`lock waits ${label} (${w.samples} samples of pg_stat_activity, about every 5 ms):`);
  if (w.longest.size === 0) console.log('  none: no statement of the server waited on a lock');
  for (const [q, ms] of [...w.longest].sort((a, b) => b[1] - a[1]).slice(0, 5))
    console.log(`  ${ms.toFixed(1)} ms  ${q}`);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
const fmt = (xs: number[]) =>
  `n=${xs.length} median ${median(xs).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;

export async function run(): Promise<void> {
  if (!realDatabaseUrl)
    console.log('(PGlite: set DATABASE_URL for the Postgres figures the target is about)');
  const t = await startTestServer();
  try {
    const admin = await createOrgWithAdmin(t, 'retention-bench');
    const deviceToken = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{
      token: string;
      device: { id: string };
    }>();
    const deviceId = deviceToken.device.id;
    const db = t.database.db;
    const orgId = admin.orgId;

    // Seed: N decided handoffs 60 days old (past the default 30-day window), each with a payload row.
    let t0 = performance.now();
    for (let from = 0; from < N; from += SEED_CHUNK) {
      const to = Math.min(N, from + SEED_CHUNK);
      await sql`
        with h as (
          insert into handoffs (org_id, id, short_code, device_id, status, action_type, title, summary, options,
            risk_level, risk_reasons, required_approvals, totp_required, request_sha256, payload_sha256,
            created_at, expires_at, decided_at, decision_option, decision_channel)
          select ${orgId}::uuid, gen_random_uuid(), 'AAAAAA', ${deviceId}::uuid, 'denied', 'deploy', 'seeded',
            'seeded', '[]'::jsonb, 'low', '{}', 1, false, 'x', sha256(convert_to(i::text, 'UTF8')),
            now() - interval '60 days' + i * interval '1 ms', now() - interval '59 days',
            now() - interval '59 days', 'deny', 'web'
          from generate_series(${from + 1}::int, ${to}::int) i
          returning id
        )
        insert into handoff_payloads (org_id, handoff_id, kind, salt, content_enc)
        select ${orgId}::uuid, id, 'command', decode(md5(id::text), 'hex'),
          decode(repeat(md5(id::text || 'p'), 8), 'hex')
        from h`.execute(db);
    }
    await sql`analyze handoffs`.execute(db);
    await sql`analyze handoff_payloads`.execute(db);
    console.log(
      `seeded ${N.toLocaleString()} handoffs with payloads in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    const create = async (): Promise<number> => {
      const start = performance.now();
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/handoffs',
        headers: { authorization: `Bearer ${deviceToken.token}` },
        payload: {
          action: { type: 'deploy', target: 'staging' },
          title: 'deploy',
          summary: 'routine',
          payload: { kind: 'command', content: 'npm run deploy' },
        },
      });
      if (res.statusCode !== 201) throw new Error(`create failed ${res.statusCode}: ${res.body}`);
      return performance.now() - start;
    };
    const loop = async (until: () => boolean, out: number[]) => {
      while (!until()) out.push(await create());
    };

    // Baseline: the same create loops with no sweep running.
    const baseline: number[] = [];
    const baseEnd = performance.now() + 10_000;
    const baseSampler = t.database.url !== undefined ? lockWaitSampler(t.database.url) : undefined;
    await Promise.all(
      Array.from({ length: CREATORS }, () => loop(() => performance.now() > baseEnd, baseline)),
    );
    console.log(`create, no sweep (${CREATORS} concurrent loops): ${fmt(baseline)}`);
    const baseWaits = await baseSampler?.stop();
    if (baseWaits) printWaits('with no sweep', baseWaits);

    const during: number[] = [];
    let done = false;
    const creators = Array.from({ length: CREATORS }, () => loop(() => done, during));
    // The sweep on a connection of its own, named, so that a wait it causes can be told apart.
    const sweepDb =
      t.database.url !== undefined
        ? connectPostgres(`${t.database.url}?application_name=${SWEEP_APP}`, 1)
        : undefined;
    const sweeper = createRetentionService({
      db: sweepDb?.db ?? db,
      clock: t.clock,
      logger: createLogger('silent'),
      jobs: { send: () => Promise.resolve(null) },
      batchSize: BATCH,
    });
    const sampler = t.database.url !== undefined ? lockWaitSampler(t.database.url) : undefined;
    t0 = performance.now();
    const [result] = await sweeper.run({ orgId });
    const sweepMs = performance.now() - t0;
    done = true;
    await Promise.all(creators);
    const left = await sql<{ n: number }>`
      select count(*)::int as n from handoff_payloads where org_id = ${orgId}`.execute(db);
    console.log(
      `sweep: ${result!.removed.toLocaleString()} payloads in ${result!.batches} batches of ${BATCH}, ${(sweepMs / 1000).toFixed(1)} s (${Math.round(result!.removed / (sweepMs / 1000)).toLocaleString()}/s); ${left.rows[0]!.n} payload rows left (the new, undecided ones)`,
    );
    console.log(`create, during the sweep (${CREATORS} concurrent loops): ${fmt(during)}`);
    await sweepDb?.close();
    const waits = await sampler?.stop();
    if (waits) {
      printWaits('during the sweep', waits);
      const worst = Math.max(0, ...waits.longest.values());
      console.log(`longest lock wait of any server statement during the sweep: ${worst.toFixed(1)} ms`);
      console.log(
        `longest lock wait on the sweep itself: ${waits.longestBySweep.toFixed(1)} ms (target: no create waits > 100 ms) -> ${waits.longestBySweep <= 100 ? 'met' : 'NOT met'}`,
      );
    } else {
      console.log(
        'lock waits: not measurable on PGlite (one connection; statements queue, they do not wait on locks)',
      );
    }
    const report = await t.container.audit.verify(orgId);
    console.log(
      `audit chain after the sweep: ${report.ok ? 'verifies' : `BROKEN at seq ${String(report.badSeq)}`}`,
    );
  } finally {
    await t.close();
  }
}
