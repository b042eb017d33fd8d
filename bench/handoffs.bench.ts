/**
 * The handoff API under load, over real HTTP (the server listens on loopback; the agents, the
 * deciding member and the server share this one process and its event loop), measured side by side
 * in one run:
 *  1. creates that stay pending (a production deploy: rated high, asked under the default policy)
 *     by 10 concurrent agents, against the floor: pgbench running exactly the SQL the server sent for
 *     such a create (captured from the pg client while the server served one, not written by hand),
 *     at the same concurrency, in the same org; then both at half that load (an open loop at half
 *     the measured rate) for latency without queueing;
 *  2. the same for a create the policy allows at once (a low-risk shell command: decided in the
 *     create's own transaction, no job);
 *  3. decision-to-wake latency with 1,000 long-polls (`GET /v1/handoffs/:id?wait=60`) parked on
 *     pending handoffs at once: each is decided through the API in turn and each waiter's answer
 *     timed against the end of its decision's response. A waiter that answers before its decision
 *     was sent, before its own 60 s and without a decision, is an early answer: the run fails;
 *  4. the process's RSS before the waiters and while they are parked.
 * The database is the one the test helpers pick: PGlite (no floor: pgbench needs Postgres), or
 * Postgres when DATABASE_URL is set; the server's pool there has 10 connections, as `ony serve`'s.
 * Bigger runs: ONY_BENCH_CREATES (creates per round, 300), ONY_BENCH_ROUNDS (3), ONY_BENCH_WAITERS (1000).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { execSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'kysely';
import pg from 'pg';
import { connectPostgres, type Database } from '../src/db/client.js';
import { as, createOrgWithAdmin, startTestServer, type Actor, type TestServer } from '../test/helpers/app.js';
import { freshDatabase, type TestDatabase } from '../test/helpers/db.js';
import { median, percentile as pct } from './stats.js';

const AGENTS = 10;
const envInt = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
};
const PER_ROUND = envInt('ONY_BENCH_CREATES', 300);
const ROUNDS = envInt('ONY_BENCH_ROUNDS', 3);
const WAITERS_WANTED = envInt('ONY_BENCH_WAITERS', 1000);
/** The service's short-code alphabet (no 0/O, 1/I/L). */
const SHORT_CODE = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** A production deploy: rated high (production_target, deploy), so pending under the default policy. */
const PENDING = JSON.stringify({
  action: { type: 'deploy', target: 'production' },
  title: 'Deploy api v2.14.0 to production',
  summary: 'Rolls out the new release; takes about a minute.',
  payload: { kind: 'command', content: 'kubectl rollout restart deployment/api -n production' },
});
/** Running the unit tests: rated low, allowed at once by the default policy. */
const ALLOWED = JSON.stringify({
  action: { type: 'shell.exec', target: 'build-runner-3' },
  title: 'Run the unit tests',
  summary: 'Runs the test suite; takes about a minute.',
  payload: { kind: 'command', content: 'npm test -- --reporter dot' },
});

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** RSS and V8 heap (used, with external buffers) in MiB, after full collections and a pause. */
async function memory(): Promise<{ rss: number; heap: number }> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 300));
  }
  const m = process.memoryUsage();
  return { rss: m.rss / 1048576, heap: (m.heapUsed + m.external) / 1048576 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

interface Bench {
  readonly t: TestServer;
  readonly base: string;
  readonly admin: Actor;
  /** One device token per agent. */
  readonly tokens: readonly string[];
}

interface Created {
  readonly id: string;
  readonly token: string;
  readonly status: string;
  readonly risk: string;
  readonly shortCode: string;
}

interface HandoffJson {
  readonly id: string;
  readonly status: string;
  readonly risk: { readonly level: string };
  readonly short_code: string;
}

async function createOne(b: Bench, token: string, body: string): Promise<Created> {
  const res = await fetch(`${b.base}/v1/handoffs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${text}`);
  const h = JSON.parse(text) as HandoffJson;
  return { id: h.id, token, status: h.status, risk: h.risk.level, shortCode: h.short_code };
}

/** `count` creates by the agents, each waiting for its answer before sending the next (closed loop). */
async function httpRound(
  b: Bench,
  body: string,
  count: number,
): Promise<{ rate: number; latencies: number[]; made: Created[] }> {
  const latencies: number[] = [];
  const made: Created[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    b.tokens.map(async (token) => {
      while (next < count) {
        next++;
        const s = performance.now();
        made.push(await createOne(b, token, body));
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { rate: count / ((performance.now() - t0) / 1000), latencies, made };
}

/** `count` creates sent at `rate` per second whatever the answers (open loop): latency without a queue. */
async function httpPaced(b: Bench, body: string, count: number, rate: number): Promise<number[]> {
  const latencies: number[] = [];
  const t0 = performance.now();
  const sent: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const s = performance.now();
    sent.push(
      createOne(b, b.tokens[i % b.tokens.length]!, body).then(
        () => void latencies.push(performance.now() - s),
      ),
    );
  }
  await Promise.all(sent);
  return latencies;
}

// ---- The SQL the server sends, captured from the pg client --------------------------------------

interface Captured {
  readonly text: string;
  readonly values: readonly unknown[];
}
const capturing = new AsyncLocalStorage<Captured[]>();
let pgHooked = false;

/** Records every query a pg client sends within a `capturing` context (the server's own pool). */
function hookPg(): void {
  if (pgHooked) return;
  pgHooked = true;
  // pg's query() has many overloads; the wrapper passes every argument through unchanged.
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const list = capturing.getStore();
    if (list !== undefined && typeof args[0] === 'string')
      list.push({ text: args[0], values: Array.isArray(args[1]) ? (args[1] as unknown[]) : [] });
    return original.apply(this, args);
  };
}

/**
 * Runs each connection the server accepts while `armed` is set in a capturing context: the HTTP
 * parser's async resource is made with the connection, so everything the request does (auth,
 * body, handler, its queries) runs in it. Answers a function that arms the next connection.
 */
function captureConnections(server: http.Server): (list: Captured[]) => void {
  let armed: Captured[] | undefined;
  const listeners = server.listeners('connection') as ((s: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const list = armed;
    armed = undefined;
    const go = () => {
      for (const l of listeners) l.call(server, socket);
    };
    if (list !== undefined) capturing.run(list, go);
    else go();
  });
  return (list) => (armed = list);
}

/** One create on a connection of its own, its queries captured; answers them and the handoff. */
async function captureCreate(
  b: Bench,
  arm: (list: Captured[]) => void,
  body: string,
): Promise<{ queries: Captured[]; h: Created }> {
  const queries: Captured[] = [];
  arm(queries);
  const url = new URL(`${b.base}/v1/handoffs`);
  const text = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false, // a new connection: the armed one
        headers: { authorization: `Bearer ${b.tokens[0]}`, 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  if (text.status !== 201) throw new Error(`captured create answered ${text.status}: ${text.text}`);
  const h = JSON.parse(text.text) as HandoffJson;
  if (!queries.some((q) => /insert into "handoffs"/i.test(q.text)))
    throw new Error(`the capture missed the create's insert (${queries.length} queries captured)`);
  return {
    queries,
    h: { id: h.id, token: b.tokens[0]!, status: h.status, risk: h.risk.level, shortCode: h.short_code },
  };
}

/** A value as node-pg sends it (text format), as an SQL literal. */
function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  let s: string;
  if (Buffer.isBuffer(v)) s = `\\x${v.toString('hex')}`;
  else if (v instanceof Date) s = v.toISOString();
  else if (Array.isArray(v))
    s = `{${v.map((x) => (x === null ? 'NULL' : `"${String(x).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`)).join(',')}}`;
  else if (typeof v === 'object') s = JSON.stringify(v);
  else s = String(v as string | number | boolean | bigint);
  return `'${s.replaceAll("'", "''")}'`;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

interface Shape {
  /** Messages the server sent (a multi-statement simple query is one). */
  readonly roundTrips: number;
  readonly statements: number;
  readonly transactions: number;
}

function shapeOf(queries: readonly Captured[]): Shape {
  let statements = 0;
  let transactions = 0;
  let open = false;
  for (const q of queries) {
    const parts = q.values.length === 0 ? q.text.split(/;\s*(?=\S)/) : [q.text];
    for (const part of parts) {
      statements++;
      const head = part.trim().toLowerCase();
      if (head.startsWith('begin')) {
        open = true;
        transactions++;
      } else if (head.startsWith('commit') || head.startsWith('rollback')) open = false;
      else if (!open) transactions++; // autocommit
    }
  }
  return { roundTrips: queries.length, statements, transactions };
}

/**
 * The pgbench script of one create: each captured query with its values inlined (pgbench's simple
 * protocol: one message per query, as node-pg's one Parse/Bind/Execute/Sync), a multi-statement
 * query kept in one message (`\;`). What is new per create varies per pgbench transaction: the
 * uuids the server generated (those of the second capture absent from the first: the handoff's id,
 * in its rows, the audit outbox and the jobs' singleton keys) and the short code (unique among the
 * org's pending handoffs).
 */
function pgbenchScript(first: readonly Captured[], second: { queries: Captured[]; h: Created }): string {
  const before = new Set(
    first.flatMap((q) =>
      [...q.text.matchAll(UUID), ...JSON.stringify(q.values.map(String)).matchAll(UUID)].map((m) => m[0]),
    ),
  );
  const fresh = new Set<string>([second.h.id]);
  for (const q of second.queries)
    for (const v of q.values)
      for (const m of (Buffer.isBuffer(v) ? '' : literal(v)).matchAll(UUID))
        if (!before.has(m[0])) fresh.add(m[0]);
  const meta: string[] = [];
  const replace: [string, string][] = [];
  [...fresh].forEach((u, k) => {
    meta.push(
      `\\set g${k}b random(1000, 9999)`,
      `\\set g${k}c random(100, 999)`,
      `\\set g${k}d random(100, 999)`,
      `\\set g${k}e random(100000000000, 999999999999)`,
    );
    // Digits are hex: a valid uuid (version 4, variant 8), unique per transaction in practice.
    replace.push([u, `${u.slice(0, 8)}-:g${k}b-4:g${k}c-8:g${k}d-:g${k}e`]);
  });
  for (let i = 1; i <= 6; i++) meta.push(`\\set s${i} random(1, ${SHORT_CODE.length})`);
  const codeExpr = `(${Array.from({ length: 6 }, (_, i) => `substr('${SHORT_CODE}', :s${i + 1}, 1)`).join(' || ')})`;
  const lines = second.queries.map((q) => {
    let text =
      q.values.length === 0
        ? q.text.replace(/;\s*(?=\S)/g, ' \\; ')
        : q.text.replace(/\$(\d+)/g, (_, n: string) => {
            const v = q.values[Number(n) - 1];
            return v === second.h.shortCode ? codeExpr : literal(v);
          });
    for (const [from, to] of replace) text = text.replaceAll(from, to);
    return `${text.trim().replace(/;$/, '')};`;
  });
  return `${meta.join('\n')}\n${lines.join('\n')}\n`;
}

interface PgbenchResult {
  readonly rate: number;
  readonly latencies: number[];
}

/** Runs pgbench with `script` (c=clients, t transactions each, optionally paced at `rate`/s). */
async function pgbench(
  url: string,
  script: string,
  clients: number,
  perClient: number,
  rate?: number,
): Promise<PgbenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'ony-bench-'));
  try {
    const file = join(dir, 'create.sql');
    await writeFile(file, script);
    const args = ['-n', '-M', 'simple', '-c', String(clients), '-j', '2', '-t', String(perClient)];
    if (rate !== undefined) args.push('-R', rate.toFixed(1));
    args.push('-f', file, '-l', '--log-prefix', join(dir, 'log'), url);
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('pgbench', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`pgbench exited ${code}:\n${text.slice(-3000)}`)),
      );
    });
    const processed = /number of transactions actually processed: (\d+)/.exec(out);
    if (processed === null || Number(processed[1]) !== clients * perClient || /aborted/.test(out))
      throw new Error(`pgbench did not run every transaction:\n${out.slice(-3000)}`);
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
    if (tps === null) throw new Error(`no tps in pgbench's output:\n${out}`);
    const latencies: number[] = [];
    for (const f of await readdir(dir)) {
      if (!f.startsWith('log')) continue;
      for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
        const us = Number(line.split(' ')[2]);
        if (line !== '' && Number.isFinite(us)) latencies.push(us / 1000);
      }
    }
    return { rate: Number(tps[1]), latencies };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- Creates: pending and allowed, against their floors ----------------------------------------

