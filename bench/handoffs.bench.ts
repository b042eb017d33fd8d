/**
 * The handoff API under load, over real HTTP (the server listens on loopback; the agents, the
 * deciding member and the server share this one process and its event loop), measured side by side
 * in one run:
 *  1. create throughput and latency with 50 concurrent agents (one device token and one request
 *     loop each), against the floor: the create transaction's own SQL run directly through Kysely
 *     in withTenant by 50 concurrent loops on the same pool, with the values prebuilt (policies
 *     read, handoff row with the payload hash, key look-up and payload encryption, payload row, audit
 *     outbox row, the expiry and first escalation jobs);
 *  2. decision-to-wake latency with 1,000 long-polls (`GET /v1/handoffs/:id?wait=60`) parked at
 *     once: each handoff is decided through the API in turn and each waiter's answer timed against
 *     the end of the decision's own response;
 *  3. the process's RSS before the waiters and while they are parked.
 * The database is the one the test helpers pick: PGlite, or Postgres when DATABASE_URL is set.
 */
import { execSync } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'kysely';
import { DEFAULT_OPTIONS } from '../src/core/approval/decide.js';
import { auditEvents } from '../src/core/audit-chain/events.js';
import { canonicalize } from '../src/core/audit-chain/entry.js';
import { redact } from '../src/core/redact/index.js';
import { defaultRiskPolicy, deriveRisk } from '../src/core/risk/index.js';
import { withTenant } from '../src/db/client.js';
import { sha256, sha256Hex } from '../src/lib/crypto.js';
import { appendAudit } from '../src/features/audit/audit.repository.js';
import { insertHandoff, insertPayload } from '../src/features/handoffs/handoffs.repository.js';
import { JOBS, type CreateInput } from '../src/features/handoffs/handoffs.service.js';
import { loadPolicies } from '../src/features/policies/policies.js';
import { as, createOrgWithAdmin, startTestServer, type Actor, type TestServer } from '../test/helpers/app.js';
import { median } from './stats.js';

const AGENTS = 50;
/** The service's short-code alphabet (no 0/O, 1/I/L). */
const SHORT_CODE = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const WAITERS_WANTED = 1000;

/** A small shell command with its payload: the typical agent request. */
const INPUT: CreateInput = {
  action: { type: 'shell.exec', target: 'build-runner-3' },
  title: 'Run the database migration on staging',
  summary: 'Applies 0042_add_index.sql; takes about a minute.',
  payload: { kind: 'command', content: 'npm run migrate -- --env staging --to 0042' },
};
const BODY = JSON.stringify(INPUT);

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

/** Nearest-rank percentile. */
function pct(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** This process's CPU time over a wall-clock interval, in cores. */
const cpuShare = (since: NodeJS.CpuUsage, wallMs: number) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000 / wallMs;
};

/** Creates that failed (the server answered 500) and were sent again, and the floor's redraws. */
let httpFailures = 0;
let floorCollisions = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Bench {
  readonly t: TestServer;
  readonly base: string;
  readonly admin: Actor;
  /** One device token per agent. */
  readonly tokens: readonly string[];
}

/** One agent's create: answers the handoff id. */
async function createOne(b: Bench, token: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createOnce(b, token);
    } catch (err) {
      if (attempt === 3 || !String(err).includes('answered 500')) throw err;
      httpFailures++;
    }
  }
}

async function createOnce(b: Bench, token: string): Promise<string> {
  const res = await fetch(`${b.base}/v1/handoffs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: BODY,
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${text}`);
  return (JSON.parse(text) as { id: string }).id;
}

/** `count` creates by the 50 agents concurrently; answers every request's latency and the ids. */
async function httpRound(
  b: Bench,
  count: number,
): Promise<{ ms: number; latencies: number[]; made: { id: string; token: string }[]; cpu: number }> {
  const latencies: number[] = [];
  const made: { id: string; token: string }[] = [];
  let next = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    b.tokens.map(async (token) => {
      while (next < count) {
        next++;
        const s = performance.now();
        const id = await createOne(b, token);
        latencies.push(performance.now() - s);
        made.push({ id, token });
      }
    }),
  );
  const ms = performance.now() - t0;
  return { ms, latencies, made, cpu: cpuShare(cpu0, ms) };
}

