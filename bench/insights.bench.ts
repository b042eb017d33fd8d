/**
 * GET /v1/admin/insights at scale (issue #23): one org each with 10k, 100k and 1M handoffs over 30
 * days (BENCH_INSIGHTS_SIZES to change), seeded with generate_series in a few set-based statements:
 * outcomes, escalation attempts, approvals and first views in realistic shares. Then the fold (what
 * the hourly job does) puts the finished handoffs into the daily rollups, timed. Reports, per size
 * side by side: the fold's rate, and the API's p50 and p90 over several requests for the dashboard's
 * window (whole UTC days, read from the rollups; target: p50 at 1M ≤ 1 s) and for a window with
 * partial days at its edges (the last day is read from the handoffs themselves).
 * BENCH_INSIGHTS_EXPLAIN=1 also prints the statement's plan at the largest size.
 * Needs Postgres (DATABASE_URL) for the target's figure; on PGlite it runs 10k and 100k only.
 */
import { sql } from 'kysely';
import { withTenant } from '../src/db/client.js';
import {
  foldFinished,
  insightsStatement,
  plannedByIndex,
} from '../src/features/insights/insights.repository.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../test/helpers/app.js';
import { realDatabaseUrl } from '../test/helpers/db.js';
import { median, percentile, timeRounds } from './stats.js';

const SIZES = (
  process.env.BENCH_INSIGHTS_SIZES ?? (realDatabaseUrl ? '10000,100000,1000000' : '10000,100000')
)
  .split(',')
  .map(Number);
const ROUNDS = Number(process.env.BENCH_INSIGHTS_ROUNDS ?? 7);
const DAY_S = 86_400;
const CHUNK = 250_000;

async function seed(t: TestServer, admin: Actor, devices: string[], members: string[], n: number, end: Date) {
  const org = admin.orgId;
  for (let lo = 0; lo < n; lo += CHUNK) {
    const hi = Math.min(n, lo + CHUNK) - 1;
    await withTenant(t.database.db, org, async (tx) => {
      // i % 10: 0 allowed by policy, 1 denied, 2 expired, others approved by a person; i % 4: the level.
      await sql`
        insert into handoffs (org_id, id, short_code, device_id, status, action_type, action_target, title,
          summary, options, risk_level, risk_reasons, required_approvals, totp_required, request_sha256,
          payload_sha256, created_at, expires_at, decided_at, decision_option, decided_by, decision_channel)
        select ${org}::uuid, md5(${org}::text || i)::uuid, 'AAAAAA',
          (${devices}::uuid[])[1 + i % ${devices.length}],
          case i % 10 when 1 then 'denied' when 2 then 'expired' else 'approved' end,
          (array['shell.exec', 'deploy', 'db.query', 'file.delete', 'git.push', 'other'])[1 + i % 6],
          'target-' || (i % 50), 'bench', '', '[]'::jsonb,
          (array['low', 'medium', 'high', 'critical'])[1 + i % 4], '{}', 1, false, repeat('a', 64),
          case when i % 2 = 0 then '\\x00'::bytea end,
          c, c + interval '15 minutes',
          case i % 10 when 2 then c + interval '15 minutes' when 0 then c else c + (1 + i % 120) * interval '1 second' end,
          case i % 10 when 1 then 'deny' when 2 then null else 'approve' end,
          case when i % 10 in (0, 2) then null else (${members}::uuid[])[1 + i % ${members.length}] end,
          case i % 10 when 0 then 'policy' when 2 then null else (array['web', 'slack', 'sms'])[1 + i % 3] end
        from generate_series(${lo}::int, ${hi}::int) as i,
          lateral (select ${end}::timestamptz - (i::float8 / ${n}) * ${30 * DAY_S} * interval '1 second' - interval '1 hour' as c) x`.execute(
        tx.db,
      );
      await sql`
        insert into escalation_attempts (org_id, handoff_id, step, channel, at, outcome)
        select org_id, id, 0, 'slack', created_at + interval '1 second', 'sent'
        from handoffs where org_id = ${org} and decision_channel is distinct from 'policy'
          and id in (select md5(${org}::text || i)::uuid from generate_series(${lo}::int, ${hi}::int) i)`.execute(
        tx.db,
      );
      await sql`
        insert into handoff_approvals (org_id, handoff_id, member_id, option, channel, at)
        select org_id, id, decided_by, 'approve', decision_channel, decided_at
        from handoffs where org_id = ${org} and status = 'approved' and decided_by is not null
          and id in (select md5(${org}::text || i)::uuid from generate_series(${lo}::int, ${hi}::int) i)`.execute(
        tx.db,
      );
      // Half the people-decided handoffs were opened in the dashboard first; a third of those expanded.
      await sql`
        insert into handoff_views (org_id, handoff_id, member_id, first_viewed_at, payload_expanded_at)
        select org_id, id, decided_by, decided_at - (extract(epoch from decided_at)::int % 10) * interval '1 second',
          case when extract(epoch from decided_at)::int % 3 = 0 then decided_at - interval '1 second' end
        from handoffs where org_id = ${org} and decided_by is not null and extract(epoch from created_at)::int % 2 = 0
          and id in (select md5(${org}::text || i)::uuid from generate_series(${lo}::int, ${hi}::int) i)`.execute(
        tx.db,
      );
    });
  }
}

