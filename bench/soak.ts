/**
 * `npm run soak [-- --scale 0.01] [-- --redis-db 12]`: a soak under chaos (issue #19 part 3), not a
 * CI test. Three `ony serve` replicas in production mode (test/helpers/replicas.ts) on their own
 * Postgres database (`ony_soak_<hex>`, created and dropped here) and their own Redis database index,
 * behind the round-robin proxy. Agents create handoffs and long-poll for the answer; approvers decide
 * through the dashboard API (session cookie + CSRF) and by clicking the Slack fake's signed buttons;
 * some handoffs expire, agents cancel some. Meanwhile a replica is killed with SIGKILL and restarted
 * every 2 minutes, every Postgres connection is terminated once, Redis is flushed once and one
 * replica is cut off from Redis for 30 s. At the end the invariants are checked against the database
 * and the script exits 1 if one broke. Everything is scaled by --scale (durations have a floor so a
 * small run still sees every fault). docs/scaling.md ("The soak") says what it checks and how.
 *
 * Needs DATABASE_URL (a server login that may create databases and roles) and REDIS_URL.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import pg from 'pg';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/index.js';
import { createContainer } from '../src/container.js';
import { createLogger } from '../src/lib/logger.js';
import { startFakeSlack, type SlackUser } from '../test/fakes/slack.js';
import { PASSWORD } from '../test/helpers/app.js';
import { realDatabaseUrl, realRedisUrl } from '../test/helpers/db.js';
import { startTcpProxy, type TcpProxy } from '../test/helpers/net.js';
import {
  redisUrlOn,
  request,
  signIn,
  startCluster,
  type Cluster,
  type Session,
} from '../test/helpers/replicas.js';
import { median, percentile } from './stats.js';

const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    'redis-db': { type: 'string', default: '12' },
  },
  strict: true,
});
const scale = Number(args.scale);
const redisDb = Number(args['redis-db']);
if (!(scale > 0 && scale <= 10)) throw new Error('--scale must be a number in (0, 10]');
if (!Number.isInteger(redisDb) || redisDb < 1 || redisDb > 15)
  throw new Error('--redis-db must be 1..15 (0 is left to others)');
if (realDatabaseUrl === undefined || realRedisUrl === undefined) {
  console.error('npm run soak needs DATABASE_URL (Postgres server login) and REDIS_URL');
  process.exit(2);
}

const ORGS = 20;
const AGENTS = 50;
const APPROVERS = 10;
const TOTAL = Math.max(40, Math.round(50_000 * scale));
const DURATION_MS = Math.max(60_000, 600_000 * scale);
const KILL_EVERY_MS = Math.max(20_000, 120_000 * scale);
const REDIS_CUT_MS = Math.max(5_000, 30_000 * scale);
const MEMORY_MARK_MS = Math.max(20_000, 120_000 * scale);
const WAIT_S = 20;
const TEAM = 'T0FAKE001';
/** Replica C (index 2) is never killed: its process lives through the whole run (the memory baseline). */
const LONG_LIVED = 2;

type Plan = 'dashboard' | 'slack' | 'cancel' | 'expire';
type Final = 'approved' | 'denied' | 'expired' | 'cancelled';
const FINAL = new Set<string>(['approved', 'denied', 'expired', 'cancelled']);

interface Org {
  readonly slug: string;
  readonly adminEmail: string;
  admin: Session;
  approver: Session;
  readonly approverEmail: string;
  readonly slackUser: SlackUser;
  readonly devices: string[];
  baselineEntries: number;
}

interface Ledger {
  readonly i: number;
  readonly org: number;
  readonly plan: Plan;
  readonly decision: 'approve' | 'deny';
  id?: string;
  createMs?: number;
  /** When the approver's decision (or the agent's cancel) was answered. */
  actedAt?: number;
  answer?: string;
  answeredAt?: number;
  /** A Slack handoff whose message never showed up. */
  slackLost?: boolean;
}

// ---------- small tools ----------
const errors = new Map<string, number>();
const countError = (kind: string) => errors.set(kind, (errors.get(kind) ?? 0) + 1);
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const now = () => performance.now();
const fmt = (ms: number | undefined) => (ms === undefined ? '-' : `${ms.toFixed(0)} ms`);

/** Fires when a create that started after time `t` succeeds: recovery after a fault. */
const createOkWatchers: { after: number; resolve: (at: number) => void }[] = [];
function firstCreateAfter(t: number): Promise<number> {
  return new Promise((resolve) => createOkWatchers.push({ after: t, resolve }));
}
function createSucceeded(startedAt: number, at: number) {
  for (let k = createOkWatchers.length - 1; k >= 0; k--) {
    const w = createOkWatchers[k]!;
    if (startedAt >= w.after) {
      createOkWatchers.splice(k, 1);
      w.resolve(at);
    }
  }
}

