/**
 * The provider-neutral part of chat channels, through the real server: linking identities (one-time
 * codes, one-time claim links), inbound decisions as the linked member (fails closed, changes nothing
 * when refused), and messages updated in place after any decision.
 */
import { sql } from 'kysely';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelActions } from '../../src/channels/channel.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

let t: TestServer;
let admin: Actor;
let alice: Actor;
let viewer: Actor;
let deviceToken: string;
let actions: ChannelActions;

const medium = (title: string) => ({ action: { type: 'deploy', target: 'staging' }, title });

async function newDevice(actor: Actor): Promise<string> {
  return (await as(t, actor, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>().token;
}

async function createHandoff(body: Record<string, unknown>, token = deviceToken) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${token}` },
    payload: body,
  });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string; short_code: string; status: string }>();
}

const statusOf = async (id: string) =>
  (await sql<{ status: string }>`select status from handoffs where id = ${id}`.execute(t.database.db))
    .rows[0]!.status;

async function linkCode(actor: Actor, channel = 'telegram'): Promise<string> {
  const res = await as(t, actor, 'POST', '/v1/me/channel-links/codes', { channel });
  expect(res.statusCode).toBe(201);
  // No bot username is configured here, so no t.me deep link.
  expect(res.json()).toMatchObject({ channel, deep_link: null });
  return res.json<{ code: string }>().code;
}

async function eventually<T>(fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  t = await startTestServer();
  admin = await createOrgWithAdmin(t, 'links');
  alice = await addMember(t, admin, 'alice@links.test', 'member');
  viewer = await addMember(t, admin, 'vic@links.test', 'viewer');
  deviceToken = await newDevice(admin);
  actions = t.container.channelActions;
});
afterAll(async () => t?.close());

describe('linking a chat identity', () => {
  it('a one-time code links the identity once; reuse, junk and the wrong channel are refused', async () => {
    const code = await linkCode(alice);
    expect(code).toMatch(/^[A-Z2-9]{8}$/);
    expect(await actions.linkWithCode('slack', code, 'T1:U1', 'alice')).toMatchObject({
      ok: false,
      reason: 'invalid_code',
    });
    // The wrong channel used the code up: a one-time code is one attempt.
    const fresh = await linkCode(alice);
    const ok = await actions.linkWithCode('telegram', fresh.toLowerCase(), '1001', '@alice');
    expect(ok).toEqual({ ok: true, memberName: 'alice', orgName: 'links' });
    expect(await actions.linkWithCode('telegram', fresh, '1002', '@mallory')).toMatchObject({
      ok: false,
      reason: 'invalid_code',
    });
    expect(await actions.linkWithCode('telegram', 'not a code', '1002', 'x')).toMatchObject({ ok: false });
    const mine = (await as(t, alice, 'GET', '/v1/me/channel-links')).json<{ external_id: string }[]>();
    expect(mine).toMatchObject([{ channel: 'telegram', external_id: '1001', label: '@alice' }]);
    const bad = await as(t, alice, 'POST', '/v1/me/channel-links/codes', { channel: 'fax' });
    expect(bad.statusCode).toBe(400);
    const chain = await sql<{ action: string; meta: Record<string, unknown> }>`
      select action, meta from audit_events where action = 'member.channel_linked'`.execute(t.database.db);
    expect(chain.rows).toEqual([{ action: 'member.channel_linked', meta: { channel: 'telegram' } }]);
    expect(JSON.stringify(chain.rows)).not.toContain('1001');
  });

  it('a claim link: shown to a signed-in member, confirmed with the CSRF token, used once', async () => {
    const url = await actions.claimUrl('slack', 'T1:U2', 'alice.s');
    expect(url).toMatch(/^https:\/\/ony\.test\/link\/[A-Za-z0-9_-]{32}$/);
    const path = new URL(url).pathname;
    const anonymous = await t.app.inject({ url: path });
    expect(anonymous.statusCode).toBe(200);
    expect(anonymous.body).toContain('Sign in first');
    const shown = await t.app.inject({ url: path, headers: { cookie: alice.cookie } });
    expect(shown.body).toContain('Connect the Slack account alice.s');
    expect(shown.headers['content-security-policy']).toContain("script-src 'self'");
    const form = (csrf: string) =>
      t.app.inject({
        method: 'POST',
        url: path,
        headers: { cookie: alice.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `csrf=${encodeURIComponent(csrf)}`,
      });
    expect((await form('forged')).statusCode).toBe(403);
    const done = await form(alice.csrf);
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('is now linked');
    expect((await form(alice.csrf)).statusCode).toBe(410);
    expect((await t.app.inject({ url: path })).statusCode).toBe(410);
    const mine = (await as(t, alice, 'GET', '/v1/me/channel-links')).json<{ channel: string }[]>();
    expect(mine.map((l) => l.channel).sort()).toEqual(['slack', 'telegram']);
  });

  it('hostile labels render inert on the claim page', async () => {
    const url = await actions.claimUrl('slack', 'T1:U9', '<script>alert(1)</script>');
    const shown = await t.app.inject({ url: new URL(url).pathname, headers: { cookie: alice.cookie } });
    expect(shown.body).not.toContain('<script>');
    expect(shown.body).toContain('&lt;script&gt;');
  });
});

describe('deciding from a channel', () => {
  it('the linked member decides through the one decision path; a replay changes nothing', async () => {
    const h = await createHandoff(medium('deploy from telegram'));
    const r = await actions.decide('telegram', '1001', h.id, { option: 'approve' });
    expect(r).toEqual({ ok: true, outcome: 'decided', status: 'approved', memberName: 'alice' });
    const view = await as(t, admin, 'GET', `/v1/handoffs/${h.id}`);
    expect(view.json()).toMatchObject({
      status: 'approved',
      decision: { channel: 'telegram', decided_by: { name: 'alice' } },
    });
    expect(await actions.decide('telegram', '1001', h.id, { option: 'approve' })).toMatchObject({
      ok: true,
      outcome: 'replay',
    });
    expect(await actions.decide('telegram', '1001', h.id, { option: 'deny' })).toMatchObject({
      ok: false,
      reason: 'already_decided',
    });
  });

  it('refusals: unlinked, viewer, another org, unknown option, expired, step-up — nothing changes', async () => {
    const h = await createHandoff(medium('refuse me'));
    expect(await actions.decide('telegram', '9999', h.id, { option: 'approve' })).toMatchObject({
      ok: false,
      reason: 'not_linked',
    });
    const vcode = await linkCode(viewer);
    expect(await actions.linkWithCode('telegram', vcode, '2002', '@vic')).toMatchObject({ ok: true });
    expect(await actions.decide('telegram', '2002', h.id, { option: 'approve' })).toMatchObject({
      ok: false,
      reason: 'not_allowed',
    });
    expect(await actions.decide('telegram', '1001', h.id, { option: 'launch' })).toMatchObject({
      ok: false,
      reason: 'unknown_option',
    });
    // Another org's member, linked there, cannot reach this org's handoff: "not found".
    const other = await createOrgWithAdmin(t, 'links-other');
    const ocode = await linkCode(other);
    expect(await actions.linkWithCode('telegram', ocode, '3003', '@eve')).toMatchObject({ ok: true });
    expect(await actions.decide('telegram', '3003', h.id, { option: 'approve' })).toMatchObject({
      ok: false,
      reason: 'not_found',
    });
    expect(await statusOf(h.id)).toBe('pending');
    // Step-up: asked for, then a wrong code, then the right one.
    await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { medium: { require_totp: true } } },
    });
    const secret = (await as(t, alice, 'POST', '/v1/me/totp')).json<{ secret: string }>().secret;
    await as(t, alice, 'POST', '/v1/me/totp/confirm', { code: generateSync({ secret }) });
    t.clock.advance(31_000);
    const stepped = await createHandoff(medium('needs a code'));
    expect(await actions.decide('telegram', '1001', stepped.id, { option: 'approve' })).toMatchObject({
      ok: false,
      reason: 'totp_required',
    });
    expect(
      await actions.decide('telegram', '1001', stepped.id, { option: 'approve', totpCode: '000000' }),
    ).toMatchObject({ ok: false, reason: 'totp_invalid' });
    expect(await statusOf(stepped.id)).toBe('pending');
    t.clock.advance(31_000);
    expect(
      await actions.decide('telegram', '1001', stepped.id, {
        option: 'approve',
        totpCode: generateSync({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) }),
      }),
    ).toMatchObject({ ok: true, status: 'approved' });
    await as(t, admin, 'PUT', '/v1/admin/policies', { escalation_policy: {} });
    // After expiry: refused, and the handoff reads expired.
    const late = await createHandoff({ ...medium('too late'), timeout_s: 30 });
    t.clock.advance(31_000);
    expect(await actions.decide('telegram', '1001', late.id, { option: 'approve' })).toMatchObject({
      ok: false,
      reason: 'expired',
    });
    expect(await statusOf(late.id)).toBe('expired');
  });
});

describe('unlinking', () => {
  it('by the member and by an admin; another org cannot; a removed link decides nothing', async () => {
    const links = (await as(t, alice, 'GET', '/v1/me/channel-links')).json<
      { id: string; channel: string }[]
    >();
    const slack = links.find((l) => l.channel === 'slack')!;
    const tg = links.find((l) => l.channel === 'telegram')!;
    const other = await createOrgWithAdmin(t, 'links-third');
    const foreign = await as(
      t,
      other,
      'DELETE',
      `/v1/admin/members/${alice.memberId}/channel-links/${tg.id}`,
    );
    expect(foreign.statusCode).toBe(404);
    expect((await as(t, viewer, 'DELETE', `/v1/me/channel-links/${slack.id}`)).statusCode).toBe(404);
    expect((await as(t, alice, 'DELETE', `/v1/me/channel-links/${slack.id}`)).statusCode).toBe(204);
    const byAdmin = await as(
      t,
      admin,
      'DELETE',
      `/v1/admin/members/${alice.memberId}/channel-links/${tg.id}`,
    );
    expect(byAdmin.statusCode).toBe(204);
    expect((await as(t, admin, 'GET', `/v1/admin/members/${alice.memberId}/channel-links`)).json()).toEqual(
      [],
    );
    const h = await createHandoff(medium('after unlink'));
    expect(await actions.decide('telegram', '1001', h.id, { option: 'approve' })).toMatchObject({
      ok: false,
      reason: 'not_linked',
    });
    const audit = await sql<{ n: number }>`
      select count(*)::int as n from audit_events where action = 'member.channel_unlinked'`.execute(
      t.database.db,
    );
    expect(audit.rows[0]!.n).toBe(2);
  });
});

describe('messages updated in place after the decision', () => {
  it('the console channel records its message and rewrites it with the outcome, decider and channel', async () => {
    t.clock.sync();
    const h = await createHandoff(medium('update me'));
    await eventually(async () => {
      const r = await sql<{ n: number }>`
        select count(*)::int as n from channel_messages where handoff_id = ${h.id}`.execute(t.database.db);
      return r.rows[0]!.n > 0 ? true : undefined;
    });
    expect(
      (await as(t, admin, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'deny' })).statusCode,
    ).toBe(200);
    const line = await eventually(async () =>
      t.logs.find((l) => l.short_code === h.short_code && l.outcome === 'denied'),
    );
    expect(line.msg).toBe(`[${h.short_code}] denied by Admin of links via web`);
  });
});
