/**
 * The scale curve (issue #19 §5–6): ONE org grown to 1k, 10k and 100k handoffs, each with its
 * `handoff.created` audit entry (BENCH_CURVE_SIZES, e.g. `1000,10000,100000,1000000`), measured at
 * each size over the API (medians of BENCH_CURVE_ROUNDS rounds):
 *  - the pending queue as the dashboard asks for it (GET /v1/dashboard/handoffs?status=pending&limit=500);
 *  - history paging: the first page (GET /v1/handoffs) and a deep page (`before=` the org's middle handoff);
 *  - the dashboard list unfiltered (GET /v1/dashboard/handoffs?limit=500, the History page);
 *  - audit verify (GET /v1/admin/audit/verify) beside raw SHA-256 of the same entries (chainHash over
 *    the same bytes, no database) and the in-memory verifier over them, so the page reads show apart;
 *  - export: the audit CSV and the org export (job + zip download), over loopback HTTP, discarded.
 * Paged reads must stay flat: each statement's plan (EXPLAIN ANALYZE) is printed as node types, and
 * the bench sets a non-zero exit code when one reads by Seq Scan or sorts (a plain Sort, i.e. top-N
 * over the org). Verify and export must stay linear: ms per 1k entries at each size.
 * Seeding is batched SQL: handoffs by unnest, audit entries through the outbox (sealed by the
 * chain's own trigger at COMMIT). Postgres (DATABASE_URL) for the figures, in a database named
 * ony_curve_* dropped at the end; PGlite otherwise (1k and 10k only).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompiledQuery, sql } from 'kysely';
import { chainHash } from '../src/core/audit-chain/entry.js';
import { auditEvents } from '../src/core/audit-chain/events.js';
import { entryTemplate } from '../src/core/audit-chain/entry.js';
import { verifyEntries, type StoredEntry } from '../src/core/audit-chain/verify.js';
import { withTenant, type TenantTx } from '../src/db/client.js';
import {
  entriesBetween,
  entriesBetweenQuery,
  listAuditQuery,
  pagedByKey,
} from '../src/features/audit/audit.repository.js';
import { listCursor, listHandoffsQuery } from '../src/features/handoffs/handoffs.repository.js';
import { as, createOrgWithAdmin, startTestServer, type Actor, type TestServer } from '../test/helpers/app.js';
import { freshPostgres, realDatabaseUrl } from '../test/helpers/db.js';
import { median, timeRounds } from './stats.js';

const SIZES = (process.env.BENCH_CURVE_SIZES ?? (realDatabaseUrl ? '1000,10000,100000' : '1000,10000'))
  .split(',')
  .map(Number);
const ROUNDS = Number(process.env.BENCH_CURVE_ROUNDS ?? 5);
/** The org export is a job plus a download: fewer rounds. */
const EXPORT_ROUNDS = Number(process.env.BENCH_CURVE_EXPORT_ROUNDS ?? 3);
const BATCH = 5000;
const PENDING_EVERY = 100; // 1% of the org's handoffs are pending
const SHORT_CODE = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
/** Below this, a planner reading a small table whole is right: plans are printed, not enforced. */
const FLAT_FROM = 10_000;

/** A short code unique per index (base 31, six digits): pending ones must not collide. */
function codeOf(i: number): string {
  let s = '';
  for (let k = 0; k < 6; k++, i = Math.floor(i / SHORT_CODE.length)) s += SHORT_CODE[i % SHORT_CODE.length];
  return s;
}