function errorKind(where: string, e: unknown): string {
  if (typeof e === 'number') return `${where}: HTTP ${e}`;
  const cause = (e as { cause?: { code?: string } }).cause?.code;
  return `${where}: ${cause ?? (e instanceof Error ? e.message.slice(0, 40) : 'error')}`;
}

// ---------- set-up ----------
const redisTarget = new URL(realRedisUrl);
const redisProxies: TcpProxy[] = await Promise.all(
  [0, 1, 2].map(() => startTcpProxy(redisTarget.hostname, Number(redisTarget.port || 6379))),
);
const soakRedisUrl = redisUrlOn(redisDb);
const admin = new Redis(soakRedisUrl);
await admin.flushdb(); // our own index: whatever an earlier run left
const fake = await startFakeSlack();
const masterKey = randomBytes(32).toString('base64');
const slackEnv = {
  ONY_SLACK_BOT_TOKEN: fake.botToken,
  ONY_SLACK_SIGNING_SECRET: fake.signingSecret,
  ONY_SLACK_CHANNEL: '#approvals',
  ONY_SLACK_API_URL: fake.apiUrl,
  ONY_SLACK_DM: 'false',
};
console.log(
  `soak: scale ${scale}: ${TOTAL} handoffs over ${(DURATION_MS / 1000).toFixed(0)} s, ${AGENTS} agents in ${ORGS} orgs, ` +
    `${APPROVERS} approvers; kill -9 every ${(KILL_EVERY_MS / 1000).toFixed(0)} s, Redis cut ${(REDIS_CUT_MS / 1000).toFixed(0)} s; Redis db ${redisDb}`,
);
const t0Setup = now();
const cluster: Cluster = await startCluster(
  3,
  {
    ...slackEnv,
    ONY_MASTER_KEY: masterKey,
    ONY_LOG_LEVEL: 'warn',
    ONY_RATE_LIMIT_PER_MINUTE: '1000000',
  },
  undefined,
  {
    redisDb,
    databasePrefix: 'ony_soak',
    nodeArgs: ['--inspect=127.0.0.1:0'],
    redisVia: (i, direct) => {
      const u = new URL(direct);
      u.hostname = '127.0.0.1';
      u.port = String(redisProxies[i]!.port);
      return u.toString();
    },
  },
);
const dbName = new URL(cluster.database.url!).pathname.slice(1);
console.log(`soak: 3 replicas up in ${((now() - t0Setup) / 1000).toFixed(1)} s on database ${dbName}`);

let exitCode = 0;
const failures: string[] = [];
const fail = (what: string) => {
  failures.push(what);
  exitCode = 1;
};

