/**
 * OpenID Connect single sign-on against a real provider (oidc-provider over HTTP on 127.0.0.1),
 * driven through the real routes: configuration, the code flow with PKCE/state/nonce, matching by
 * subject, linking by verified email, provisioning, roles from groups, require_sso with a
 * break-glass admin, and every bad input refused with a clear error and nothing created.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type Tamper, type TestOidcProvider } from '../helpers/oidc-provider.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  login,
  PASSWORD,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

let op: TestOidcProvider;
let t: TestServer;
let admin: Actor;

const CALLBACK = 'https://ony.test/v1/auth/sso/callback';

beforeAll(async () => {
  op = await startOidcProvider({ redirectUri: CALLBACK });
  t = await startTestServer({ ONY_SSO_ALLOW_HTTP_ISSUERS: '127.0.0.1' });
  admin = await createOrgWithAdmin(t, 'acme');
  op.accounts.set('sub-admin', {
    email: 'admin@acme.test',
    email_verified: true,
    name: 'Ada',
    groups: ['ony-admins'],
  });
  op.accounts.set('sub-alice', {
    email: 'alice@acme.test',
    email_verified: true,
    name: 'Alice',
    groups: ['ony-approvers'],
  });
  op.accounts.set('sub-bob', {
    email: 'bob@acme.test',
    email_verified: false,
    name: 'Bob',
    groups: ['ony-approvers'],
  });
  op.accounts.set('sub-carol', {
    email: 'carol@elsewhere.test',
    email_verified: true,
    groups: ['ony-approvers'],
  });
  op.accounts.set('sub-dave', { email: 'dave@acme.test', email_verified: true, groups: ['marketing'] });
  op.accounts.set('sub-erin', { email: 'erin@acme.test', email_verified: true, groups: ['ony-approvers'] });
  op.accounts.set('sub-frank', { email: 'frank@acme.test', email_verified: true, groups: ['ony-approvers'] });
}, 60_000);
afterAll(async () => {
  await t?.close();
  await op?.close();
});

const config = (extra: Record<string, unknown> = {}) => ({
  issuer: op.issuer,
  client_id: op.clientId,
  client_secret: op.clientSecret,
  display_name: 'Acme Login',
  allowed_domains: ['Acme.test'],
  role_mapping: [
    { group: 'ony-admins', role: 'admin' },
    { group: 'ony-approvers', role: 'member' },
  ],
  jit_provisioning: true,
  ...extra,
});

async function count(table: 'members' | 'sessions' | 'sso_identities'): Promise<number> {
  const r = await sql<{
    n: number;
  }>`select count(*)::int as n from ${sql.table(table)} where org_id = ${admin.orgId}`.execute(t.database.db);
  return r.rows[0]!.n;
}

async function auditActions(): Promise<{ action: string; actor_type: string; canonical: string }[]> {
  return (
    await sql<{ action: string; actor_type: string; canonical: string }>`
      select action, actor_type, canonical from audit_events where org_id = ${admin.orgId} order by seq`.execute(
      t.database.db,
    )
  ).rows;
}

/** Starts a sign-in at ony: answers the provider URL and the flow cookie. */
async function start(slug = 'acme') {
  const res = await t.app.inject({ method: 'GET', url: `/v1/auth/sso/${slug}/start` });
  expect(res.statusCode, res.body).toBe(302);
  const flow = res.cookies.find((c) => c.name === 'ony_sso');
  expect(flow?.httpOnly).toBe(true);
  expect(flow?.sameSite).toBe('Lax');
  return { location: new URL(res.headers.location as string), cookie: `ony_sso=${flow!.value}` };
}

function callback(back: URL, cookie: string | undefined) {
  return t.app.inject({
    method: 'GET',
    url: `/v1/auth/sso/callback${back.search}`,
    headers: cookie === undefined ? {} : { cookie },
  });
}