/** The floor: the create transaction's SQL with prebuilt values, 50 loops on the server's pool. */
async function directRound(
  b: Bench,
  deviceIds: readonly string[],
  count: number,
): Promise<{ ms: number; cpu: number }> {
  const { container } = b.t;
  const db = container.database.db;
  const orgId = b.admin.orgId;
  const risk = deriveRisk(INPUT, defaultRiskPolicy);
  const requestSha256 = sha256Hex(canonicalize(INPUT));
  const content = Buffer.from(INPUT.payload!.content, 'utf8');
  const fixed = {
    actionType: INPUT.action.type,
    actionTarget: redact(INPUT.action.target!).text,
    title: redact(INPUT.title).text,
    summary: redact(INPUT.summary).text,
    options: DEFAULT_OPTIONS,
    riskLevel: risk.level,
    riskReasons: risk.reasons,
    context: {},
    requiredApprovals: 1,
    totpRequired: false,
    minAssurance: 'A1' as const,
    callbackUrl: null,
    idempotencyKey: null,
    requestSha256,
  };
  let next = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    deviceIds.map(async (deviceId) => {
      while (next < count) {
        next++;
        const once = () =>
          withTenant(db, orgId, async (tx) => {
            await loadPolicies(tx);
            const id = randomUUID();
            const now = container.clock.now();
            const expiresAt = new Date(now.getTime() + 900_000);
            const salt = randomBytes(16);
            const payloadSha = sha256(Buffer.concat([salt, content]));
            const h = await insertHandoff(tx, {
              ...fixed,
              id,
              deviceId,
              shortCode: Array.from({ length: 6 }, () => SHORT_CODE[randomInt(SHORT_CODE.length)]).join(''),
              payloadSha256: payloadSha,
              createdAt: now,
              expiresAt,
            });
            // A short-code collision (as the service would, draw again): count it as a failed create.
            if (h === undefined) throw new Error('short code taken');
            const contentEnc = await container.keyring.encrypt(tx, content, `payload:${id}`);
            await insertPayload(tx, { handoffId: id, kind: 'command', salt, contentEnc });
            await appendAudit(
              tx,
              auditEvents.handoffCreated({ type: 'device', id: deviceId }, h, payloadSha.toString('hex')),
              now,
            );
            // The expiry and the first escalation step in one statement, as the service enqueues them.
            await container.jobs.sendMany(
              [
                {
                  name: JOBS.expire,
                  data: { org_id: orgId, handoff_id: id },
                  options: { startAfter: expiresAt, singletonKey: `expire:${id}` },
                },
                {
                  name: JOBS.escalate,
                  data: { org_id: orgId, handoff_id: id, step: 0, round: 0 },
                  options: { startAfter: now, singletonKey: `escalate:${id}:0:0` },
                },
              ],
              tx.db,
            );
          });
        // Six letters of 31 collide now and then among thousands pending: draw another code.
        await once().catch((err: { constraint?: string }) => {
          if (err.constraint !== 'handoffs_pending_short_code') throw err;
          floorCollisions++;
          return once();
        });
      }
    }),
  );
  const ms = performance.now() - t0;
  return { ms, cpu: cpuShare(cpu0, ms) };
}

async function createThroughput(b: Bench, deviceIds: readonly string[], label: string): Promise<void> {
  const pglite = label === 'pglite';
  const perRound = pglite ? 200 : 1000;
  const rounds = 3;
  await httpRound(b, pglite ? 100 : 300); // warm up both paths (plan caches, JIT, connections)
  await directRound(b, deviceIds, pglite ? 100 : 300);
  const httpRates: number[] = [];
  const p50s: number[] = [];
  const p99s: number[] = [];
  const directRates: number[] = [];
  const httpCpu: number[] = [];
  const directCpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const h = await httpRound(b, perRound);
    httpRates.push(perRound / (h.ms / 1000));
    p50s.push(pct(h.latencies, 0.5));
    p99s.push(pct(h.latencies, 0.99));
    httpCpu.push(h.cpu);
    const d = await directRound(b, deviceIds, perRound);
    directRates.push(perRound / (d.ms / 1000));
    directCpu.push(d.cpu);
    b.t.logs.length = 0; // the test server keeps every log line; keep memory flat
  }
  const hr = median(httpRates);
  const dr = median(directRates);
  console.log(
    `${label.padEnd(9)} create via HTTP ${hr.toFixed(0).padStart(5)}/s p50 ${median(p50s).toFixed(0)} ms p99 ${median(p99s).toFixed(0)} ms   ` +
      `direct SQL ${dr.toFixed(0).padStart(5)}/s   ratio ${(hr / dr).toFixed(2)} (target >= 0.60)   ` +
      `[${AGENTS} agents, median of ${rounds} rounds x ${perRound}]`,
  );
  console.log(
    `${label.padEnd(9)} this process's CPU: ${median(httpCpu).toFixed(2)} cores during HTTP rounds, ` +
      `${median(directCpu).toFixed(2)} during direct SQL (server, agents and pg client share one event loop)` +
      (httpFailures + floorCollisions > 0
        ? `; ${httpFailures} creates answered 500 and were sent again, ${floorCollisions} floor short codes redrawn`
        : ''),
  );
}

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