try {
  // The operator's path (`ony setup`, in-process): 20 orgs; its container starts no job workers.
  const operator = await createContainer(
    loadConfig({
      DATABASE_URL: cluster.database.runtimeUrl!,
      REDIS_URL: soakRedisUrl,
      ONY_MASTER_KEY: masterKey,
      ONY_PUBLIC_URL: cluster.proxy.url,
      ...slackEnv,
    }),
    { logger: createLogger('warn') },
  );
  const orgs: Org[] = [];
  try {
    for (let k = 0; k < ORGS; k++) {
      const slug = `soak-${k}`;
      const adminEmail = `admin@${slug}.test`;
      await operator.setup.createOrg({
        orgName: slug,
        slug,
        admin: { email: adminEmail, name: `Admin ${k}`, password: PASSWORD },
      });
      orgs.push(await setUpOrg(k, slug, adminEmail, operator.channelActions));
    }
  } finally {
    await operator.close();
  }
  console.log(`soak: ${ORGS} orgs set up in ${((now() - t0Setup) / 1000).toFixed(1)} s (since start)`);

  // ---------- load ----------
  const ledger: Ledger[] = [];
  const approverQueue: Ledger[] = [];
  const queueWaiters: (() => void)[] = [];
  let loadDone = false;
  const enqueue = (h: Ledger) => {
    approverQueue.push(h);
    queueWaiters.shift()?.();
  };
  const nextJob = async (): Promise<Ledger | undefined> => {
    for (;;) {
      const h = approverQueue.shift();
      if (h !== undefined) return h;
      if (loadDone && pendingLives === 0) return undefined;
      await new Promise<void>((r) => {
        queueWaiters.push(r);
        setTimeout(r, 500);
      });
    }
  };

  const createLatency: number[] = [];
  const wakeLatency: number[] = [];
  let pendingLives = 0;
  let inFlightCreates = 0;
  const start = now();

  const planOf = (i: number): Plan => {
    const m = i % 20;
    return m < 2 ? 'expire' : m < 4 ? 'cancel' : m < 12 ? 'dashboard' : 'slack';
  };

  async function life(h: Ledger): Promise<void> {
    const org = orgs[h.org]!;
    const device = org.devices[Math.floor((h.i % AGENTS) / ORGS)]!; // agent a = i % 50 is device a / 20 of org a % 20
    const key = `soak-${h.i}`;
    const body = {
      action: { type: 'deploy', target: `web-${h.i % 7}` },
      title: `soak deploy ${h.i}`,
      payload: { kind: 'command', content: 'kubectl rollout restart deployment/web -n staging' },
      ...(h.plan === 'expire' && { timeout_s: 2 + (h.i % 3) }),
    };
    // Create, retried with the same Idempotency-Key (a lost answer must not make a second handoff).
    inFlightCreates++;
    for (;;) {
      const began = now();
      try {
        const res = await fetch(`${cluster.proxy.url}/v1/handoffs`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${device}`,
            'idempotency-key': key,
          },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        if (res.status !== 201 && res.status !== 200) throw res.status;
        const created = JSON.parse(text) as { id: string; status: string };
        const at = now();
        h.id = created.id;
        h.createMs = at - began;
        createLatency.push(h.createMs);
        createSucceeded(began, at);
        inFlightCreates--;
        break;
      } catch (e) {
        countError(errorKind('create', e));
        await pause(200);
      }
    }
    if (h.plan === 'dashboard' || h.plan === 'slack') enqueue(h);
    const cancelling = h.plan === 'cancel' ? cancel(h, device) : Promise.resolve();
    // The agent's long-poll, reconnecting through the proxy until the answer is final.
    for (;;) {
      try {
        const res = await fetch(`${cluster.proxy.url}/v1/handoffs/${h.id}?wait=${WAIT_S}`, {
          headers: { authorization: `Bearer ${device}` },
        });
        if (res.status !== 200) {
          await res.text();
          throw res.status;
        }
        const view = (await res.json()) as { status: string };
        if (FINAL.has(view.status)) {
          h.answer = view.status;
          h.answeredAt = now();
          break;
        }
      } catch (e) {
        countError(errorKind('wait', e));
        await pause(200);
      }
    }
    await cancelling;
  }

  async function cancel(h: Ledger, device: string): Promise<void> {
    await pause(100 + (h.i % 10) * 50); // the agent changes its mind a moment later
    for (;;) {
      try {
        const res = await fetch(`${cluster.proxy.url}/v1/handoffs/${h.id}/cancel`, {
          method: 'POST',
          headers: { authorization: `Bearer ${device}` },
        });
        await res.text();
        if (res.status === 200) {
          h.actedAt = now();
          return;
        }
        if (res.status === 409) return; // already final (it expired or was cancelled by a retry)
        throw res.status;
      } catch (e) {
        countError(errorKind('cancel', e));
        await pause(200);
      }
    }
  }

  async function approver(): Promise<void> {
    for (;;) {
      const h = await nextJob();
      if (h === undefined) return;
      const org = orgs[h.org]!;
      if (h.plan === 'slack') await decideBySlack(h, org);
      else await decideByDashboard(h, org);
    }
  }

  async function decideByDashboard(h: Ledger, org: Org): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await request(cluster.proxy, 'POST', `/v1/handoffs/${h.id}/decision`, {
          body: { decision: h.decision },
          session: org.approver,
        });
        if (res.status === 200) {
          h.actedAt = now();
          return;
        }
        // A replay of the same decision answers 200; 409 is a different one (or expired meanwhile).
        if (res.status === 409 && FINAL.has(await statusOf(h, org))) {
          countError('decide (dashboard): HTTP 409 (already final)');
          return;
        }
        if (res.status === 401) org.approver = await signIn(cluster.proxy, org.approverEmail);
        throw res.status;
      } catch (e) {
        countError(errorKind('decide (dashboard)', e));
        await pause(200);
      }
    }
  }

  /** The approver clicks the button on the Slack message the escalation posted (as Slack signs it). */
  async function decideBySlack(h: Ledger, org: Org): Promise<void> {
    let ref: string | undefined;
    const since = now();
    for (;;) {
      if (now() - since > 60_000) {
        // The escalation never posted (or recorded) its Slack message: say so, decide in the dashboard.
        h.slackLost = true;
        countError('slack: no message posted within 60 s (decided in the dashboard)');
        return decideByDashboard(h, org);
      }
      try {
        const rows = await sql<{ ref: string }>`
          select ref from channel_messages where handoff_id = ${h.id!} and channel = 'slack'`.execute(
          cluster.database.db,
        );
        ref = rows.rows[0]?.ref;
      } catch (e) {
        countError(errorKind('soak db', e));
      }
      if (ref !== undefined) break;
      await pause(100);
    }
    for (;;) {
      let payload: Record<string, unknown>;
      try {
        payload = fake.clickPayload(ref, org.slackUser, h.decision);
      } catch {
        // The message lost its buttons: the notify job rewrote it, so an earlier click whose answer
        // was lost (a dropped connection) did decide. What the approver sees: it is decided.
        if (FINAL.has(await statusOf(h, org))) return;
        countError('decide (slack): message without buttons while pending');
        await pause(200);
        continue;
      }
      try {
        const res = await fake.deliver(`${cluster.proxy.url}/webhooks/slack/interactions`, payload);
        if (res.status !== 200) throw res.status;
        const acked = now();
        // Slack gets its 200 whatever the outcome; a refusal ("try again") reaches the person as an
        // ephemeral message. The approver looks at the handoff, and clicks again if it is still pending.
        if (FINAL.has(await statusOf(h, org))) {
          h.actedAt = acked;
          return;
        }
        countError('decide (slack): acked 200 but still pending (clicked again)');
        await pause(200);
      } catch (e) {
        countError(errorKind('decide (slack)', e));
        await pause(200);
      }
    }
  }

  /** The handoff's status as its approver sees it (retried through faults). */
  async function statusOf(h: Ledger, org: Org): Promise<string> {
    for (;;) {
      try {
        const res = await request(cluster.proxy, 'GET', `/v1/handoffs/${h.id}`, { session: org.approver });
        if (res.status === 200) return (res.body as { status: string }).status;
        if (res.status === 401) org.approver = await signIn(cluster.proxy, org.approverEmail);
        throw res.status;
      } catch (e) {
        countError(errorKind('status (approver)', e));
        await pause(200);
      }
    }
  }

  // ---------- chaos ----------
  interface Fault {
    readonly what: string;
    readonly atS: number;
    /** First create started after the fault that succeeded. */
    recoveryMs?: number;
    note?: string;
  }
  const faults: Fault[] = [];
  const memoryMark = new Map<number, { pid: number; rss: number }>();

  /** Three independent schedules: the memory mark, the one-off faults, and a kill every KILL_EVERY_MS. */
  async function chaos(): Promise<void> {
    const at = (ms: number) => pause(Math.max(0, start + ms - now()));
    const memory = async () => {
      await at(MEMORY_MARK_MS);
      for (let i = 0; i < 3; i++) {
        const m = await memoryOf(i).catch((e: unknown) => {
          countError(errorKind('memory probe', e));
          return undefined;
        });
        if (m !== undefined) memoryMark.set(i, m);
      }
    };
    const oneOffs = async () => {
      for (const [f, fault] of [
        [0.3, dropPostgres],
        [0.5, flushRedis],
        [0.65, cutRedis],
      ] as const) {
        await at(f * DURATION_MS);
        await fault().catch((e: unknown) => fail(`fault failed: ${String(e)}`));
      }
    };
    const kills = async () => {
      // A and B take turns; C lives through the run (the memory baseline, the Redis cut).
      let next = KILL_EVERY_MS;
      for (let k = 0; ; k++) {
        await at(next);
        if (!creating) return;
        await killAndRestart(k % 2).catch((e: unknown) => fail(`kill/restart failed: ${String(e)}`));
        next = Math.max(next + KILL_EVERY_MS, now() - start);
      }
    };
    await Promise.all([memory(), oneOffs(), kills()]);
  }

  function recovery(f: Fault, at: number) {
    void firstCreateAfter(at).then((ok) => (f.recoveryMs = ok - at));
  }

  async function killAndRestart(i: number): Promise<void> {
    const at = now();
    const f: Fault = { what: `kill -9 replica ${cluster.replicas[i]!.name}`, atS: (at - start) / 1000 };
    faults.push(f);
    recovery(f, at);
    await cluster.kill(i);
    await cluster.restart(i);
    f.note = `restarted and healthy after ${((now() - at) / 1000).toFixed(1)} s`;
  }

  async function dropPostgres(): Promise<void> {
    const at = now();
    const f: Fault = { what: 'terminate every Postgres connection', atS: (at - start) / 1000 };
    faults.push(f);
    recovery(f, at);
    const c = new pg.Client({ connectionString: realDatabaseUrl });
    await c.connect();
    try {
      const r = await c.query<{ n: number }>(
        'select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
        [dbName],
      );
      f.note = `${r.rows[0]!.n} backends terminated`;
    } finally {
      await c.end();
    }
  }

  async function flushRedis(): Promise<void> {
    const at = now();
    const f: Fault = { what: `FLUSHDB Redis db ${redisDb}`, atS: (at - start) / 1000 };
    faults.push(f);
    recovery(f, at);
    await admin.flushdb();
  }

  async function cutRedis(): Promise<void> {
    const at = now();
    const i = LONG_LIVED;
    const f: Fault = {
      what: `cut replica ${cluster.replicas[i]!.name} off Redis ${(REDIS_CUT_MS / 1000).toFixed(0)} s`,
      atS: (at - start) / 1000,
    };
    faults.push(f);
    recovery(f, at);
    await redisProxies[i]!.cut();
    await pause(REDIS_CUT_MS);
    await redisProxies[i]!.restore();
    const back = now();
    // Ready again: its /readyz (which checks Redis) answers 200.
    for (;;) {
      const r = await request(cluster.proxy, 'GET', '/readyz', { replica: i }).catch(() => undefined);
      if (r?.status === 200) break;
      await pause(100);
    }
    f.note = `restored; /readyz 200 after ${(now() - back).toFixed(0)} ms`;
  }

  // ---------- run ----------
  const lives: Promise<void>[] = [];
  const approvers = Array.from({ length: APPROVERS }, () => approver());
  let creating = true;
  const chaosDone = chaos();
  // Progress, every 30 s: a long run shows where it is (and what it waits for).
  const progress = setInterval(() => {
    const made = ledger.filter((h) => h.id !== undefined).length;
    const final = ledger.filter((h) => h.answer !== undefined).length;
    console.log(
      `soak: t=${((now() - start) / 1000).toFixed(0)} s  created ${made}/${TOTAL}, answered ${final}, ` +
        `waiting for an approver ${approverQueue.length}`,
    );
  }, 30_000);
  const interval = DURATION_MS / TOTAL;
  for (let i = 0; i < TOTAL; i++) {
    const due = start + i * interval;
    if (due > now()) await pause(due - now());
    // Back-pressure: a cluster that falls behind gets no more than 200 creates in flight.
    while (inFlightCreates >= 200) await pause(20);
    const h: Ledger = {
      i,
      org: (i % AGENTS) % ORGS,
      plan: planOf(i),
      decision: i % 3 === 0 ? 'deny' : 'approve',
    };
    ledger.push(h);
    pendingLives++;
    lives.push(life(h).finally(() => pendingLives--));
  }
  const createdBy = now();
  creating = false;
  const drained = Promise.all(lives);
  const drainCapMs = Math.max(300_000, DURATION_MS);
  const cap = pause(drainCapMs).then(() => 'timeout' as const);
  loadDone = true;
  const outcome = await Promise.race([drained.then(() => 'ok' as const), cap]);
  const drainedAt = now();
  clearInterval(progress);
  if (outcome === 'timeout')
    fail(`the load did not drain within ${(drainCapMs / 1000).toFixed(0)} s after the last create`);
  for (const w of queueWaiters.splice(0)) w();
  await chaosDone;
  await Promise.race([Promise.all(approvers), pause(10_000)]);

  // ---------- memory at the end ----------
  const memoryEnd = new Map<number, { pid: number; rss: number }>();
  for (let i = 0; i < 3; i++) {
    const m = await memoryOf(i).catch(() => undefined);
    if (m !== undefined) memoryEnd.set(i, m);
  }

  // ---------- checks ----------
  const db = cluster.database.db;
  const rows = (
    await sql<{
      id: string;
      org_id: string;
      status: string;
    }>`select id, org_id, status from handoffs`.execute(db)
  ).rows;
  const byId = new Map(rows.map((r) => [r.id, r]));
  const ids = new Set(ledger.map((h) => h.id).filter((x): x is string => x !== undefined));
  if (rows.length !== ids.size)
    fail(`the database holds ${rows.length} handoffs, the agents created ${ids.size}`);
  let wrong = 0;
  let missing = 0;
  const outcomes = new Map<string, number>();
  for (const h of ledger) {
    const row = h.id !== undefined ? byId.get(h.id) : undefined;
    if (row === undefined || h.answer === undefined) {
      missing++;
      continue;
    }
    outcomes.set(`${h.plan} -> ${row.status}`, (outcomes.get(`${h.plan} -> ${row.status}`) ?? 0) + 1);
    if (!FINAL.has(row.status) || row.status !== h.answer) wrong++;
    if (
      h.actedAt !== undefined &&
      h.answeredAt !== undefined &&
      (h.plan === 'dashboard' || h.plan === 'slack')
    )
      wakeLatency.push(Math.max(0, h.answeredAt - h.actedAt));
  }
  if (missing > 0) fail(`${missing} handoffs without a final answer to their agent`);
  for (const h of ledger.filter((x) => x.answer === undefined || x.slackLost === true).slice(0, 10)) {
    const attempts =
      h.id === undefined
        ? []
        : (
            await sql<{ step: number; outcome: string }>`
              select step, outcome from escalation_attempts where handoff_id = ${h.id} order by step`.execute(
              db,
            )
          ).rows;
    const audit =
      h.id === undefined
        ? []
        : (
            await sql<{ action: string }>`
              select action from audit_events where subject_id = ${h.id} order by seq`.execute(db)
          ).rows;
    console.log(
      `  unfinished or without Slack message: #${h.i} ${h.plan} id ${h.id ?? '-'} db ${h.id ? byId.get(h.id)?.status : '-'} ` +
        `agent ${h.answer ?? '-'} acted ${h.actedAt !== undefined} steps [${attempts.map((a) => `${a.step}:${a.outcome}`).join(' ')}] ` +
        `audit [${audit.map((a) => a.action).join(' ')}]`,
    );
  }
  const slackLost = ledger.filter((h) => h.slackLost === true).length;
  // A Slack handoff whose first step never ran: where is its job? Active on a killed replica, pg-boss
  // hands it out again only after its expiry (a delay, not a loss); completed or failed without a
  // recorded attempt would be a loss.
  const delayedSteps: string[] = [];
  for (const h of ledger.filter((x) => x.slackLost === true && x.id !== undefined)) {
    const jobs = (
      await sql<{ state: string; retry_count: number; started_on: Date | null; expire_in: string }>`
        select state, retry_count, started_on, expire_in::text from pgboss.job
        where name = 'handoff-escalate' and data->>'handoff_id' = ${h.id!} and (data->>'step')::int = 0`.execute(
        db,
      )
    ).rows;
    const ran = (
      await sql<{ n: number }>`
        select count(*)::int as n from escalation_attempts where handoff_id = ${h.id!} and step = 0`.execute(
        db,
      )
    ).rows[0]!.n;
    if (ran > 0) continue; // it ran, its post failed (counted in the steps' outcomes)
    const j = jobs[0];
    delayedSteps.push(
      `#${h.i}: step 0 job ${j === undefined ? 'missing' : `${j.state}, retries ${j.retry_count}, started ${j.started_on?.toISOString() ?? '-'}, expires in ${j.expire_in}`}`,
    );
    if (j === undefined || j.state === 'completed' || j.state === 'failed')
      fail(`handoff #${h.i}: escalation step 0 lost (job ${j?.state ?? 'missing'}, no attempt recorded)`);
  }
  if (wrong > 0) fail(`${wrong} agents got an answer that differs from the database's final state`);

  const events = (
    await sql<{ subject_id: string; action: string; n: number }>`
      select subject_id, action, count(*)::int as n from audit_events
      where action in ('handoff.created', 'handoff.decided', 'handoff.expired', 'handoff.cancelled')
      group by subject_id, action`.execute(db)
  ).rows;
  const created = new Map<string, number>();
  const terminal = new Map<string, { n: number; action: string }>();
  for (const e of events) {
    if (e.action === 'handoff.created') created.set(e.subject_id, e.n);
    else {
      const t = terminal.get(e.subject_id);
      terminal.set(e.subject_id, { n: (t?.n ?? 0) + e.n, action: e.action });
    }
  }
  const actionFor: Record<Final, string> = {
    approved: 'handoff.decided',
    denied: 'handoff.decided',
    expired: 'handoff.expired',
    cancelled: 'handoff.cancelled',
  };
  let notOnce = 0;
  for (const r of rows) {
    const t = terminal.get(r.id);
    if (created.get(r.id) !== 1 || t?.n !== 1 || t.action !== actionFor[r.status as Final]) notOnce++;
  }
  if (notOnce > 0)
    fail(`${notOnce} handoffs not created and decided/expired/cancelled exactly once in the audit chain`);

  const steps = (
    await sql<{ org_id: string; handoff_id: string; step: number; n: number }>`
      select org_id, handoff_id, step, count(*)::int as n from escalation_attempts group by 1, 2, 3`.execute(
      db,
    )
  ).rows;
  const twice = steps.filter((s) => s.n > 1).length;
  if (twice > 0) fail(`${twice} escalation steps ran more than once`);
  const escalatedAudit = (
    await sql<{
      n: number;
    }>`select count(*)::int as n from audit_events where action = 'handoff.escalated'`.execute(db)
  ).rows[0]!.n;
  const stepRows = steps.reduce((a, s) => a + s.n, 0);
  if (escalatedAudit !== stepRows)
    fail(`${escalatedAudit} handoff.escalated entries for ${stepRows} escalation attempts`);

  // Each org's chain verifies with exactly its set-up entries + 2 per handoff + 1 per escalation step.
  const chains: string[] = [];
  for (let k = 0; k < ORGS; k++) {
    const org = orgs[k]!;
    org.admin = await retried('sign-in (checks)', () => signIn(cluster.proxy, org.adminEmail));
    const v = await retried('verify (checks)', () =>
      request(cluster.proxy, 'GET', '/v1/admin/audit/verify', { session: org.admin }),
    );
    const report = v.body as { ok: boolean; entries: number; bad_seq?: number; reason?: string };
    const orgId = org.admin.orgId;
    const handoffsHere = rows.filter((r) => r.org_id === orgId).length;
    const stepsHere = steps.filter((s) => s.org_id === orgId).reduce((a, s) => a + s.n, 0);
    const expected = org.baselineEntries + 2 * handoffsHere + stepsHere;
    if (v.status !== 200 || !report.ok)
      fail(
        `org ${org.slug}: audit chain does not verify (${report.reason ?? v.status}, seq ${report.bad_seq})`,
      );
    else if (report.entries !== expected)
      fail(`org ${org.slug}: ${report.entries} audit entries, expected ${expected}`);
    chains.push(`${report.ok ? 'ok' : 'BAD'} ${report.entries}`);
  }

  // Memory: RSS after a full GC, at the end vs at the mark, for each process alive at both.
  const memoryLines: string[] = [];
  for (let i = 0; i < 3; i++) {
    const a = memoryMark.get(i);
    const b = memoryEnd.get(i);
    const name = cluster.replicas[i]!.name;
    if (a === undefined || b === undefined || a.pid !== b.pid) {
      memoryLines.push(`${name}: restarted since the mark (${b ? mb(b.rss) : '-'} at the end), not compared`);
      continue;
    }
    const ratio = b.rss / a.rss;
    memoryLines.push(
      `${name}: ${mb(a.rss)} at the mark -> ${mb(b.rss)} at the end (${((ratio - 1) * 100).toFixed(1)}%)`,
    );
    if (ratio > 1.1) fail(`replica ${name}: RSS after GC grew ${((ratio - 1) * 100).toFixed(1)}% (> 10%)`);
  }
  if (!memoryMark.has(LONG_LIVED) || !memoryEnd.has(LONG_LIVED))
    fail('no memory reading of the long-lived replica');

  // ---------- report ----------
  const loadS = (createdBy - start) / 1000;
  const allS = (drainedAt - start) / 1000;
  const p = (xs: number[], q: number) => (xs.length === 0 ? undefined : percentile(xs, q));
  console.log('\n=== soak report ===');
  console.log(
    `handoffs            ${ledger.length} created in ${loadS.toFixed(1)} s (${(ledger.length / loadS).toFixed(1)}/s); all final after ${allS.toFixed(1)} s (${(ledger.length / allS).toFixed(1)}/s)`,
  );
  console.log(
    `create latency      p50 ${fmt(p(createLatency, 0.5))}  p99 ${fmt(p(createLatency, 0.99))}  (median ${fmt(createLatency.length ? median(createLatency) : undefined)}, max ${fmt(maxOf(createLatency))})`,
  );
  console.log(
    `decision -> wake    p50 ${fmt(p(wakeLatency, 0.5))}  p99 ${fmt(p(wakeLatency, 0.99))}  (${wakeLatency.length} decisions, max ${fmt(wakeLatency.length ? maxOf(wakeLatency) : undefined)})`,
  );
  console.log(
    `outcomes            ${[...outcomes]
      .sort()
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ')}`,
  );
  console.log(
    `escalation steps    ${stepRows} run, ${twice} twice; ${escalatedAudit} handoff.escalated entries; ` +
      `${slackLost} Slack handoffs whose message never appeared`,
  );
  for (const d of delayedSteps) console.log(`  delayed escalation ${d}`);
  console.log(`audit chains        ${chains.join(' | ')}`);
  console.log('errors by kind (each retried):');
  if (errors.size === 0) console.log('  none');
  for (const [k, n] of [...errors].sort((a, b) => b[1] - a[1]))
    console.log(`  ${String(n).padStart(6)}  ${k}`);
  console.log('faults (recovery = from the fault to the first create started after it that succeeded):');
  for (const f of faults)
    console.log(
      `  t=${f.atS.toFixed(1).padStart(6)} s  ${f.what.padEnd(40)} recovery ${fmt(f.recoveryMs).padStart(8)}  ${f.note ?? ''}`,
    );
  console.log('memory (RSS after a full GC through the inspector):');
  for (const l of memoryLines) console.log(`  ${l}`);
  console.log(
    failures.length === 0 ? 'invariants: all held' : `invariants BROKEN:\n  ${failures.join('\n  ')}`,
  );
} catch (err) {
  console.error('soak: aborted:', err);
  exitCode = 1;
} finally {
  await cluster.close().catch((e: unknown) => console.error('soak: closing the cluster:', e));
  await admin.flushdb().catch(() => undefined);
  admin.disconnect();
  await Promise.all(redisProxies.map((r) => r.close()));
  await fake.close();
}
process.exit(exitCode);

// ---------- helpers ----------
/** Runs `fn` until it resolves (at most 20 tries): the checks at the end ride out a slow or reset connection. */
async function retried<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let k = 0; ; k++) {
    try {
      return await fn();
    } catch (e) {
      if (k >= 20) throw e;
      countError(errorKind(what, e));
      await pause(500);
    }
  }
}