interface Row {
  readonly label: string;
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly halfP50: number;
  readonly halfP99: number;
}

async function creates(
  b: Bench,
  name: string,
  body: string,
  expect: { status: string; risk: string },
  floor: { url: string; arm: (list: Captured[]) => void } | undefined,
): Promise<Row[]> {
  const warm = await httpRound(b, body, Math.min(100, PER_ROUND));
  const bad = warm.made.filter((h) => h.status !== expect.status || h.risk !== expect.risk);
  if (bad.length > 0)
    throw new Error(
      `${name}: expected ${expect.risk} and ${expect.status}, got ${bad[0]!.risk} and ${bad[0]!.status}`,
    );
  let script: string | undefined;
  if (floor !== undefined) {
    const first = await captureCreate(b, floor.arm, body);
    const second = await captureCreate(b, floor.arm, body);
    const shape = shapeOf(second.queries);
    console.log(
      `${name.padEnd(8)} one create sends ${shape.statements} statements in ${shape.roundTrips} round trips, ` +
        `${shape.transactions} transactions (captured from the pg client while the server served it)`,
    );
    script = pgbenchScript(first.queries, second);
    if (process.env.ONY_BENCH_PRINT_SQL === '1') console.log(script);
    await pgbench(floor.url, script, AGENTS, Math.ceil(Math.min(100, PER_ROUND) / AGENTS)); // warm up
  }
  const h: { rate: number; p50: number; p99: number }[] = [];
  const f: { rate: number; p50: number; p99: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const x = await httpRound(b, body, PER_ROUND);
    h.push({ rate: x.rate, p50: pct(x.latencies, 0.5), p99: pct(x.latencies, 0.99) });
    if (script !== undefined) {
      const y = await pgbench(floor!.url, script, AGENTS, Math.ceil(PER_ROUND / AGENTS));
      f.push({ rate: y.rate, p50: pct(y.latencies, 0.5), p99: pct(y.latencies, 0.99) });
    }
    b.t.logs.length = 0; // the test server keeps every log line; keep memory flat
  }
  const med = (xs: typeof h, k: 'rate' | 'p50' | 'p99') => median(xs.map((x) => x[k]));
  const httpRate = med(h, 'rate');
  const half = await httpPaced(b, body, PER_ROUND, httpRate / 2);
  const rows: Row[] = [
    {
      label: `${name} HTTP`,
      rate: httpRate,
      p50: med(h, 'p50'),
      p99: med(h, 'p99'),
      halfP50: pct(half, 0.5),
      halfP99: pct(half, 0.99),
    },
  ];
  if (script !== undefined) {
    const floorRate = med(f, 'rate');
    const halfFloor = await pgbench(floor!.url, script, AGENTS, Math.ceil(PER_ROUND / AGENTS), floorRate / 2);
    rows.push({
      label: `${name} floor`,
      rate: floorRate,
      p50: med(f, 'p50'),
      p99: med(f, 'p99'),
      halfP50: pct(halfFloor.latencies, 0.5),
      halfP99: pct(halfFloor.latencies, 0.99),
    });
  }
  b.t.logs.length = 0;
  return rows;
}

