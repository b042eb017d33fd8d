/**
 * Three `ony serve` processes in production mode on one Postgres and one Redis, behind a
 * round-robin proxy (issue #19 §1): what one replica writes, the others see; what must run once
 * runs once; what throttles is shared; a replica killed under a waiting agent costs it nothing.
 * Postgres + Redis only (embedded mode is one process).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@ony/client';
import { startFakeSlack, type FakeSlack, type SlackUser } from '../fakes/slack.js';
import { realDatabaseUrl, realRedisUrl } from '../helpers/db.js';
import { request, setUpOrg, startCluster, type Cluster, type Session } from '../helpers/replicas.js';

const A = 0;
const B = 1;
const C = 2;

let cluster: Cluster;
let admin: Session;
let deviceToken: string;
/** The Slack every replica talks to (ONY_SLACK_* below), and that signs the clicks it sends back. */
let slack: FakeSlack;

/** A medium-risk deploy: pending until a member decides (the default policy asks for medium). */
const DEPLOY = {
  action: { type: 'deploy', target: 'web-staging' },
  title: 'deploy web to staging',
  payload: { kind: 'command', content: 'kubectl rollout restart deployment/web -n staging' },
};

/** A high-risk deploy: pending, and (once the Slack test sets the policy) asked on Slack. */
const PROD_DEPLOY = {
  action: { type: 'deploy', target: 'production' },
  title: 'deploy api to production',
  payload: { kind: 'command', content: 'kubectl rollout restart deployment/api -n production' },
};

/** The admin's Slack account, in the fake's default workspace (the server's own bot). */
const SLACK_ADMIN: SlackUser = { teamId: 'T0FAKE001', userId: 'U0ADMIN01', name: 'admin.s' };