/** Grows the org's handoffs (and their audit entries) from `from` to `to`; handoff i is created at base + i s. */
async function seed(t: TestServer, admin: Actor, deviceId: string, from: number, to: number, base: Date) {
  const far = new Date(t.clock.now().getTime() + 400 * 86_400_000); // pending ones stay pending
  for (let lo = from; lo < to; lo += BATCH) {
    const n = Math.min(BATCH, to - lo);
    const idx = Array.from({ length: n }, (_, k) => lo + k);
    const ids = idx.map(() => randomUUID());
    const codes = idx.map(codeOf);
    await withTenant(t.database.db, admin.orgId, async (tx) => {
      await sql`
        insert into handoffs (org_id, id, short_code, device_id, status, action_type, action_target, title,
          summary, options, risk_level, risk_reasons, required_approvals, totp_required, request_sha256,
          created_at, expires_at, decided_at, decision_option, decided_by, decision_channel)
        select ${admin.orgId}::uuid, id, sc, ${deviceId}::uuid,
          case when i % ${PENDING_EVERY} = 0 then 'pending' when i % 3 = 0 then 'denied' else 'approved' end,
          'db.query', 'prod-db', 'Run the nightly clean-up on prod-db (' || i || ')',
          'Deletes rows older than 90 days from events.',
          '[{"id":"approve","label":"Approve"},{"id":"deny","label":"Deny"}]'::jsonb, 'high',
          array['destructive_delete'], 1, false, repeat('a', 64),
          c, case when i % ${PENDING_EVERY} = 0 then ${far}::timestamptz else c + interval '15 minutes' end,
          case when i % ${PENDING_EVERY} = 0 then null else c + interval '1 minute' end,
          case when i % ${PENDING_EVERY} = 0 then null when i % 3 = 0 then 'deny' else 'approve' end,
          case when i % ${PENDING_EVERY} = 0 then null else ${admin.memberId}::uuid end,
          case when i % ${PENDING_EVERY} = 0 then null else 'web' end
        from unnest(${ids}::uuid[], ${codes}::text[], ${idx}::int[]) as u(id, sc, i),
          lateral (select ${base}::timestamptz + i * interval '1 second' as c) x`.execute(tx.db);
      // Each handoff's audit entry, through the outbox as appendAudit writes it (one statement for
      // the batch): the chain's trigger seals them in order at COMMIT.
      const tpl = idx.map((i, k) =>
        entryTemplate(
          admin.orgId,
          auditEvents.handoffCreated(
            { type: 'device', id: deviceId },
            {
              id: ids[k]!,
              shortCode: codes[k]!,
              actionType: 'db.query',
              riskLevel: 'high',
              riskReasons: ['destructive_delete'],
              requiredApprovals: 1,
            },
            null,
          ),
          new Date(base.getTime() + i * 1000),
          randomBytes(8).toString('hex'),
        ),
      );
      await sql`
        insert into audit_outbox (org_id, before_prev, between, after_seq)
        select ${admin.orgId}::uuid, b, m, a
        from unnest(${tpl.map((x) => x.before)}::text[], ${tpl.map((x) => x.middle)}::text[],
          ${tpl.map((x) => x.after)}::text[]) with ordinality as u(b, m, a, o)
        order by o`.execute(tx.db);
    });
  }
  // As autovacuum would after a bulk load.
  await sql`analyze handoffs, audit_events`.execute(t.database.db);
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

/** The plan's nodes, depth first, as "Type(index)" or "Type(table)". */
function nodesOf(n: PlanNode, out: PlanNode[] = []): PlanNode[] {
  out.push(n);
  for (const c of n.Plans ?? []) nodesOf(c, out);
  return out;
}

const label = (n: PlanNode) =>
  n['Index Name'] !== undefined
    ? `${n['Node Type']}(${n['Index Name']})`
    : n['Relation Name'] !== undefined
      ? `${n['Node Type']}(${n['Relation Name']})`
      : n['Node Type'];

/** EXPLAIN ANALYZE of a compiled statement in the org's tenant transaction. */
async function explain(t: TestServer, orgId: string, build: (tx: TenantTx) => Promise<CompiledQuery>) {
  return withTenant(t.database.db, orgId, async (tx) => {
    const c = await build(tx);
    const r = await tx.db.executeQuery<{ 'QUERY PLAN': unknown }>(
      CompiledQuery.raw(`explain (analyze, format json) ${c.sql}`, [...c.parameters]),
    );
    const raw = r.rows[0]!['QUERY PLAN'];
    const json = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
    return nodesOf(json[0]!.Plan);
  });
}

/** A paged read's plan is flat when nothing reads the table by Seq Scan and nothing sorts it whole. */
const badNodes = (nodes: PlanNode[]) =>
  nodes.filter((n) => n['Node Type'] === 'Seq Scan' || n['Node Type'] === 'Sort');

/** Downloads over loopback HTTP, discarding the body; answers its size in bytes. */
function download(port: number, path: string, cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { cookie } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(bytes) : reject(new Error(`${path}: ${res.statusCode}`)),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function orgExport(t: TestServer, admin: Actor, port: number): Promise<number> {
  // At most 5 org exports a day: each round is a day later (sessions are set to outlive that).
  t.clock.advance(86_400_000 + 60_000);
  const x = (await as(t, admin, 'POST', '/v1/admin/exports')).json<{ id: string }>();
  for (;;) {
    const s = (await as(t, admin, 'GET', `/v1/admin/exports/${x.id}`)).json<{ status: string }>();
    if (s.status === 'ready') break;
    if (s.status !== 'queued') throw new Error(`export ${s.status}`);
    // A bench, not a test: polling the job's status is what a client does.
    await new Promise((r) => setTimeout(r, 50));
  }
  const { url } = (await as(t, admin, 'POST', `/v1/admin/exports/${x.id}/link`)).json<{ url: string }>();
  return download(port, url.replace('https://ony.test', ''), admin.cookie);
}

interface Row {
  n: number;
  seedS: number;
  queue: number;
  queueDeep: number;
  first: number;
  deep: number;
  dashboard: number;
  verify: number;
  entries: number;
  raw: number;
  read: number;
  inMemory: number;
  csv: number;
  csvMiB: number;
  exportMs: number;
  exportMiB: number;
}

export async function run(): Promise<void> {
  if (!realDatabaseUrl) console.log('PGlite (no DATABASE_URL): sizes', SIZES.join(', '), '— not the figures');
  const database = realDatabaseUrl ? await freshPostgres(realDatabaseUrl, 'ony_curve') : undefined;
  const t = await startTestServer(
    { ONY_SESSION_IDLE_SECONDS: String(30 * 86400), ONY_SESSION_ABSOLUTE_SECONDS: String(90 * 86400) },
    database ? { database } : {},
  );
  const rows: Row[] = [];
  const badPlans: string[] = [];
  try {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as AddressInfo).port;
    const admin = await createOrgWithAdmin(t, 'curve');
    const deviceId = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'ci' })).json<{
      device: { id: string };
    }>().device.id;
    const base = new Date(t.clock.now().getTime() - 2 * 365 * 86_400_000);
    let seeded = 0;
    for (const n of SIZES) {
      const s0 = performance.now();
      await seed(t, admin, deviceId, seeded, n, base);
      seeded = n;
      const seedS = (performance.now() - s0) / 1000;
      // The middle handoff (by creation) and a pending one near the middle: the deep pages' cursors.
      const [mid, midPending] = await withTenant(t.database.db, admin.orgId, async (tx) => {
        const at = new Date(base.getTime() + Math.floor(n / 2) * 1000);
        const m = await tx.db
          .selectFrom('handoffs')
          .select('id')
          .where('org_id', '=', admin.orgId)
          .where('created_at', '=', at)
          .executeTakeFirstOrThrow();
        const p = await tx.db
          .selectFrom('handoffs')
          .select('id')
          .where('org_id', '=', admin.orgId)
          .where('status', '=', 'pending')
          .where('created_at', '<=', at)
          .orderBy('created_at', 'desc')
          .limit(1)
          .executeTakeFirstOrThrow();
        return [m.id, p.id] as const;
      });

      const get = (path: string, expect?: number) => async () => {
        const res = await as(t, admin, 'GET', path);
        if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${res.body}`);
        if (expect !== undefined && res.json<unknown[]>().length !== expect)
          throw new Error(`${path}: ${res.json<unknown[]>().length} rows, not ${expect}`);
      };
      const timed = async (fn: () => Promise<void>, rounds = ROUNDS) => {
        await fn(); // warm the plan and the cache
        return median(await timeRounds(rounds, fn));
      };
      const pendingTotal = Math.ceil(n / PENDING_EVERY);
      const queue = await timed(
        get('/v1/dashboard/handoffs?status=pending&limit=500', Math.min(500, pendingTotal)),
      );
      const queueDeep = await timed(
        get(`/v1/dashboard/handoffs?status=pending&limit=100&before=${midPending}`),
      );
      const first = await timed(get('/v1/handoffs?limit=100', 100));
      const deep = await timed(get(`/v1/handoffs?limit=100&before=${mid}`, 100));
      const dashboard = await timed(get('/v1/dashboard/handoffs?limit=500', 500));

      // Audit verify over the API, then the same entries read once (untimed) and hashed raw.
      let entries = 0;
      const verify = await timed(async () => {
        const res = await as(t, admin, 'GET', '/v1/admin/audit/verify');
        const body = res.json<{ ok: boolean; entries: number }>();
        if (res.statusCode !== 200 || !body.ok) throw new Error(`verify: ${res.statusCode} ${res.body}`);
        entries = body.entries;
      });
      // The reads alone, as verify pages them (5,000 entries a transaction, one after the other).
      let all: StoredEntry[] = [];
      const read = await timed(async () => {
        const got: StoredEntry[] = [];
        for (let after = 0; ; after += 5000) {
          const page = await withTenant(t.database.db, admin.orgId, (tx) =>
            entriesBetween(tx, after, after + 5000),
          );
          if (page.length === 0) break;
          for (const e of page) got.push(e);
        }
        all = got;
      });
      const raw = await timed(() => {
        for (const e of all) chainHash(e.prevHash, e.canonical);
        return Promise.resolve();
      });
      const inMemory = await timed(() => {
        if (!verifyEntries(admin.orgId, all).ok) throw new Error('in-memory verify failed');
        return Promise.resolve();
      });
      const rawEntries = all.length;
      all.length = 0;

      let csvBytes = 0;
      const csv = await timed(async () => {
        csvBytes = await download(port, '/v1/admin/audit/csv', admin.cookie);
      });
      let exportBytes = 0;
      const exportMs = await timed(async () => {
        exportBytes = await orgExport(t, admin, port);
      }, EXPORT_ROUNDS);

      // The paged reads' plans at this size.
      const plans: [string, (tx: TenantTx) => Promise<CompiledQuery>][] = [
        [
          'queue (pending, first 500)',
          (tx) => Promise.resolve(listHandoffsQuery(tx, { status: 'pending', limit: 500 }).compile()),
        ],
        [
          'queue deep page (pending, before=)',
          async (tx) =>
            listHandoffsQuery(
              tx,
              { status: 'pending', limit: 100 },
              await listCursor(tx, midPending),
            ).compile(),
        ],
        [
          'history first page (100)',
          (tx) => Promise.resolve(listHandoffsQuery(tx, { limit: 100 }).compile()),
        ],
        [
          'history deep page (before=)',
          async (tx) => listHandoffsQuery(tx, { limit: 100 }, await listCursor(tx, mid)).compile(),
        ],
        [
          'dashboard unfiltered (500)',
          (tx) => Promise.resolve(listHandoffsQuery(tx, { limit: 500 }).compile()),
        ],
        [
          'audit verify page (after= middle)',
          async (tx) => {
            await pagedByKey(tx); // as entriesBetween does in its transaction
            return entriesBetweenQuery(tx, Math.floor(n / 2), Math.floor(n / 2) + 5000).compile();
          },
        ],
        [
          'audit CSV page (before= middle)',
          (tx) => Promise.resolve(listAuditQuery(tx, { beforeSeq: Math.floor(n / 2) }, 500).compile()),
        ],
      ];
      console.log(`\n--- ${n.toLocaleString('en')} handoffs: plans (EXPLAIN ANALYZE node types) ---`);
      for (const [name, build] of plans) {
        const nodes = await explain(t, admin.orgId, build);
        const bad = badNodes(nodes);
        if (bad.length > 0 && n >= FLAT_FROM) badPlans.push(`${n} ${name}: ${bad.map(label).join(', ')}`);
        const scanned = nodes
          .filter((x) => x['Node Type'].includes('Scan'))
          .map((x) => `${x['Actual Rows'] ?? '?'} rows`)
          .join(', ');
        console.log(
          `${name.padEnd(36)} ${nodes.map(label).join(' > ')}  [scan: ${scanned}]${bad.length > 0 ? '  <-- NOT FLAT' : ''}`,
        );
      }
      const row: Row = {
        n,
        seedS,
        queue,
        queueDeep,
        first,
        deep,
        dashboard,
        verify,
        entries,
        raw,
        read,
        inMemory,
        csv,
        csvMiB: csvBytes / 1048576,
        exportMs,
        exportMiB: exportBytes / 1048576,
      };
      rows.push(row);
      console.log(
        `${n} handoffs seeded in ${seedS.toFixed(1)} s; verify ${verify.toFixed(0)} ms over ${entries} entries (raw hashing of ${rawEntries}: ${raw.toFixed(0)} ms)`,
      );
    }
  } finally {
    await t.close();
    await database?.close(); // drops the ony_curve_* database (idempotent)
  }
  const f = (x: number, w: number, d = 1) => x.toFixed(d).padStart(w);
  console.log(
    `\nmedians of ${ROUNDS} rounds (org export: ${EXPORT_ROUNDS}), ms, ${realDatabaseUrl ? 'Postgres' : 'PGlite'}`,
  );
  console.log('handoffs   queue(500)   queue deep   history 1st   history deep   dashboard(500)');
  for (const r of rows)
    console.log(
      [
        f(r.n, 8, 0),
        f(r.queue, 10),
        f(r.queueDeep, 10),
        f(r.first, 11),
        f(r.deep, 12),
        f(r.dashboard, 14),
      ].join('   '),
    );
  console.log(
    '\nentries   verify (ms)  per 1k   raw SHA-256 (ms)  per 1k   verify/raw   in-memory verify/raw   page reads alone (ms)   audit CSV (ms)  per 1k    MiB   org export (ms)  per 1k    MiB',
  );
  for (const r of rows) {
    const k = r.entries / 1000;
    console.log(
      [
        f(r.entries, 7, 0),
        f(r.verify, 11),
        f(r.verify / k, 7, 2),
        f(r.raw, 16),
        f(r.raw / k, 7, 2),
        f(r.verify / r.raw, 10, 2),
        f(r.inMemory / r.raw, 20, 2),
        f(r.read, 21),
        f(r.csv, 14),
        f(r.csv / k, 7, 2),
        f(r.csvMiB, 6),
        f(r.exportMs, 15),
        f(r.exportMs / k, 7, 2),
        f(r.exportMiB, 6),
      ].join('  '),
    );
  }
  const big = rows[rows.length - 1];
  if (big)
    console.log(
      `target: verify ≤ 2.5× raw hashing at ${big.n}: ${big.verify / big.raw <= 2.5 ? 'met' : 'NOT met'} (${(big.verify / big.raw).toFixed(2)}×)`,
    );
  if (badPlans.length > 0) {
    console.log(`\nNOT FLAT: a paged read scans or sorts the org:\n  ${badPlans.join('\n  ')}`);
    process.exitCode = 1;
  } else console.log('\nevery paged read is served by an index, no Seq Scan, no Sort');
}