function printTable(rows: readonly Row[]): void {
  const head = `${'create'.padEnd(16)} ${'rate/s'.padStart(7)} ${'vs floor'.padStart(8)}  ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)}  ${'half load p50'.padStart(13)} ${'p99'.padStart(6)}`;
  console.log(head);
  for (const r of rows) {
    const floor = rows.find((x) => x.label === r.label.replace('HTTP', 'floor') && x !== r);
    const ratio = floor !== undefined && r.label.endsWith('HTTP') ? (r.rate / floor.rate).toFixed(2) : '';
    console.log(
      `${r.label.padEnd(16)} ${r.rate.toFixed(0).padStart(7)} ${ratio.padStart(8)}  ${ms(r.p50).padStart(7)} ${ms(r.p99).padStart(7)}  ${ms(r.halfP50).padStart(13)} ${ms(r.halfP99).padStart(6)}`,
    );
  }
  console.log(
    `[c=${AGENTS} (agents; pgbench clients), median of ${ROUNDS} interleaved rounds x ${PER_ROUND} creates; ` +
      `half load: an open loop at half the measured rate, ${PER_ROUND} creates; pgbench -M simple with the ` +
      `values inlined; the server's job workers run in this process throughout (the pending creates' first ` +
      `escalation steps, HTTP's and the floor's alike)]`,
  );
}

