import { generateSync } from 'otplib';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  as,
  createOrgWithAdmin,
  login,
  PASSWORD,
  startTestServer,
  type TestServer,
} from '../helpers/app.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.close());

const countSessions = async () =>
  (await sql<{ n: number }>`select count(*)::int as n from sessions`.execute(t.database.db)).rows[0]!.n;
const totpAt = (secret: string, date: Date) =>
  generateSync({ secret, epoch: Math.floor(date.getTime() / 1000) });

describe('first-run setup with the one-time token', () => {
  it('creates the org and admin once; the token cannot be replayed', async () => {
    expect((await t.app.inject({ url: '/v1/setup' })).json()).toEqual({ needed: true });
    const token = await t.container.setup.issueSetupToken();
    const body = {
      setup_token: token,
      org_name: 'First Org',
      email: 'Founder@First.test',
      name: 'Founder',
      password: PASSWORD,
    };
    const short = await t.app.inject({
      method: 'POST',
      url: '/v1/setup',
      payload: { ...body, password: 'short' },
    });
    expect(short.statusCode).toBe(400);
    expect(short.json().detail).toMatch(/at least|between 12/);
    // The failed attempt did not burn the token.
    const ok = await t.app.inject({ method: 'POST', url: '/v1/setup', payload: body });
    expect(ok.statusCode).toBe(201);
    expect(ok.cookies.find((c) => c.name === 'ony_session')).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
    });
    const replay = await t.app.inject({
      method: 'POST',
      url: '/v1/setup',
      payload: { ...body, org_name: 'Second', org_slug: 'second' },
    });
    expect(replay.statusCode).toBe(410);
    expect(replay.headers['content-type']).toMatch(/^application\/problem\+json/);
    const orgs = await sql<{ n: number }>`select count(*)::int as n from orgs`.execute(t.database.db);
    expect(orgs.rows[0]!.n).toBe(1);
    expect((await t.app.inject({ url: '/v1/setup' })).json()).toEqual({ needed: false });
    // The email was normalised; the admin can sign in.
    await expect(login(t, 'founder@first.test')).resolves.toMatchObject({ orgId: ok.json().org_id });
  });

  it('refuses an unknown setup token with 410 and creates nothing', async () => {
    const before = await sql<{ n: number }>`select count(*)::int as n from orgs`.execute(t.database.db);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/setup',
      payload: {
        setup_token: 'ony_setup_nope',
        org_name: 'X',
        email: 'x@x.test',
        name: 'X',
        password: PASSWORD,
      },
    });
    expect(res.statusCode).toBe(410);
    const after = await sql<{ n: number }>`select count(*)::int as n from orgs`.execute(t.database.db);
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });
});

