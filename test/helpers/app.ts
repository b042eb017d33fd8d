/**
 * A real server for one test file: the real container and buildApp over a fresh database (PGlite or
 * Postgres) and the memory or Redis store, with a clock the test can move. Requests go through
 * Fastify's inject (the full HTTP pipeline without a socket).
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createContainer, type Container } from '../../src/container.js';
import { buildApp } from '../../src/http/app.js';
import type { AppInstance } from '../../src/http/app-types.js';
import type { Clock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { createMemoryStore, createRedisStore, type EphemeralStore } from '../../src/state/store.js';
import { freshDatabase, realRedisUrl, type TestDatabase } from './db.js';

export class TestClock implements Clock {
  constructor(private t = Date.now()) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
  /** Back to the wall clock (for tests that meet the database's own clock, like job start times). */
  sync(): void {
    this.t = Date.now();
  }
}

export interface TestServer {
  readonly app: AppInstance;
  readonly container: Container;
  readonly database: TestDatabase;
  readonly clock: TestClock;
  /** Every log line the server wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  /**
   * Loses every key of the ephemeral store, as a Redis restart or FLUSHDB would: in Redis mode the
   * keys under this server's own prefix are deleted (never another test's), in memory mode the
   * entries are dropped. Subscriptions survive, as they do on a real FLUSHDB.
   */
  wipeStore(): Promise<void>;
  /** The key prefix of this server's Redis store (real mode), so a replica can share it. */
  readonly storePrefix: string;
  close(): Promise<void>;
}

/**
 * The memory store behind a handle whose entries can be lost at once (`wipe`): the key-value
 * methods go to the current memory store, publish/subscribe to the first one.
 */
function wipeableMemoryStore(now: () => number): { store: EphemeralStore; wipe(): Promise<void> } {
  const pubsub = createMemoryStore(now);
  let kv = pubsub;
  const store: EphemeralStore = {
    kind: 'memory',
    hit: (k, w) => kv.hit(k, w),
    peek: (k) => kv.peek(k),
    get: (k) => kv.get(k),
    set: (k, v, t) => kv.set(k, v, t),
    claim: (k, v, t) => kv.claim(k, v, t),
    del: (k) => kv.del(k),
    take: (k) => kv.take(k),
    ping: () => kv.ping(),
    publish: (c, m) => pubsub.publish(c, m),
    subscribe: (c, h) => pubsub.subscribe(c, h),
    async close() {
      await Promise.all([kv.close(), pubsub.close()]);
    },
  };
  return {
    store,
    async wipe() {
      const old = kv;
      kv = createMemoryStore(now);
      if (old !== pubsub) await old.close();
    },
  };
}

/** Deletes every key under `prefix` (SCAN + DEL on its own connection). */
async function wipeRedisPrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (found.length > 0) await redis.del(...found);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