// ---- Long-polls: wake latency and early answers ---------------------------------------------

/** The soft limit on open files: both ends of every waiter's socket are in this process. */
function waiterCount(): { n: number; note: string } {
  let limit = Infinity;
  try {
    const raw = execSync('ulimit -n', { shell: '/bin/sh', encoding: 'utf8' }).trim();
    if (raw !== 'unlimited') limit = Number(raw);
  } catch {
    // no shell: assume the default is enough
  }
  const fit = Math.floor((limit - 200) / 2);
  if (fit >= WAITERS_WANTED) return { n: WAITERS_WANTED, note: '' };
  return {
    n: Math.max(10, fit),
    note: ` (ulimit -n is ${limit}: ${Math.max(10, fit)} waiters, two sockets each in this process)`,
  };
}

const WAIT_S = 60;
/** Members deciding at once. */
const DECIDERS = 4;

interface Waiter {
  readonly openedAt: number;
  readonly done: Promise<{ at: number; status: string }>;
}

function openWaiter(b: Bench, agent: http.Agent, id: string, token: string): Waiter {
  const url = new URL(`${b.base}/v1/handoffs/${id}?wait=${WAIT_S}`);
  const openedAt = performance.now();
  const done = new Promise<{ at: number; status: string }>((resolve, reject) => {
    const req = http.request(
      url,
      { agent, method: 'GET', headers: { authorization: `Bearer ${token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const at = performance.now();
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return reject(new Error(`wait answered ${res.statusCode}: ${text}`));
          resolve({ at, status: (JSON.parse(text) as { status: string }).status });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
  return { openedAt, done };
}

/** Answers the number of early answers (0 for a sound run). */
async function wakeLatency(b: Bench, label: string): Promise<number> {
  const { n, note } = waiterCount();
  const { container } = b.t;
  // Count the wake-up subscriptions: a waiter that holds one will see the decision.
  let parked = 0;
  const subscribe = container.store.subscribe.bind(container.store);
  container.store.subscribe = async (channel, handler) => {
    const unsubscribe = await subscribe(channel, handler);
    parked++;
    return () => {
      parked--;
      unsubscribe();
    };
  };

  const handoffs: Created[] = [];
  while (handoffs.length < n) handoffs.push(...(await httpRound(b, PENDING, n - handoffs.length)).made);
  const notPending = handoffs.filter((h) => h.status !== 'pending').length;
  if (notPending > 0) throw new Error(`${notPending} of ${n} handoffs were not pending at creation`);
  b.t.logs.length = 0;
  const due = async () =>
    (
      await sql<{ n: number }>`
        select count(*)::int as n from pgboss.job where state in ('created', 'retry') and start_after <= now()`.execute(
        container.database.db,
      )
    ).rows[0]!.n;
  const backlog = await due();
  const backlogAt = performance.now();
  const agent = new http.Agent({ keepAlive: true, maxSockets: n + 100 });
  const before = await memory();

  const t0 = performance.now();
  const waiters = handoffs.map((h) => openWaiter(b, agent, h.id, h.token));
  const sent = performance.now();
  // A waiter that answers while the others park is an early answer (counted below), not a hang.
  const answeredEarly = new Set<number>();
  waiters.forEach(
    (w, i) =>
      void w.done.then(
        () => answeredEarly.add(i),
        () => answeredEarly.add(i),
      ),
  );
  while (parked < n - answeredEarly.size) {
    if (performance.now() - t0 > 50_000) throw new Error(`only ${parked} of ${n} waiters parked`);
    await sleep(20);
  }
  const allParked = performance.now();
  await sleep(1000);
  b.t.logs.length = 0;
  const during = await memory();

  // Decide every handoff, DECIDERS at a time (members at the dashboard): all within the waits' 60 s.
  const decisionSent: number[] = [];
  const decidedAt: number[] = [];
  let nextDecision = 0;
  const d0 = performance.now();
  await Promise.all(
    Array.from({ length: DECIDERS }, async () => {
      while (nextDecision < n) {
        const i = nextDecision++;
        decisionSent[i] = performance.now();
        const res = await fetch(`${b.base}/v1/handoffs/${handoffs[i]!.id}/decision`, {
          method: 'POST',
          headers: {
            cookie: b.admin.cookie,
            'x-csrf-token': b.admin.csrf,
            'content-type': 'application/json',
          },
          body: '{"decision":"approve"}',
        });
        const text = await res.text();
        decidedAt[i] = performance.now();
        if (res.status !== 200) throw new Error(`decision answered ${res.status}: ${text}`);
      }
    }),
  );
  const decideMs = performance.now() - d0;
  const woke = await Promise.all(waiters.map((w) => w.done));
  const drained = (backlog - (await due())) / ((performance.now() - backlogAt) / 1000);
  agent.destroy();
  container.store.subscribe = subscribe;

  // Early: answered before its decision was sent, or without a decision before its own timeout.
  let early = 0;
  let timedOut = 0;
  woke.forEach((w, i) => {
    const ownTimeout = w.at - waiters[i]!.openedAt >= WAIT_S * 1000 - 50;
    if (w.status === 'pending' && ownTimeout) timedOut++;
    else if (w.status !== 'approved' || w.at < decisionSent[i]!) early++;
  });
  // The server wakes the waiters as part of deciding: a waiter's answer may end before the decision's
  // own response does (both in this one process). Not early: counted, and its latency is 0.
  const raw = woke.map((w, i) => w.at - decidedAt[i]!).filter((_, i) => woke[i]!.status === 'approved');
  const beforeResponse = raw.filter((x) => x < 0).length;
  const lat = raw.map((x) => Math.max(0, x));

  console.log(
    `${label.padEnd(9)} decision-to-wake, ${n} parked long-polls${note}: p50 ${pct(lat, 0.5).toFixed(1)} ms ` +
      `p99 ${pct(lat, 0.99).toFixed(1)} ms max ${Math.max(...lat).toFixed(1)} ms (target p99 <= 50 ms)   ` +
      `[early answers (before the decision was sent, or pending before ${WAIT_S} s): ${early} of ${n}; ` +
      `own timeout reached: ${timedOut}; ` +
      `${beforeResponse} woke after their decision was sent but before its response ended (counted as 0 ms); ${backlog} due jobs (the creates' first escalation steps) queued ` +
      `at the start, workers drained ${drained.toFixed(0)}/s meanwhile; decisions ${DECIDERS} at a time, ` +
      `${(n / (decideMs / 1000)).toFixed(0)}/s; parking all took ${((allParked - t0) / 1000).toFixed(1)} s after ` +
      `${((sent - t0) / 1000).toFixed(2)} s of sending]`,
  );
  console.log(
    `${label.padEnd(9)} RSS ${before.rss.toFixed(0)} MiB before the waiters, ${during.rss.toFixed(0)} MiB with ${n} parked: ` +
      `${(((during.rss - before.rss) * 1024) / n).toFixed(1)} KiB per waiter; heap+external ` +
      `${(((during.heap - before.heap) * 1024) / n).toFixed(1)} KiB per waiter   ` +
      `[server and clients in one process: both ends of each socket, after full GCs]`,
  );
  return early;
}

/** The test helpers' database, on Postgres with a 10-connection runtime pool (as `ony serve`'s). */
async function benchDatabase(): Promise<{ database: TestDatabase; pool: Database | undefined }> {
  const base = await freshDatabase();
  if (base.runtimeUrl === undefined) return { database: base, pool: undefined };
  const pool = connectPostgres(base.runtimeUrl, 10);
  return { database: { ...base, runtime: { kind: pool.kind, db: pool.db, close: base.close } }, pool };
}

export async function run(): Promise<void> {
  const { database, pool } = await benchDatabase();
  const t = await startTestServer({ ONY_RATE_LIMIT_PER_MINUTE: '1000000' }, { database });
  let early = 0;
  try {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as AddressInfo).port;
    const admin = await createOrgWithAdmin(t, `bench-${randomInt(1e6)}`);
    const tokens: string[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const res = await as(t, admin, 'POST', '/v1/admin/devices', { name: `agent-${i}` });
      if (res.statusCode !== 201) throw new Error(`device answered ${res.statusCode}: ${res.body}`);
      tokens.push(res.json<{ token: string }>().token);
    }
    const b: Bench = { t, base: `http://127.0.0.1:${port}`, admin, tokens };
    const label = t.database.kind;
    let floor: { url: string; arm: (list: Captured[]) => void } | undefined;
    let why = '';
    if (label === 'postgres') {
      try {
        execSync('pgbench --version', { stdio: 'ignore' });
        hookPg();
        floor = { url: database.runtimeUrl!, arm: captureConnections(t.app.server) };
      } catch {
        why = 'no pgbench on PATH (Debian: apt-get install postgresql-client)';
      }
    } else why = 'the floor needs Postgres: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db>';
    console.log(
      `database: ${label}${label === 'postgres' ? ' (server pool: 10 connections)' : ' (embedded, one connection)'}` +
        (why !== '' ? `; no floor: ${why}` : ''),
    );
    const rows = [
      ...(await creates(b, 'pending', PENDING, { status: 'pending', risk: 'high' }, floor)),
      ...(await creates(b, 'allowed', ALLOWED, { status: 'approved', risk: 'low' }, floor)),
    ];
    printTable(rows);
    early = await wakeLatency(b, label);
  } finally {
    await t.close(); // closes the server and the container; the test database is dropped with it
    await pool?.close();
  }
  if (early > 0) {
    console.log(`FAIL: ${early} long-polls answered before their decision`);
    process.exitCode = 1;
  }
}