/** The whole browser round trip for one account; answers ony's callback answer. */
async function signInAs(accountId: string) {
  const s = await start();
  const back = await op.signIn(s.location.toString(), accountId);
  expect(back.toString().startsWith(CALLBACK)).toBe(true);
  return { res: await callback(back, s.cookie), back, cookie: s.cookie };
}

function sessionOf(res: Awaited<ReturnType<typeof callback>>): string {
  const c = res.cookies.find((x) => x.name === 'ony_session');
  if (c === undefined) throw new Error(`no session: ${res.statusCode} ${res.body}`);
  return `ony_session=${c.value}`;
}

async function whoami(cookie: string) {
  const res = await t.app.inject({ method: 'GET', url: '/v1/auth/session', headers: { cookie } });
  expect(res.statusCode).toBe(200);
  return res.json<{ member: { id: string; email: string; role: string }; csrf_token: string }>();
}

describe('SSO configuration', () => {
  it('is refused with clear errors for bad input, and nothing is saved', async () => {
    expect((await as(t, admin, 'GET', '/v1/admin/sso')).statusCode).toBe(404);
    const noSecret = await as(t, admin, 'PUT', '/v1/admin/sso', { ...config(), client_secret: undefined });
    expect(noSecret.statusCode).toBe(400);
    expect(noSecret.json().detail).toMatch(/client_secret is required/);
    const http = await as(t, admin, 'PUT', '/v1/admin/sso', config({ issuer: 'http://idp.example.com' }));
    expect(http.statusCode).toBe(400);
    expect(http.json().detail).toMatch(/ONY_SSO_ALLOW_HTTP_ISSUERS/);
    const badDomain = await as(
      t,
      admin,
      'PUT',
      '/v1/admin/sso',
      config({ allowed_domains: ['not a domain'] }),
    );
    expect(badDomain.json().detail).toMatch(/not a domain name/);
    const noRole = await as(t, admin, 'PUT', '/v1/admin/sso', config({ role_mapping: [] }));
    expect(noRole.json().detail).toMatch(/jit_provisioning needs a role/);
    const noBreakGlass = await as(t, admin, 'PUT', '/v1/admin/sso', config({ require_sso: true }));
    expect(noBreakGlass.json().detail).toMatch(/break-glass admin/);
    const wrongIssuer = await as(
      t,
      admin,
      'PUT',
      '/v1/admin/sso',
      config({ issuer: `${op.issuer}/nothing-here` }),
    );
    expect(wrongIssuer.statusCode).toBe(422);
    expect(wrongIssuer.json().detail).toMatch(/discovery/);
    expect((await as(t, admin, 'GET', '/v1/admin/sso')).statusCode).toBe(404);
    expect((await auditActions()).map((a) => a.action)).not.toContain('sso.configured');
  });

  it('is admin-only', async () => {
    const viewer = await addMember(t, admin, 'viewer@acme.test', 'viewer');
    expect((await as(t, viewer, 'GET', '/v1/admin/sso')).statusCode).toBe(403);
    expect((await as(t, viewer, 'PUT', '/v1/admin/sso', config())).statusCode).toBe(403);
  });

  it('saves after discovery; the secret is encrypted at rest and never answered or audited', async () => {
    const res = await as(t, admin, 'PUT', '/v1/admin/sso', config());
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      issuer: op.issuer,
      client_secret_set: true,
      allowed_domains: ['acme.test'],
      groups_claim: 'groups',
      redirect_uri: CALLBACK,
      jit_provisioning: true,
      require_sso: false,
    });
    expect(res.body).not.toContain(op.clientSecret);
    expect((await as(t, admin, 'GET', '/v1/admin/sso')).body).not.toContain(op.clientSecret);
    const row = await sql<{ enc: Buffer }>`select client_secret_enc as enc from sso_configs`.execute(
      t.database.db,
    );
    expect(Buffer.from(row.rows[0]!.enc).toString('latin1')).not.toContain(op.clientSecret);
    const audit = (await auditActions()).filter((a) => a.action === 'sso.configured');
    expect(audit).toHaveLength(1);
    expect(audit[0]!.canonical).not.toContain(op.clientSecret);
  });

  it('answers the public "Sign in with" info, the same for an unknown org as for one without SSO', async () => {
    const info = await t.app.inject({ url: '/v1/auth/sso/acme' });
    expect(info.json()).toEqual({
      configured: true,
      display_name: 'Acme Login',
      required: false,
      start_url: '/v1/auth/sso/acme/start',
    });
    await createOrgWithAdmin(t, 'plain');
    const none = { configured: false, display_name: null, required: false, start_url: null };
    expect((await t.app.inject({ url: '/v1/auth/sso/plain' })).json()).toEqual(none);
    expect((await t.app.inject({ url: '/v1/auth/sso/no-such-org' })).json()).toEqual(none);
    expect((await t.app.inject({ url: '/v1/auth/sso/no-such-org/start' })).statusCode).toBe(404);
  });
});