export async function run(): Promise<void> {
  if (!realDatabaseUrl)
    console.log('PGlite (no DATABASE_URL): sizes', SIZES.join(', '), '— not the target figure');
  const t = await startTestServer();
  const end = t.clock.now();
  const from = new Date(end.getTime() - 31 * DAY_S * 1000).toISOString();
  const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  // The dashboard asks for whole days: from a date to tomorrow's date.
  const days = `from=${date(end.getTime() - 31 * DAY_S * 1000)}&to=${date(end.getTime() + DAY_S * 1000)}`;
  const edges = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(end.toISOString())}`;
  const results: {
    n: number;
    seedS: number;
    foldS: number;
    p50: number;
    p90: number;
    edgeP50: number;
    noisy: number;
  }[] = [];
  try {
    for (const n of SIZES) {
      const admin = await createOrgWithAdmin(t, `insights-${n}`);
      const members = [admin.memberId];
      for (const k of [1, 2, 3, 4])
        members.push((await addMember(t, admin, `m${k}@insights-${n}.test`, 'member')).memberId);
      const devices: string[] = [];
      for (const k of [1, 2, 3, 4, 5])
        devices.push(
          (await as(t, admin, 'POST', '/v1/admin/devices', { name: `ci-${k}` })).json<{
            device: { id: string };
          }>().device.id,
        );
      const started = performance.now();
      await seed(t, admin, devices, members, n, end);
      await sql`analyze handoffs, escalation_attempts, handoff_approvals, handoff_views`.execute(
        t.database.db,
      );
      const seedS = (performance.now() - started) / 1000;
      const folding = performance.now();
      for (;;) if ((await withTenant(t.database.db, admin.orgId, (tx) => foldFinished(tx))) === 0) break;
      const foldS = (performance.now() - folding) / 1000;
      await sql`analyze insight_handoff_days, insight_vote_days, insight_second_days, insight_noisy_days`.execute(
        t.database.db,
      );
      let noisy = 0;
      const request = (query: string) => async () => {
        const res = await as(t, admin, 'GET', `/v1/admin/insights?${query}`);
        if (res.statusCode !== 200) throw new Error(`insights: ${res.statusCode} ${res.body}`);
        const body = res.json<{ totals: { handoffs: number }; noisy_actions: { items: unknown[] } }>();
        if (body.totals.handoffs !== n) throw new Error(`insights counted ${body.totals.handoffs}, not ${n}`);
        noisy = body.noisy_actions.items.length;
      };
      await request(days)(); // warm the cache and the plan
      const ms = await timeRounds(ROUNDS, request(days));
      await request(edges)();
      const edgeMs = await timeRounds(ROUNDS, request(edges));
      results.push({
        n,
        seedS,
        foldS,
        p50: median(ms),
        p90: percentile(ms, 0.9),
        edgeP50: median(edgeMs),
        noisy,
      });
      console.log(
        `${n} handoffs seeded in ${seedS.toFixed(1)} s, folded in ${foldS.toFixed(1)} s; insights p50 ${median(ms).toFixed(0)} ms (whole days), ${median(edgeMs).toFixed(0)} ms (partial edges)`,
      );
      if (process.env.BENCH_INSIGHTS_EXPLAIN === '1' && n === SIZES[SIZES.length - 1]) {
        const windows: [string, Date, Date][] = [
          [
            'whole days',
            new Date(`${date(end.getTime() - 31 * DAY_S * 1000)}T00:00:00Z`),
            new Date(`${date(end.getTime() + DAY_S * 1000)}T00:00:00Z`),
          ],
          ['partial edges', new Date(from), end],
        ];
        for (const [name, a, b] of windows) {
          const explained = await withTenant(t.database.db, admin.orgId, async (tx) => {
            await plannedByIndex(tx);
            const { rows } = await sql<{
              'QUERY PLAN': string;
            }>`explain (analyze, costs off) ${insightsStatement(admin.orgId, a, b)}`.execute(tx.db);
            return rows.map((r) => r['QUERY PLAN']);
          });
          console.log(`\n--- plan, ${name} ---\n${explained.join('\n')}`);
        }
      }
    }
  } finally {
    await t.close();
  }
  console.log(
    '\nhandoffs   seed (s)   fold (s)   fold (handoffs/s)   whole days p50 (ms)   p90 (ms)   partial edges p50 (ms)   noisy actions',
  );
  for (const r of results)
    console.log(
      [
        String(r.n).padStart(8),
        r.seedS.toFixed(1).padStart(8),
        r.foldS.toFixed(1).padStart(8),
        (r.n / r.foldS).toFixed(0).padStart(17),
        r.p50.toFixed(0).padStart(19),
        r.p90.toFixed(0).padStart(8),
        r.edgeP50.toFixed(0).padStart(22),
        String(r.noisy).padStart(13),
      ].join('   '),
    );
  const big = results.find((r) => r.n === 1_000_000);
  if (big)
    console.log(
      `target: p50 at 1M ≤ 1000 ms: ${big.p50 <= 1000 ? 'met' : 'NOT met'} (${big.p50.toFixed(0)} ms)`,
    );
}
