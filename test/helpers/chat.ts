/**
 * What the chat-channel tests (Slack, Telegram, and the per-org channels) share: waiting for an event, an agent's device and
 * its handoffs, the channel messages an escalation recorded, and linking a member's chat identity
 * with a one-time code, as the dashboard and the bot do.
 */
import { sql } from 'kysely';
import { expect } from 'vitest';
import type { FakeMessage, FakeTelegram } from '../fakes/telegram.js';
import { as, type Actor, type TestServer } from './app.js';

/** Polls `fn` until it answers something (not a sleep: the first answer wins). */
export async function eventually<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  ms = 15_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A device token for the org of `admin`. */
export async function deviceTokenOf(t: TestServer, admin: Actor): Promise<string> {
  const res = await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ token: string }>().token;
}

export async function createHandoff(t: TestServer, deviceToken: string, body: Record<string, unknown>) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${deviceToken}` },
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; short_code: string }>();
}

/** The refs of the messages a channel posted for a handoff, once the escalation step recorded them. */
export async function postedRefs(
  t: TestServer,
  channel: string,
  handoffId: string,
  count: number,
  ms = 15_000,
): Promise<string[]> {
  return eventually(async () => {
    const rows = (
      await sql<{ ref: string }>`
        select ref from channel_messages where handoff_id = ${handoffId} and channel = ${channel} order by ref`.execute(
        t.database.db,
      )
    ).rows;
    return rows.length >= count ? rows.map((r) => r.ref) : undefined;
  }, ms);
}

/** The Telegram messages an escalation posted for a handoff through `bot` (refs are `chat:message`). */
export async function telegramMessages(
  t: TestServer,
  bot: FakeTelegram,
  handoffId: string,
  count = 1,
  ms = 15_000,
): Promise<FakeMessage[]> {
  const refs = await postedRefs(t, 'telegram', handoffId, count, ms);
  return Promise.all(
    refs.map((ref) => {
      const [chat, id] = ref.split(':');
      return eventually(() => bot.message(Number(chat), Number(id)), ms);
    }),
  );
}

/** How many audit entries the whole database holds (every org's: the tests compare before and after). */
export const auditCount = async (t: TestServer) =>
  (await sql<{ n: number }>`select count(*)::int as n from audit_events`.execute(t.database.db)).rows[0]!.n;

export const statusOf = async (t: TestServer, id: string) =>
  (await sql<{ status: string }>`select status from handoffs where id = ${id}`.execute(t.database.db))
    .rows[0]!.status;

/** Links `identity` to `actor` through a one-time code, as the bot's `/start <code>` does. */
export async function linkChat(
  t: TestServer,
  actor: Actor,
  channel: string,
  identity: string,
  label: string,
) {
  const code = await as(t, actor, 'POST', '/v1/me/channel-links/codes', { channel });
  expect(code.statusCode).toBe(201);
  const r = await t.container.channelActions.linkWithCode(
    channel,
    code.json<{ code: string }>().code,
    identity,
    label,
  );
  expect(r.ok).toBe(true);
}