describe('SSO sign-in', () => {
  it('uses the code flow with PKCE (S256), state and nonce', async () => {
    const { location } = await start();
    expect(location.origin).toBe(op.issuer);
    const q = location.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toBeTruthy();
    expect(q.get('nonce')).toBeTruthy();
    expect(q.get('redirect_uri')).toBe(CALLBACK);
  });

  it('provisions a new member just in time, with the role of their groups, and signs them in', async () => {
    const members = await count('members');
    const { res } = await signInAs('sub-alice');
    expect(res.statusCode, res.body).toBe(302);
    expect(res.headers.location).toBe('/');
    const session = res.cookies.find((c) => c.name === 'ony_session')!;
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
    const me = await whoami(sessionOf(res));
    expect(me.member).toMatchObject({ email: 'alice@acme.test', role: 'member' });
    expect(await count('members')).toBe(members + 1);
    // A sign-in like a password one: the device is recorded for new-device notices (docs/mail.md).
    const devices = await sql<{ n: number }>`
      select count(*)::int as n from sign_in_devices where member_id = ${me.member.id}`.execute(
      t.database.db,
    );
    expect(devices.rows[0]!.n).toBe(1);
    const audit = await auditActions();
    const provisioned = audit.find((a) => a.action === 'member.provisioned')!;
    expect(provisioned.actor_type).toBe('system');
    expect(audit.map((a) => a.action)).toContain('member.sso_linked');
    // The provider's subject identifies a person: it stays out of the chain.
    expect(audit.map((a) => a.canonical).join('\n')).not.toContain('sub-alice');
  });

  it('matches a returning person by subject, even after their email changed at the provider', async () => {
    const first = await whoami(sessionOf((await signInAs('sub-alice')).res));
    op.accounts.get('sub-alice')!.email = 'alice.renamed@acme.test';
    try {
      const again = await whoami(sessionOf((await signInAs('sub-alice')).res));
      expect(again.member.id).toBe(first.member.id);
    } finally {
      op.accounts.get('sub-alice')!.email = 'alice@acme.test';
    }
  });

  it('links an existing member through a verified email of an allowed domain', async () => {
    const members = await count('members');
    const { res } = await signInAs('sub-admin');
    expect(res.statusCode, res.body).toBe(302);
    const me = await whoami(sessionOf(res));
    expect(me.member.id).toBe(admin.memberId);
    expect(me.member.role).toBe('admin');
    expect(await count('members')).toBe(members);
    const linked = (await auditActions()).filter((a) => a.action === 'member.sso_linked');
    expect(linked.some((a) => a.canonical.includes(admin.memberId))).toBe(true);
  });

  it('applies role changes in the provider groups at the next sign-in (actor: system)', async () => {
    op.accounts.get('sub-alice')!.groups = ['ony-admins', 'ony-approvers'];
    const me = await whoami(sessionOf((await signInAs('sub-alice')).res));
    expect(me.member.role).toBe('admin');
    const change = (await auditActions()).filter((a) => a.action === 'member.role_changed').at(-1)!;
    expect(change.actor_type).toBe('system');
    expect(JSON.parse(change.canonical).meta).toEqual({ from: 'member', to: 'admin' });
    op.accounts.get('sub-alice')!.groups = ['ony-approvers'];
    expect((await whoami(sessionOf((await signInAs('sub-alice')).res))).member.role).toBe('member');
  });

  const refusals: [string, string, number, string][] = [
    ['an unverified email', 'sub-bob', 403, 'email_unverified'],
    ['a domain that is not allowed', 'sub-carol', 403, 'domain_not_allowed'],
    ['a group with no mapping when provisioning needs one', 'sub-dave', 403, 'no_role_mapping'],
  ];
  for (const [what, account, status, reason] of refusals) {
    it(`refuses ${what}, and creates nothing`, async () => {
      const before = [await count('members'), await count('sessions'), await count('sso_identities')];
      const { res } = await signInAs(account);
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json()).toMatchObject({ reason });
      expect(res.json().detail.length).toBeGreaterThan(20);
      expect(res.cookies.find((c) => c.name === 'ony_session')).toBeUndefined();
      expect([await count('members'), await count('sessions'), await count('sso_identities')]).toEqual(
        before,
      );
    });
  }

  const tampered: [string, Tamper][] = [
    ['an ID token for another audience', 'audience'],
    ['an expired ID token', 'expired'],
    ['an ID token with a bad signature', 'signature'],
    ['an ID token with another nonce', 'nonce'],
    ['an ID token from another issuer', 'issuer'],
  ];
  for (const [what, mode] of tampered) {
    it(`refuses ${what} (401), and creates nothing`, async () => {
      const before = [await count('members'), await count('sessions')];
      op.tamper = mode;
      try {
        const { res } = await signInAs('sub-erin');
        expect(res.statusCode, res.body).toBe(401);
        expect(res.json()).toMatchObject({ code: 'unauthenticated', reason: 'token_invalid' });
      } finally {
        op.tamper = undefined;
      }
      expect([await count('members'), await count('sessions')]).toEqual(before);
    });
  }

  it("records the sign-in's amr: with MFA a critical approval is A2, without it the approval is refused", async () => {
    const token = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'sso-assurance' })).json<{
      token: string;
    }>().token;
    const critical = async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/handoffs',
        headers: { authorization: `Bearer ${token}` },
        payload: {
          title: 'drop prod',
          action: { type: 'db.migrate', target: 'prod' },
          payload: { kind: 'sql', content: 'DROP TABLE users;' },
        },
      });
      expect(res.statusCode, res.body).toBe(201);
      const h = res.json<{ id: string; short_code: string; risk: { level: string } }>();
      expect(h.risk.level).toBe('critical');
      return h;
    };
    const actorOf = async (res: Awaited<ReturnType<typeof callback>>): Promise<Actor> => {
      const cookie = sessionOf(res);
      const me = await whoami(cookie);
      return { orgId: admin.orgId, memberId: me.member.id, cookie, csrf: me.csrf_token };
    };
    const approve = (who: Actor, h: { id: string; short_code: string }) =>
      as(t, who, 'POST', `/v1/handoffs/${h.id}/decision`, {
        decision: 'approve',
        confirm_short_code: h.short_code,
      });

    // The provider ran MFA (password + one-time code) and says so: A2, enough for critical.
    op.idTokenClaims = { amr: ['pwd', 'otp'], acr: 'urn:acme:mfa' };
    const withMfa = await actorOf((await signInAs('sub-alice')).res);
    op.idTokenClaims = undefined;
    const h1 = await critical();
    const ok = await approve(withMfa, h1);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({
      status: 'approved',
      decision: {
        assurance: { level: 'A2', channel: 'web', identity: 'sso', amr: ['pwd', 'otp'], acr: 'urn:acme:mfa' },
      },
    });

    // A sign-in without amr proves one factor only: A1, refused for critical with the way up.
    const plain = await actorOf((await signInAs('sub-alice')).res);
    const h2 = await critical();
    const refused = await approve(plain, h2);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'assurance_required' });
    expect((await as(t, admin, 'GET', `/v1/handoffs/${h2.id}`)).json()).toMatchObject({ status: 'pending' });
    await as(t, admin, 'POST', `/v1/handoffs/${h2.id}/decision`, { decision: 'deny' });
  });

  it('refuses a wrong state, a missing flow cookie and a replayed callback', async () => {
    const before = [await count('members'), await count('sessions')];
    // Wrong state: the flow is this browser's, the state is not.
    const s = await start();
    const back = await op.signIn(s.location.toString(), 'sub-frank');
    const forged = new URL(back);
    forged.searchParams.set('state', 'attacker-chosen-state');
    const wrong = await callback(forged, s.cookie);
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ code: 'bad_request', reason: 'state_invalid' });
    // The flow was single-use: the genuine answer no longer works either.
    expect((await callback(back, s.cookie)).json().reason).toBe('state_invalid');
    // No flow cookie (a callback planted in another browser: login CSRF).
    const s2 = await start();
    const back2 = await op.signIn(s2.location.toString(), 'sub-frank');
    expect((await callback(back2, undefined)).json().reason).toBe('state_invalid');
    expect([await count('members'), await count('sessions')]).toEqual(before);

    // A replayed code: the first use signs in, the second is refused and creates nothing.
    const ok = await signInAs('sub-frank');
    expect(ok.res.statusCode, ok.res.body).toBe(302);
    const after = [await count('members'), await count('sessions')];
    const replay = await callback(ok.back, ok.cookie);
    expect(replay.statusCode).toBe(400);
    expect(replay.json().reason).toBe('state_invalid');
    expect([await count('members'), await count('sessions')]).toEqual(after);
  });

  it('two first sign-ins of one person at once create one member, and both are signed in', async () => {
    op.accounts.set('sub-judy', { email: 'judy@acme.test', email_verified: true, groups: ['ony-approvers'] });
    const before = await count('members');
    const flows = await Promise.all([start(), start()]);
    const backs = await Promise.all(flows.map((f) => op.signIn(f.location.toString(), 'sub-judy')));
    const answers = await Promise.all(flows.map((f, i) => callback(backs[i]!, f.cookie)));
    expect(answers.map((r) => r.statusCode)).toEqual([302, 302]);
    const ids = await Promise.all(answers.map(async (r) => (await whoami(sessionOf(r))).member.id));
    expect(ids[0]).toBe(ids[1]);
    expect(await count('members')).toBe(before + 1);
  });

  it('logs no secret, code, token or subject', async () => {
    const text = JSON.stringify(t.logs);
    expect(text).toContain('sso sign-in refused');
    for (const needle of [op.clientSecret, 'code=', 'eyJ', 'sub-alice', 'sub-bob', 'ony_ssof_'])
      expect(text, needle).not.toContain(needle);
  });

  it('refuses a provider error redirect (the person cancelled) with a clear error', async () => {
    const s = await start();
    const back = new URL(CALLBACK);
    back.searchParams.set('error', 'access_denied');
    back.searchParams.set('state', s.location.searchParams.get('state')!);
    back.searchParams.set('iss', op.issuer);
    const res = await callback(back, s.cookie);
    expect(res.statusCode).toBe(400);
    expect(res.json().reason).toBe('provider_error');
  });
});