describe('sign-in and sessions', () => {
  it('a wrong password is 401 and creates no session', async () => {
    await createOrgWithAdmin(t, 'acme');
    const before = await countSessions();
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'admin@acme.test', password: 'not the password' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'invalid_credentials', status: 401 });
    expect(res.cookies).toHaveLength(0);
    expect(await countSessions()).toBe(before);
    // An unknown email gets the very same answer.
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'nobody@acme.test', password: 'not the password' },
    });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().detail).toBe(res.json().detail);
  });

  it('malformed, unknown-field and oversized bodies get a clear 4xx and change nothing', async () => {
    const before = await countSessions();
    const bad = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'bad_request' });
    const extra = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'admin@acme.test', password: PASSWORD, risk: 'low' },
    });
    expect(extra.statusCode).toBe(400);
    expect(extra.json()).toMatchObject({ code: 'validation_failed' });
    const notEmail = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'nope', password: PASSWORD },
    });
    expect(notEmail.statusCode).toBe(400);
    expect(notEmail.json().errors[0].path).toContain('email');
    const huge = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'admin@acme.test', password: 'x'.repeat(3_500_000) },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toMatchObject({ code: 'payload_too_large' });
    const text = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      headers: { 'content-type': 'application/xml' },
      payload: '<hi/>',
    });
    expect(text.statusCode).toBe(415);
    expect(await countSessions()).toBe(before);
  });

  it('a session expires after the idle window and after the absolute window', async () => {
    const admin = await login(t, 'admin@acme.test');
    expect((await as(t, admin, 'GET', '/v1/me')).statusCode).toBe(200);
    t.clock.advance(12 * 3600 * 1000 + 1000);
    const idle = await as(t, admin, 'GET', '/v1/me');
    expect(idle.statusCode).toBe(401);
    expect(idle.json().code).toBe('session_expired');

    // Kept busy, it still ends at the absolute limit (7 days).
    const busy = await login(t, 'admin@acme.test');
    for (let day = 0; day < 10; day++) {
      t.clock.advance(11 * 3600 * 1000);
      expect((await as(t, busy, 'GET', '/v1/me')).statusCode).toBe(200);
      t.clock.advance(11 * 3600 * 1000);
      const r = await as(t, busy, 'GET', '/v1/me');
      if (r.statusCode !== 200) {
        expect(r.json().code).toBe('session_expired');
        expect(day).toBe(7); // 22 h a day: the 8th day crosses 168 h
        return;
      }
    }
    throw new Error('session outlived its absolute expiry');
  });

  it('logout ends the session; the old cookie answers 401', async () => {
    const admin = await login(t, 'admin@acme.test');
    expect((await as(t, admin, 'POST', '/v1/auth/logout')).statusCode).toBe(204);
    expect((await as(t, admin, 'GET', '/v1/me')).statusCode).toBe(401);
    const forged = await t.app.inject({ url: '/v1/me', headers: { cookie: 'ony_session=ony_ses_forged' } });
    expect(forged.statusCode).toBe(401);
  });

  it('cookie writes without the CSRF token are refused and change nothing', async () => {
    const admin = await login(t, 'admin@acme.test');
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: { cookie: admin.cookie },
      payload: { name: 'Mallory' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('csrf_failed');
    const wrong = await t.app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: { cookie: admin.cookie, 'x-csrf-token': 'guess' },
      payload: { name: 'Mallory' },
    });
    expect(wrong.statusCode).toBe(403);
    expect((await as(t, admin, 'GET', '/v1/me')).json().name).toBe('Admin of acme');
    // The session endpoint hands out the token; with it the write works.
    const csrf = (await as(t, admin, 'GET', '/v1/auth/session')).json().csrf_token as string;
    expect(csrf).toBe(admin.csrf);
    expect((await as(t, admin, 'PATCH', '/v1/me', { name: 'Alice' })).json().name).toBe('Alice');
  });

  it('lists own sessions, revokes one, and revokes the others', async () => {
    const a = await login(t, 'admin@acme.test');
    const b = await login(t, 'admin@acme.test');
    const list = (await as(t, a, 'GET', '/v1/me/sessions')).json<{ id: string; current: boolean }[]>();
    expect(list.filter((s) => s.current)).toHaveLength(1);
    const other = list.find((s) => !s.current)!;
    expect((await as(t, a, 'DELETE', `/v1/me/sessions/${other.id}`)).statusCode).toBe(204);
    expect((await as(t, a, 'DELETE', `/v1/me/sessions/${other.id}`)).statusCode).toBe(404);
    expect((await as(t, a, 'POST', '/v1/me/sessions/revoke-others')).statusCode).toBe(200);
    expect((await as(t, b, 'GET', '/v1/me')).statusCode).toBe(401);
    expect((await as(t, a, 'GET', '/v1/me')).statusCode).toBe(200);
  });
});

// Sign-in throttling (delays per account and address, no lockout): test/http/login-throttle.test.ts.