export async function startTestServer(
  env: Record<string, string> = {},
  opts: { database?: TestDatabase; store?: EphemeralStore } = {},
): Promise<TestServer> {
  const database = opts.database ?? (await freshDatabase());
  const config: Config = loadConfig({
    ONY_MASTER_KEY: randomBytes(32).toString('base64'),
    ONY_PUBLIC_URL: 'https://ony.test',
    ONY_LOG_LEVEL: 'info',
    ONY_MIGRATE_ON_START: 'false',
    ONY_RATE_LIMIT_PER_MINUTE: '100000',
    ONY_LOGIN_MAX_FAILURES_PER_IP: '1000',
    // No automatic checkpoints unless a test asks (test/audit/witness.test.ts): none appear mid-test.
    ONY_AUDIT_WITNESS_EVERY: '0',
    ONY_AUDIT_WITNESS_INTERVAL_MS: '0',
    ...env,
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const clock = new TestClock();
  const storePrefix = `ony-test-${randomBytes(4).toString('hex')}:`;
  const memory = realRedisUrl || opts.store ? undefined : wipeableMemoryStore(() => clock.now().getTime());
  const store =
    opts.store ?? (realRedisUrl ? await createRedisStore(realRedisUrl, storePrefix) : memory!.store);
  const container = await createContainer(config, {
    database: database.runtime,
    ownerDatabase: database,
    store,
    clock,
    logger: createLogger('info', sink),
    jobPollingSeconds: 0.5,
  });
  await container.startWorkers();
  const app = await buildApp(container);
  await app.ready();
  return {
    app,
    container,
    database,
    clock,
    logs,
    wipeStore: () => (memory !== undefined ? memory.wipe() : wipeRedisPrefix(realRedisUrl!, storePrefix)),
    storePrefix,
    async close() {
      await app.close();
      await container.close();
    },
  };
}

/**
 * A second replica of `t`: its own container and app over the same database and ephemeral state
 * (in real mode its own Redis connection with the same prefix; embedded, the same memory store, the
 * only way one process can share it). No job workers. Closing it leaves `t` running.
 */
export async function startReplica(
  t: TestServer,
): Promise<{ app: AppInstance; container: Container; close(): Promise<void> }> {
  const database = { ...t.database.runtime, close: async () => undefined };
  const store = realRedisUrl
    ? await createRedisStore(realRedisUrl, t.storePrefix)
    : { ...t.container.store, close: async () => undefined };
  const container = await createContainer(t.container.config, {
    database,
    store,
    clock: t.clock,
    logger: createLogger('silent'),
    skipMigrations: true,
  });
  const app = await buildApp(container);
  await app.ready();
  return {
    app,
    container,
    async close() {
      await app.close();
      await container.close();
    },
  };
}

/** A signed-in member as a test drives them: the cookie and the CSRF token to send on writes. */
export interface Actor {
  readonly orgId: string;
  readonly memberId: string;
  readonly cookie: string;
  readonly csrf: string;
}

export function sessionCookieOf(res: LightMyRequestResponse): string {
  const c = res.cookies.find((x) => x.name === 'ony_session');
  if (!c) throw new Error(`no session cookie in answer ${res.statusCode}: ${res.body}`);
  return `ony_session=${c.value}`;
}

export const PASSWORD = 'correct horse battery staple';

/** Creates an org with an admin through the operator path and signs the admin in. */
export async function createOrgWithAdmin(
  t: TestServer,
  slug: string,
  email = `admin@${slug}.test`,
): Promise<Actor> {
  await t.container.setup.createOrg({
    orgName: slug,
    slug,
    admin: { email, name: `Admin of ${slug}`, password: PASSWORD },
  });
  return login(t, email);
}

export async function login(
  t: TestServer,
  email: string,
  password = PASSWORD,
  extra: Record<string, string> = {},
): Promise<Actor> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email, password, ...extra },
  });
  if (res.statusCode !== 200) throw new Error(`login failed ${res.statusCode}: ${res.body}`);
  const body = res.json<{ org_id: string; member_id: string; csrf_token: string }>();
  return {
    orgId: body.org_id,
    memberId: body.member_id,
    cookie: sessionCookieOf(res),
    csrf: body.csrf_token,
  };
}

/** Invites someone with a role and accepts the invite; answers the new member, signed in. */
export async function addMember(
  t: TestServer,
  admin: Actor,
  email: string,
  role: 'admin' | 'member' | 'viewer',
): Promise<Actor> {
  const inv = await as(t, admin, 'POST', '/v1/admin/invites', { email, role });
  if (inv.statusCode !== 201) throw new Error(`invite failed: ${inv.body}`);
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/invites/accept',
    payload: { token: inv.json<{ token: string }>().token, name: email.split('@')[0], password: PASSWORD },
  });
  if (res.statusCode !== 201) throw new Error(`accept failed: ${res.body}`);
  const body = res.json<{ org_id: string; member_id: string; csrf_token: string }>();
  return {
    orgId: body.org_id,
    memberId: body.member_id,
    cookie: sessionCookieOf(res),
    csrf: body.csrf_token,
  };
}

/** A request as a signed-in member, with the CSRF header on writes. */
export function as(
  t: TestServer,
  actor: Actor,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT',
  url: string,
  payload?: unknown,
) {
  return t.app.inject({
    method,
    url,
    headers: { cookie: actor.cookie, ...(method !== 'GET' && { 'x-csrf-token': actor.csrf }) },
    ...(payload !== undefined && { payload: payload as Record<string, unknown> }),
  });
}

/**
 * The body of a web approval with the typed confirmation a critical handoff needs
 * (`confirm_short_code`, docs/handoffs.md): reads the handoff's short code as the member.
 */
export async function confirmed(
  t: TestServer,
  actor: Actor,
  id: string,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const h = (await as(t, actor, 'GET', `/v1/handoffs/${id}`)).json<{ short_code?: string }>();
  return h.short_code !== undefined ? { confirm_short_code: h.short_code, ...body } : body;
}