async function createPending(replica?: number): Promise<{ id: string; short_code: string }> {
  const res = await request(cluster.proxy, 'POST', '/v1/handoffs', {
    body: DEPLOY,
    bearer: deviceToken,
    ...(replica !== undefined && { replica }),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const h = res.body as { id: string; short_code: string; status: string };
  expect(h.status).toBe('pending');
  return h;
}

const decide = (id: string, option: 'approve' | 'deny', replica: number) =>
  request(cluster.proxy, 'POST', `/v1/handoffs/${id}/decision`, {
    body: { decision: option },
    session: admin,
    replica,
  });

const enabled = realDatabaseUrl !== undefined && realRedisUrl !== undefined;

beforeAll(async () => {
  if (!enabled) return;
  slack = await startFakeSlack();
  cluster = await startCluster(3, {
    ONY_LOGIN_DELAY_BASE_SECONDS: '600',
    ONY_LOGIN_DELAY_MAX_SECONDS: '600',
    // Slack over HTTP (the default mode): the policy's steps decide who is asked there; the
    // default policy asks only on the console, so the other tests see no Slack message.
    ONY_SLACK_BOT_TOKEN: slack.botToken,
    ONY_SLACK_SIGNING_SECRET: slack.signingSecret,
    ONY_SLACK_CHANNEL: '#approvals',
    ONY_SLACK_API_URL: slack.apiUrl,
  });
  admin = await setUpOrg(cluster);
  const device = await request(cluster.proxy, 'POST', '/v1/admin/devices', {
    body: { name: 'agent-1' },
    session: admin,
  });
  expect(device.status, JSON.stringify(device.body)).toBe(201);
  deviceToken = (device.body as { token: string }).token;
}, 300_000);
afterAll(async () => {
  await cluster?.close();
  await slack?.close();
});

describe.skipIf(!enabled)('three replicas behind a proxy', () => {
  it('a long-poll on A wakes on a decision made through B, and an SSE stream on C sees it', async () => {
    const wakes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const h = await createPending(A);
      // The stream on C: it reads events until it has seen this handoff decided.
      const stream = await fetch(`${cluster.proxy.url}/v1/handoffs/${h.id}/events`, {
        headers: { cookie: admin.cookie, 'x-ony-replica': String(C) },
      });
      expect(stream.status).toBe(200);
      await parked(h.id, 1);
      const reader = stream.body!.getReader();
      const sawDecision = (async () => {
        let text = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return false;
          text += new TextDecoder().decode(value);
          if (text.includes('"status":"approved"')) return true;
        }
      })();
      // The agent's long-poll on A, parked before the decision (the second subscriber of the
      // handoff's wake-up channel, after C's stream).
      const wait = request(cluster.proxy, 'GET', `/v1/handoffs/${h.id}?wait=60`, {
        bearer: deviceToken,
        replica: A,
      }).then((r) => ({ r, at: performance.now() }));
      await parked(h.id, 2);
      const decided = await decide(h.id, 'approve', B);
      const answeredAt = performance.now();
      expect(decided.status, JSON.stringify(decided.body)).toBe(200);
      const { r, at } = await wait;
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ id: h.id, status: 'approved' });
      wakes.push(Math.max(0, at - answeredAt));
      expect(await sawDecision).toBe(true);
      await reader.cancel();
    }
    const sorted = [...wakes].sort((x, y) => x - y);
    console.log(
      `decision on B -> long-poll on A answered: median ${sorted[5]!.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (10 handoffs)`,
    );
  });

  it('a Slack click arriving at C decides a handoff created through A, once; the agent waiting on B gets it; a forged click changes nothing', async () => {
    // High-risk handoffs go to Slack (the channel, and a DM to each linked approver).
    const put = await request(cluster.proxy, 'PUT', '/v1/admin/policies', {
      body: {
        escalation_policy: {
          levels: { high: { rule: 'approve', steps: [{ after_s: 0, channel: 'slack', targets: 'all' }] } },
        },
      },
      session: admin,
      replica: A,
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const created = await request(cluster.proxy, 'POST', '/v1/handoffs', {
      body: PROD_DEPLOY,
      bearer: deviceToken,
      replica: A,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const h = created.body as { id: string; status: string; risk: { level: string } };
    expect(h.status).toBe('pending');

    // Whichever replica ran the escalation job posted to the channel; its message ref is recorded.
    const ref = await value(async () => {
      const rows = (
        await sql<{ ref: string }>`
          select ref from channel_messages where handoff_id = ${h.id} and channel = 'slack'`.execute(
          cluster.database.db,
        )
      ).rows;
      return rows.map((r) => r.ref).find((r) => r.startsWith('C') && slack.messages.has(r));
    }, 'the Slack channel message');

    // The agent waits on B.
    let answered = false;
    const wait = request(cluster.proxy, 'GET', `/v1/handoffs/${h.id}?wait=60`, {
      bearer: deviceToken,
      replica: B,
    }).finally(() => (answered = true));
    await parked(h.id, 1);

    const clickTo = (replica: number, signed: { body: string; headers: Record<string, string> }) =>
      fetch(`${cluster.proxy.url}/webhooks/slack/interactions`, {
        method: 'POST',
        headers: { ...signed.headers, 'x-ony-replica': String(replica) },
        body: signed.body,
      }).then(async (r) => ({ status: r.status, body: await r.text() }));
    const decidedEntries = async () =>
      (
        await sql<{ n: number }>`
          select count(*)::int as n from audit_events
          where subject_id = ${h.id} and action = 'handoff.decided'`.execute(cluster.database.db)
      ).rows[0]!.n;
    const statusOnC = async () =>
      (
        (await request(cluster.proxy, 'GET', `/v1/handoffs/${h.id}`, { bearer: deviceToken, replica: C }))
          .body as {
          status: string;
        }
      ).status;

    // Forged: signed with another secret (403), or not signed at all (401). Nothing changes.
    const forged = slack.signed(slack.clickPayload(ref, SLACK_ADMIN, 'approve'), {
      secret: 'not-the-signing-secret-0123456789',
    });
    expect((await clickTo(C, forged)).status).toBe(403);
    const unsigned = slack.signed(slack.clickPayload(ref, SLACK_ADMIN, 'approve'));
    expect(
      (
        await clickTo(C, {
          body: unsigned.body,
          headers: { 'content-type': unsigned.headers['content-type'] },
        })
      ).status,
    ).toBe(401);
    expect(await statusOnC()).toBe('pending');
    expect(await decidedEntries()).toBe(0);
    expect(answered).toBe(false);

    // The admin's Slack account is not linked yet: C answers with a one-time link (kept in Redis),
    // which the admin confirms through A.
    const ephemeralsBefore = slack.ephemerals.length;
    const unlinked = await clickTo(C, slack.signed(slack.clickPayload(ref, SLACK_ADMIN, 'approve')));
    expect(unlinked.status).toBe(200);
    const claim = await value(
      () =>
        slack.ephemerals
          .slice(ephemeralsBefore)
          .map((e) => /\/link\/([A-Za-z0-9_-]{32})/.exec(JSON.stringify(e))?.[1])
          .find((t) => t !== undefined),
      'the claim link in an ephemeral reply',
    );
    const confirm = await fetch(`${cluster.proxy.url}/link/${claim}`, {
      method: 'POST',
      headers: {
        cookie: admin.cookie,
        'content-type': 'application/x-www-form-urlencoded',
        'x-ony-replica': String(A),
      },
      body: new URLSearchParams({ csrf: admin.csrf }).toString(),
    });
    expect(confirm.status, await confirm.text()).toBe(200);
    expect(await statusOnC()).toBe('pending');
    expect(answered).toBe(false);

    // The click, signed as Slack signs it, lands on C and decides. The Deny click for later is
    // made now, from the message as it is: once decided, the message loses its buttons.
    const click = slack.signed(slack.clickPayload(ref, SLACK_ADMIN, 'approve'));
    const denyAfter = slack.signed(slack.clickPayload(ref, SLACK_ADMIN, 'deny'));
    expect((await clickTo(C, click)).status).toBe(200);
    const { status, body } = await wait;
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: h.id, status: 'approved' });

    // Slack retries the same delivery on other replicas: acknowledged, ignored (the replay guard
    // is in Postgres, shared by every replica).
    for (const replica of [A, B, C]) expect((await clickTo(replica, click)).status).toBe(200);
    // Another click of the button after the decision: nothing to decide.
    expect((await clickTo(B, denyAfter)).status).toBe(200);
    expect(await statusOnC()).toBe('approved');
    expect(await decidedEntries()).toBe(1);
    const decided = (
      await sql<{ channel: string | null }>`
        select meta->>'channel' as channel from audit_events
        where subject_id = ${h.id} and action = 'handoff.decided'`.execute(cluster.database.db)
    ).rows;
    expect(decided).toEqual([{ channel: 'slack' }]);
  });

  it('runs each escalation once across the replicas', async () => {
    const handoffs = await Promise.all(Array.from({ length: 12 }, () => createPending()));
    // The console channel writes "approval needed [CODE]" on whichever replica ran the job.
    const lines = (code: string) =>
      cluster.replicas.reduce((n, r) => n + r.output().split(`approval needed [${code}]`).length - 1, 0);
    const attempts = () =>
      sql<{ handoff_id: string; n: number }>`
        select handoff_id, count(*)::int as n from escalation_attempts
        where handoff_id = any(${handoffs.map((h) => h.id)}::uuid[]) and step = 0 group by handoff_id`
        .execute(cluster.database.db)
        .then((r) => r.rows);
    await until(async () => (await attempts()).length === handoffs.length, 'every first escalation step');
    for (const row of await attempts()) expect(row.n).toBe(1);
    for (const h of handoffs) expect(lines(h.short_code)).toBe(1);
    // Every replica ran some: the work is shared, not pinned to one.
    const ran = cluster.replicas.filter((r) => /approval needed \[/.test(r.output()));
    expect(ran.length).toBeGreaterThanOrEqual(1);
  });

  it('holds one next run of the daily retention sweep and the checkpoint tick, however many replicas started', async () => {
    // Every replica enqueues the next run at start; the singleton key (its day, its slot) keeps one.
    const jobs = await sql<{ name: string; singleton_key: string; n: number }>`
      select name, singleton_key, count(*)::int as n from pgboss.job
      where name in ('retention-sweep', 'audit-checkpoint-tick') and state in ('created', 'retry', 'active')
      group by name, singleton_key`.execute(cluster.database.db);
    expect(jobs.rows.map((j) => j.name).sort()).toEqual(['audit-checkpoint-tick', 'retention-sweep']);
    for (const j of jobs.rows) expect(j.n, `${j.name} ${j.singleton_key}`).toBe(1);
  });

  it('shares the login throttle: failures spread over the replicas add up', async () => {
    // The cluster allows 3 free failures per (account, address), then a 10-minute delay: one
    // failure on each replica exhausts them only if the replicas count together.
    const email = `nobody-${randomUUID()}@cluster.test`;
    const attempt = (replica: number) =>
      fetch(`${cluster.proxy.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-ony-replica': String(replica) },
        body: JSON.stringify({ email, password: 'a wrong password' }),
      }).then((r) => r.status);
    const statuses: number[] = [];
    for (const replica of [A, B, C, A, B, C]) statuses.push(await attempt(replica));
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
  });

  it('an agent whose connection the proxy drops reconnects and gets the decision; a stalled replica holds only its own requests', async () => {
    const client = createClient({ baseUrl: cluster.proxy.url, token: deviceToken });
    const h = await createPending(A);
    cluster.proxy.down.add(B);
    cluster.proxy.down.add(C);
    const waiting = client.waitForDecision(h.id, { timeoutMs: 120_000 });
    await parked(h.id, 1);
    cluster.proxy.down.clear();
    // The load balancer cuts every connection to A (A itself lives on).
    cluster.proxy.drop(A);
    // B stalls: a decision sent to it waits in the proxy; C answers meanwhile.
    cluster.proxy.stall(B);
    const held = decide(h.id, 'approve', B);
    const view = await request(cluster.proxy, 'GET', `/v1/handoffs/${h.id}`, {
      bearer: deviceToken,
      replica: C,
    });
    expect(view.body).toMatchObject({ status: 'pending' });
    cluster.proxy.release(B);
    expect((await held).status).toBe(200);
    expect(await waiting).toMatchObject({ id: h.id, status: 'approved' });
  });

  it('an agent waiting through a replica that is killed reconnects and still gets the decision', async () => {
    const client = createClient({ baseUrl: cluster.proxy.url, token: deviceToken });
    const h = await createPending(A);
    // Every new request goes to A until it dies: the wait parks there.
    cluster.proxy.down.add(B);
    cluster.proxy.down.add(C);
    const waiting = client.waitForDecision(h.id, { timeoutMs: 120_000 });
    await parked(h.id, 1);
    cluster.proxy.down.delete(B);
    cluster.proxy.down.delete(C);
    await cluster.kill(A);
    const decided = await decide(h.id, 'deny', B);
    expect(decided.status, JSON.stringify(decided.body)).toBe(200);
    const result = await waiting;
    expect(result).toMatchObject({ id: h.id, status: 'denied' });
    await cluster.restart(A);
    expect((await request(cluster.proxy, 'GET', '/healthz', { replica: A })).status).toBe(200);
    // Restarting a replica (a new process: source transform, database, job queue) takes a while.
  }, 180_000);
});

/** Polls until `check` holds (events, not time: the cap is only a safety net). */
async function until(check: () => boolean | Promise<boolean>, what: string, capMs = 60_000): Promise<void> {
  const deadline = Date.now() + capMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls until `fn` answers something (the first answer wins; the cap is only a safety net). */
async function value<T>(fn: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  let found: T | undefined;
  await until(async () => (found = await fn()) !== undefined, what);
  return found!;
}

/**
 * Waits until `n` replicas listen for the handoff's wake-up (a parked long-poll or an open stream):
 * each replica's subscription shows in Redis's PUBSUB NUMSUB for the handoff's channel.
 */
async function parked(id: string, n: number): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(realRedisUrl!);
  try {
    await until(async () => {
      const [, count] = (await redis.pubsub('NUMSUB', `ony:handoff:${id}`)) as [string, number];
      return Number(count) >= n;
    }, `a long-poll parked on ${id}`);
  } finally {
    redis.disconnect();
  }
}