describe('require_sso', () => {
  let member: Actor;
  beforeAll(async () => {
    member = await addMember(t, admin, 'gina@acme.test', 'member');
  });

  it('turns password sign-in off for everyone but the break-glass admins', async () => {
    const res = await as(
      t,
      admin,
      'PUT',
      '/v1/admin/sso',
      config({ client_secret: undefined, require_sso: true, break_glass_admins: [admin.memberId] }),
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ require_sso: true, break_glass_admins: [admin.memberId] });
    expect((await t.app.inject({ url: '/v1/auth/sso/acme' })).json().required).toBe(true);

    const blocked = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'gina@acme.test', password: PASSWORD },
    });
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json()).toMatchObject({ reason: 'sso_required' });
    // A wrong password still says only that: the SSO rule is no oracle.
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'gina@acme.test', password: 'not the password at all' },
    });
    expect(wrong.statusCode).toBe(401);
    // The break-glass admin still signs in with a password.
    expect((await login(t, 'admin@acme.test')).memberId).toBe(admin.memberId);
    // SSO still works (the stored secret was kept).
    expect((await signInAs('sub-frank')).res.statusCode).toBe(302);
    void member;
  });

  it('an invite is accepted by signing in with SSO (even without JIT), not with a password', async () => {
    op.accounts.set('sub-hank', { email: 'hank@acme.test', email_verified: true, groups: ['ony-approvers'] });
    op.accounts.set('sub-ivan', { email: 'ivan@acme.test', email_verified: true, groups: ['ony-approvers'] });
    const put = await as(
      t,
      admin,
      'PUT',
      '/v1/admin/sso',
      config({
        client_secret: undefined,
        jit_provisioning: false,
        require_sso: true,
        break_glass_admins: [admin.memberId],
      }),
    );
    expect(put.statusCode, put.body).toBe(200);
    const inv = await as(t, admin, 'POST', '/v1/admin/invites', { email: 'hank@acme.test', role: 'viewer' });
    expect(inv.statusCode).toBe(201);
    const members = await count('members');
    const accept = await t.app.inject({
      method: 'POST',
      url: '/v1/invites/accept',
      payload: { token: inv.json<{ token: string }>().token, name: 'Hank', password: PASSWORD },
    });
    expect(accept.statusCode).toBe(403);
    expect(accept.json().reason).toBe('sso_required');
    expect(await count('members')).toBe(members);
    // Not invited and no JIT: refused.
    const ivan = await signInAs('sub-ivan');
    expect(ivan.res.statusCode).toBe(403);
    expect(ivan.res.json().reason).toBe('no_account');
    // Invited: provisioned with the role of the groups (the org maps groups), the invite used.
    const hank = await signInAs('sub-hank');
    expect(hank.res.statusCode, hank.res.body).toBe(302);
    expect((await whoami(sessionOf(hank.res))).member).toMatchObject({
      email: 'hank@acme.test',
      role: 'member',
    });
    expect(await count('members')).toBe(members + 1);
    const open = (await as(t, admin, 'GET', '/v1/admin/invites')).json<{ email: string }[]>();
    expect(open.map((i) => i.email)).not.toContain('hank@acme.test');
    expect((await auditActions()).map((a) => a.action).slice(-3)).toEqual([
      'member.invited',
      'invite.accepted',
      'member.sso_linked',
    ]);
  });

  it('refuses a break-glass member who is not an active admin', async () => {
    const res = await as(
      t,
      admin,
      'PUT',
      '/v1/admin/sso',
      config({ client_secret: undefined, require_sso: true, break_glass_admins: [member.memberId] }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatch(/not an active admin/);
  });

  it('DELETE removes SSO: password sign-in is open again and the start is 404', async () => {
    const res = await as(t, admin, 'DELETE', '/v1/admin/sso');
    expect(res.statusCode).toBe(204);
    expect((await t.app.inject({ url: '/v1/auth/sso/acme' })).json().configured).toBe(false);
    expect((await t.app.inject({ url: '/v1/auth/sso/acme/start' })).statusCode).toBe(404);
    expect((await login(t, 'gina@acme.test')).memberId).toBe(member.memberId);
    expect((await auditActions()).map((a) => a.action)).toContain('sso.removed');
    expect((await as(t, admin, 'DELETE', '/v1/admin/sso')).statusCode).toBe(404);
  });
});
