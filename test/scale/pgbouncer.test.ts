/**
 * Two replicas whose runtime connections go through PgBouncer in transaction mode (issue #19 §2),
 * migrations direct (they take a session advisory lock; `ONY_MIGRATE_DATABASE_URL` or `ony migrate`
 * with the owner's direct URL). What ony needs per request holds per transaction: `SET LOCAL ROLE`,
 * `set_config(…, true)`, transaction advisory locks; it prepares no named statements and uses no
 * LISTEN/NOTIFY (wake-ups go through Redis). Proven end to end: creates, cross-replica decisions,
 * escalation jobs run once, and the audit chain verifies.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realDatabaseUrl, realRedisUrl } from '../helpers/db.js';
import { PGBOUNCER, hasPgbouncer, startPgbouncer, type Pgbouncer } from '../helpers/pgbouncer.js';
import { request, setUpOrg, startCluster, type Cluster, type Session } from '../helpers/replicas.js';

const enabled = realDatabaseUrl !== undefined && realRedisUrl !== undefined && hasPgbouncer;

let pooler: Pgbouncer | undefined;
let cluster: Cluster;
let admin: Session;
let token: string;

beforeAll(async () => {
  if (!enabled) return;
  cluster = await startCluster(2, {}, async (database) => {
    pooler = await startPgbouncer(database.runtimeUrl!);
    return pooler.url;
  });
  admin = await setUpOrg(cluster, 'admin@pooled.test');
  const device = await request(cluster.proxy, 'POST', '/v1/admin/devices', {
    body: { name: 'pooled-agent' },
    session: admin,
  });
  expect(device.status, JSON.stringify(device.body)).toBe(201);
  token = (device.body as { token: string }).token;
}, 300_000);
afterAll(async () => {
  await cluster?.close();
  await pooler?.close();
});

describe.runIf(realDatabaseUrl !== undefined && process.env.ONY_REQUIRE_PGBOUNCER === '1')('CI', () => {
  it(`has PgBouncer at ${PGBOUNCER} (.ci/run installs it)`, () => expect(hasPgbouncer).toBe(true));
});

describe.skipIf(!enabled)('replicas through PgBouncer in transaction mode', () => {
  it('creates, decides across replicas, escalates once and keeps a verifiable audit chain', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const created = await request(cluster.proxy, 'POST', '/v1/handoffs', {
        bearer: token,
        replica: i % 2,
        body: {
          action: { type: 'deploy', target: `web-staging-${i}` },
          title: `deploy ${i}`,
          payload: { kind: 'command', content: 'kubectl rollout restart deployment/web -n staging' },
        },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body).toMatchObject({ status: 'pending' });
      ids.push((created.body as { id: string }).id);
    }
    // A long-poll on replica 0 and the decision through replica 1.
    const waiting = request(cluster.proxy, 'GET', `/v1/handoffs/${ids[0]}?wait=60`, {
      bearer: token,
      replica: 0,
    });
    const decided = await request(cluster.proxy, 'POST', `/v1/handoffs/${ids[0]}/decision`, {
      body: { decision: 'approve' },
      session: admin,
      replica: 1,
    });
    expect(decided.status, JSON.stringify(decided.body)).toBe(200);
    expect((await waiting).body).toMatchObject({ status: 'approved' });

    const attempts = () =>
      sql<{ n: number }>`
        select count(*)::int as n from escalation_attempts where handoff_id = any(${ids}::uuid[]) and step = 0`
        .execute(cluster.database.db)
        .then((r) => r.rows[0]!.n);
    const deadline = Date.now() + 60_000;
    while ((await attempts()) < ids.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await attempts()).toBe(ids.length);

    const verify = await request(cluster.proxy, 'GET', '/v1/admin/audit/verify', { session: admin });
    expect(verify.body).toMatchObject({ ok: true });
    // The replicas really went through the pooler: it logged their logins.
    expect(pooler!.output()).toMatch(/login attempt: db=\S+ user=/);
  });
});