interface Waiter {
  readonly done: Promise<{ at: number; status: string }>;
}

function openWaiter(b: Bench, agent: http.Agent, id: string, token: string): Waiter {
  const url = new URL(`${b.base}/v1/handoffs/${id}?wait=60`);
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
  return { done };
}

async function wakeLatency(b: Bench, label: string): Promise<void> {
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

  const handoffs: { id: string; token: string }[] = [];
  while (handoffs.length < n) handoffs.push(...(await httpRound(b, n - handoffs.length)).made);
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
  while (parked < n) {
    if (performance.now() - t0 > 50_000) throw new Error(`only ${parked} of ${n} waiters parked`);
    await sleep(20);
  }
  const allParked = performance.now();
  await sleep(1000);
  b.t.logs.length = 0;
  const during = await memory();

  // Decide each handoff in turn, as one member at the dashboard.
  const decidedAt: number[] = [];
  const d0 = performance.now();
  for (const h of handoffs) {
    const res = await fetch(`${b.base}/v1/handoffs/${h.id}/decision`, {
      method: 'POST',
      headers: { cookie: b.admin.cookie, 'x-csrf-token': b.admin.csrf, 'content-type': 'application/json' },
      body: '{"decision":"approve"}',
    });
    const text = await res.text();
    decidedAt.push(performance.now());
    if (res.status !== 200) throw new Error(`decision answered ${res.status}: ${text}`);
  }
  const decideMs = performance.now() - d0;
  const woke = await Promise.all(waiters.map((w) => w.done));
  const drained = (backlog - (await due())) / ((performance.now() - backlogAt) / 1000);
  agent.destroy();
  container.store.subscribe = subscribe;
  const notApproved = woke.filter((w) => w.status !== 'approved').length;
  if (notApproved > 0) throw new Error(`${notApproved} waiters answered without the approval`);
  const lat = woke.map((w, i) => w.at - decidedAt[i]!);
  const early = lat.filter((x) => x < 0).length;

  console.log(
    `${label.padEnd(9)} decision-to-wake, ${n} parked long-polls${note}: p50 ${pct(lat, 0.5).toFixed(1)} ms ` +
      `p99 ${pct(lat, 0.99).toFixed(1)} ms max ${Math.max(...lat).toFixed(1)} ms (target p99 <= 50 ms)   ` +
      `[${backlog} due jobs (the creates' first escalation steps) queued at the start, workers drained ` +
      `${drained.toFixed(0)}/s meanwhile; ${early} of ${n} woke before the decision's own response ended; decisions one at a time, ` +
      `${(n / (decideMs / 1000)).toFixed(0)}/s; parking all took ${((allParked - t0) / 1000).toFixed(1)} s after ` +
      `${((sent - t0) / 1000).toFixed(2)} s of sending]`,
  );
  console.log(
    `${label.padEnd(9)} RSS ${before.rss.toFixed(0)} MiB before the waiters, ${during.rss.toFixed(0)} MiB with ${n} parked: ` +
      `${(((during.rss - before.rss) * 1024) / n).toFixed(1)} KiB per waiter; heap+external ` +
      `${(((during.heap - before.heap) * 1024) / n).toFixed(1)} KiB per waiter   ` +
      `[server and clients in one process: both ends of each socket, after full GCs]`,
  );
}

export async function run(): Promise<void> {
  const t = await startTestServer({ ONY_RATE_LIMIT_PER_MINUTE: '1000000' });
  try {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as AddressInfo).port;
    const admin = await createOrgWithAdmin(t, `bench-${randomInt(1e6)}`);
    const tokens: string[] = [];
    const deviceIds: string[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const res = await as(t, admin, 'POST', '/v1/admin/devices', { name: `agent-${i}` });
      if (res.statusCode !== 201) throw new Error(`device answered ${res.statusCode}: ${res.body}`);
      const { token, device } = res.json<{ token: string; device: { id: string } }>();
      tokens.push(token);
      deviceIds.push(device.id);
    }
    const b: Bench = { t, base: `http://127.0.0.1:${port}`, admin, tokens };
    const label = t.database.kind;
    console.log(
      `database: ${label}${label === 'postgres' ? ' (the test helpers pool: 5 connections)' : ' (embedded, one connection)'}`,
    );
    await createThroughput(b, deviceIds, label);
    await wakeLatency(b, label);
  } finally {
    await t.close(); // closes the server and the container; the test database is dropped with it
  }
  if (t.database.kind === 'pglite') {
    console.log(
      'postgres  skipped: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to measure it instead',
    );
  }
}