describe('TOTP', () => {
  it('enrols, then requires a code at sign-in, refuses wrong and replayed codes, and accepts a recovery code once', async () => {
    await createOrgWithAdmin(t, 'totp');
    const admin = await login(t, 'admin@totp.test');
    const start = await as(t, admin, 'POST', '/v1/me/totp');
    expect(start.statusCode).toBe(200);
    const { secret, otpauth_uri } = start.json<{ secret: string; otpauth_uri: string }>();
    expect(otpauth_uri).toMatch(/^otpauth:\/\/totp\/ony:admin%40totp\.test\?/);

    // The secret is stored encrypted: its text is nowhere in the row.
    const row = await sql<{
      enc: Buffer;
    }>`select totp_secret_enc as enc from members where email = 'admin@totp.test'`.execute(t.database.db);
    expect(Buffer.from(row.rows[0]!.enc).includes(Buffer.from(secret))).toBe(false);

    const wrongConfirm = await as(t, admin, 'POST', '/v1/me/totp/confirm', { code: '000000' });
    expect(wrongConfirm.statusCode).toBe(401);
    const confirm = await as(t, admin, 'POST', '/v1/me/totp/confirm', {
      code: totpAt(secret, t.clock.now()),
    });
    expect(confirm.statusCode).toBe(200);
    const codes = confirm.json<{ recovery_codes: string[] }>().recovery_codes;
    expect(codes).toHaveLength(10);

    t.clock.advance(30_000);
    const noCode = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'admin@totp.test', password: PASSWORD },
    });
    expect(noCode.statusCode).toBe(401);
    expect(noCode.json().code).toBe('totp_required');
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: {
        email: 'admin@totp.test',
        password: PASSWORD,
        totp_code: '123456' === totpAt(secret, t.clock.now()) ? '654321' : '123456',
      },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('totp_invalid');

    const code = totpAt(secret, t.clock.now());
    await login(t, 'admin@totp.test', PASSWORD, { totp_code: code });
    const replay = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'admin@totp.test', password: PASSWORD, totp_code: code },
    });
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('totp_invalid');

    // An old code (10 minutes ago) is refused.
    const old = totpAt(secret, new Date(t.clock.now().getTime() - 600_000));
    const stale = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'admin@totp.test', password: PASSWORD, totp_code: old },
    });
    expect(stale.statusCode).toBe(401);

    await login(t, 'admin@totp.test', PASSWORD, { recovery_code: codes[0]!.toUpperCase() });
    const reused = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'admin@totp.test', password: PASSWORD, recovery_code: codes[0] },
    });
    expect(reused.statusCode).toBe(401);
  });

  it('an admin reset clears a member TOTP and ends their sessions', async () => {
    const admin = await login(t, 'admin@acme.test');
    const m = await addMember(t, admin, 'lost-phone@acme.test', 'member');
    const { secret } = (await as(t, m, 'POST', '/v1/me/totp')).json<{ secret: string }>();
    expect(
      (await as(t, m, 'POST', '/v1/me/totp/confirm', { code: totpAt(secret, t.clock.now()) })).statusCode,
    ).toBe(200);
    expect((await as(t, admin, 'POST', `/v1/admin/members/${m.memberId}/totp-reset`)).statusCode).toBe(204);
    expect((await as(t, m, 'GET', '/v1/me')).statusCode).toBe(401);
    const again = await login(t, 'lost-phone@acme.test');
    expect((await as(t, again, 'GET', '/v1/me')).json().totp_enabled).toBe(false);
  });
});

describe('password change', () => {
  it('needs the current password and ends other sessions', async () => {
    const a = await login(t, 'admin@acme.test');
    const b = await login(t, 'admin@acme.test');
    const wrong = await as(t, a, 'POST', '/v1/me/password', {
      current_password: 'nope nope nope',
      new_password: 'a brand new password',
    });
    expect(wrong.statusCode).toBe(401);
    const ok = await as(t, a, 'POST', '/v1/me/password', {
      current_password: PASSWORD,
      new_password: 'a brand new password',
    });
    expect(ok.statusCode).toBe(204);
    expect((await as(t, b, 'GET', '/v1/me')).statusCode).toBe(401);
    await expect(login(t, 'admin@acme.test', 'a brand new password')).resolves.toBeDefined();
  });
});
