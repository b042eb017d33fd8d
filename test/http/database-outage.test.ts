/**
 * Issue #18 item 4.2: while Postgres is unreachable, every route answers 503 problem+json with
 * Retry-After (never 500) and changes nothing, and an approver who taps a Telegram button is told
 * to try again. The outage is real: the server reaches Postgres through a TCP proxy that the test
 * cuts (the port refuses new connections and the open ones are reset) and restores.
 *
 * Real mode only: the embedded mode (PGlite) has no network database to lose. The classification
 * of database errors is unit-tested in src/lib/db-unavailable.test.ts, in every mode.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUSAL_TEXT } from '../../src/channels/telegram/render.js';
import { connectPostgres } from '../../src/db/client.js';
import { startFakeTelegram, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { freshPostgres, realDatabaseUrl, type TestDatabase } from '../helpers/db.js';
import { startTcpProxy, type TcpProxy } from '../helpers/net.js';

const TOKEN = '7000001:AAHfakeTokenForTestsOnly_0123456789';
const SECRET = 'webhook-secret_for-tests-0123456789';
const ALICE: FakeUser = { id: 2001, first_name: 'Alice', username: 'alice_outage' };

describe.skipIf(realDatabaseUrl === undefined)(
  'a database outage (real Postgres behind a TCP proxy; skipped in embedded mode: PGlite has no network to lose)',
  () => {
    let fresh: TestDatabase;
    let proxy: TcpProxy;
    let fake: FakeTelegram;
    let t: TestServer;
    let admin: Actor;
    let alice: Actor;
    let device: string;

    beforeAll(async () => {
      fresh = await freshPostgres(realDatabaseUrl!);
      const target = new URL(fresh.runtimeUrl!);
      proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
      // The server's runtime login goes through the proxy; the owner handle (migrations) does not.
      const viaProxy = new URL(fresh.runtimeUrl!);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const proxied = connectPostgres(viaProxy.toString(), 5);
      const close = async (): Promise<void> => {
        await proxied.close();
        await proxy.close();
        await fresh.close();
      };
      const database: TestDatabase = {
        kind: fresh.kind,
        db: fresh.db,
        url: fresh.url,
        runtime: { kind: proxied.kind, db: proxied.db, close },
        runtimeUrl: viaProxy.toString(),
        login: fresh.login,
        close,
      };
      fake = await startFakeTelegram(TOKEN);
      t = await startTestServer(
        {
          ONY_TELEGRAM_BOT_TOKEN: TOKEN,
          ONY_TELEGRAM_API_ROOT: fake.url,
          ONY_TELEGRAM_MODE: 'webhook',
          ONY_TELEGRAM_WEBHOOK_SECRET: SECRET,
        },
        { database },
      );
      fake.resolve('ony.test', await t.app.listen({ port: 0, host: '127.0.0.1' }));
      admin = await createOrgWithAdmin(t, 'dbdown');
      alice = await addMember(t, admin, 'alice@dbdown.test', 'member');
      device = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>()
        .token;
      const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
        escalation_policy: {
          levels: {
            medium: { rule: 'approve', steps: [{ after_s: 0, channel: 'telegram', targets: 'all' }] },
          },
        },
      });
      expect(put.statusCode, put.body).toBe(200);
      const code = await as(t, alice, 'POST', '/v1/me/channel-links/codes', { channel: 'telegram' });
      await fake.say(ALICE, `/start ${code.json<{ code: string }>().code}`);
      expect(fake.botMessages(ALICE.id).at(-1)?.text).toMatch(/^Linked: /);
    }, 120_000);

    afterAll(async () => {
      await proxy?.restore().catch(() => undefined);
      await t?.close();
      await fake?.close();
    });

    async function createHandoff(title: string): Promise<{ id: string; short_code: string }> {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/handoffs',
        headers: { authorization: `Bearer ${device}` },
        payload: { action: { type: 'deploy', target: 'staging' }, title },
      });
      expect(res.statusCode, res.body).toBe(201);
      return res.json();
    }

    const statusOf = async (id: string) =>
      (await sql<{ status: string }>`select status from handoffs where id = ${id}`.execute(fresh.db)).rows[0]!
        .status;

    /** The escalation's Telegram message for a handoff, once the job sent it. */
    async function telegramMessage(shortCode: string) {
      for (;;) {
        const m = fake
          .botMessages(ALICE.id)
          .find((x) => x.text.includes(shortCode) && x.replyMarkup !== undefined);
        if (m !== undefined) return m;
        await new Promise((r) => setTimeout(r, 50)); // polling for the message the job sends
      }
    }

    /**
     * Restores the proxy and waits until the server uses the database again by itself (no restart):
     * /readyz answers 503 while a pooled connection from before the outage is found dead, then 200.
     */
    async function restore(): Promise<void> {
      await proxy.restore();
      for (let i = 0; ; i++) {
        const res = await t.app.inject({ url: '/readyz' });
        if (res.statusCode === 200) return;
        expect(res.statusCode, res.body).toBe(503);
        if (i > 20) throw new Error('the server did not recover after the outage');
      }
    }

    function expectUnavailable(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
      expect(res.statusCode, res.body).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['retry-after']).toBe('5');
      const body = JSON.parse(res.body) as Record<string, unknown>;
      expect(body).toMatchObject({
        type: 'https://ony.dev/problems/unavailable',
        status: 503,
        code: 'unavailable',
        title: 'Temporarily unavailable; try again',
      });
      expect(body.detail).toMatch(/nothing was changed\. Try again/);
      // No driver message, host or port leaks out.
      expect(res.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|5432|terminated/);
    }

    it('a decision, a create and a read answer 503 with Retry-After, change nothing, and work once it is back', async () => {
      const h = await createHandoff('deploy while the database goes away');
      await proxy.cut();
      try {
        expectUnavailable(
          await as(t, admin, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'approve' }),
        );
        expectUnavailable(
          await t.app.inject({
            method: 'POST',
            url: '/v1/handoffs',
            headers: { authorization: `Bearer ${device}` },
            payload: { action: { type: 'deploy', target: 'staging' }, title: 'created during the outage' },
          }),
        );
        expectUnavailable(
          await t.app.inject({
            url: `/v1/handoffs/${h.id}?wait=1`,
            headers: { authorization: `Bearer ${device}` },
          }),
        );
        expectUnavailable(await as(t, admin, 'GET', '/v1/handoffs?status=pending'));
      } finally {
        await restore();
      }
      // Nothing changed: still pending, nothing created; now the same decision goes through.
      expect(await statusOf(h.id)).toBe('pending');
      const created = await sql<{ n: number }>`
        select count(*)::int as n from handoffs where title = 'created during the outage'`.execute(fresh.db);
      expect(created.rows[0]!.n).toBe(0);
      const res = await as(t, admin, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'approve' });
      expect(res.statusCode, res.body).toBe(200);
      expect(await statusOf(h.id)).toBe('approved');
    });

    it('a Telegram button pressed during the outage answers "try again"; pressed again after, it decides', async () => {
      const h = await createHandoff('deploy decided from Telegram');
      const msg = await telegramMessage(h.short_code);
      await proxy.cut();
      let tapped: Awaited<ReturnType<FakeTelegram['tap']>>;
      try {
        tapped = await fake.tap(ALICE, msg, fake.buttonData(msg, /Approve/));
      } finally {
        await restore();
      }
      expect(tapped.delivery?.status).toBe(200);
      expect(fake.callbackAnswers.get(tapped.queryId)).toEqual({
        text: REFUSAL_TEXT.unavailable,
        show_alert: true,
      });
      expect(REFUSAL_TEXT.unavailable).toMatch(/Try again/);
      expect(await statusOf(h.id)).toBe('pending');

      const again = await fake.tap(ALICE, msg, fake.buttonData(msg, /Approve/));
      expect(fake.callbackAnswers.get(again.queryId)).toEqual({
        text: 'Approved. The agent is told now.',
        show_alert: false,
      });
      expect(await statusOf(h.id)).toBe('approved');
    });
  },
);