function maxOf(xs: readonly number[]): number {
  return xs.reduce((a, b) => Math.max(a, b), -Infinity);
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function setUpOrg(
  k: number,
  slug: string,
  adminEmail: string,
  actions: {
    linkWithCode(channel: string, code: string, identity: string, label: string): Promise<{ ok: boolean }>;
  },
): Promise<Org> {
  const proxy = cluster.proxy;
  const adminSession = await signIn(proxy, adminEmail);
  const must = (r: { status: number; body: unknown }, want: number, what: string) => {
    if (r.status !== want) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as Record<string, string>;
  };
  const approverEmail = `approver@${slug}.test`;
  const invite = must(
    await request(proxy, 'POST', '/v1/admin/invites', {
      body: { email: approverEmail, role: 'member' },
      session: adminSession,
    }),
    201,
    'invite',
  );
  must(
    await request(proxy, 'POST', '/v1/invites/accept', {
      body: { token: invite.token, name: `Approver ${k}`, password: PASSWORD },
    }),
    201,
    'accept',
  );
  const approver = await signIn(proxy, approverEmail);
  const slackUser: SlackUser = {
    teamId: TEAM,
    userId: `U0SOAK${String(k).padStart(4, '0')}`,
    name: `approver${k}`,
  };
  const code = must(
    await request(proxy, 'POST', '/v1/me/channel-links/codes', {
      body: { channel: 'slack' },
      session: approver,
    }),
    201,
    'link code',
  );
  // What the bot does with `/start <code>`: link the Slack identity to the member who asked for the code.
  const linked = await actions.linkWithCode(
    'slack',
    code.code!,
    `${TEAM}:${slackUser.userId}`,
    slackUser.name,
  );
  if (!linked.ok) throw new Error(`slack link failed for ${slug}`);
  must(
    await request(proxy, 'PUT', '/v1/admin/policies', {
      body: {
        escalation_policy: {
          levels: {
            medium: {
              rule: 'approve',
              steps: [
                { after_s: 0, channel: 'slack', targets: 'all' },
                { after_s: 5, channel: 'console', targets: 'all' },
              ],
            },
          },
        },
      },
      session: adminSession,
    }),
    200,
    'policy',
  );
  const devices: string[] = [];
  for (let a = k; a < AGENTS; a += ORGS) {
    const d = must(
      await request(proxy, 'POST', '/v1/admin/devices', {
        body: { name: `agent-${a}` },
        session: adminSession,
      }),
      201,
      'device',
    );
    devices.push(d.token!);
  }
  const v = must(
    await request(proxy, 'GET', '/v1/admin/audit/verify', { session: adminSession }),
    200,
    'verify',
  ) as unknown as {
    entries: number;
  };
  return {
    slug,
    adminEmail,
    admin: adminSession,
    approver,
    approverEmail,
    slackUser,
    devices,
    baselineEntries: v.entries,
  };
}

/** A replica's RSS after a full GC, through its inspector (`--inspect=127.0.0.1:0`, URL from its output). */
async function memoryOf(i: number): Promise<{ pid: number; rss: number }> {
  const r = cluster.replicas[i]!;
  const url = [...r.process.output().matchAll(/Debugger listening on (ws:\/\/\S+)/g)].at(-1)?.[1];
  const pid = r.process.child.pid;
  if (url === undefined || pid === undefined) throw new Error(`replica ${r.name} has no inspector URL`);
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  let id = 0;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const mine = ++id;
      const onMessage = (data: WebSocket.RawData) => {
        const msg = JSON.parse(String(data)) as {
          id?: number;
          result?: Record<string, unknown>;
          error?: unknown;
        };
        if (msg.id !== mine) return;
        ws.off('message', onMessage);
        if (msg.error !== undefined) reject(new Error(JSON.stringify(msg.error)));
        else resolve(msg.result ?? {});
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id: mine, method, params }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    const res = await call('Runtime.evaluate', {
      expression: 'process.memoryUsage().rss',
      returnByValue: true,
    });
    return { pid, rss: Number((res.result as { value: number }).value) };
  } finally {
    ws.close();
  }
}
