import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

let t: TestServer;
let admin: Actor;
beforeAll(async () => {
  t = await startTestServer();
  admin = await createOrgWithAdmin(t, 'team');
});
afterAll(async () => t?.close());

describe('invites', () => {
  it('an invite link signs the new member in once; a replay is 410 and creates nothing', async () => {
    const inv = await as(t, admin, 'POST', '/v1/admin/invites', { email: 'Bob@Team.test', role: 'member' });
    expect(inv.statusCode).toBe(201);
    const { token, url, invite } = inv.json<{ token: string; url: string; invite: { email: string } }>();
    expect(url).toBe(`https://ony.test/invite#${token}`);
    expect(invite.email).toBe('bob@team.test');
    const accept = () =>
      t.app.inject({
        method: 'POST',
        url: '/v1/invites/accept',
        payload: { token, name: 'Bob', password: PASSWORD },
      });
    expect((await accept()).statusCode).toBe(201);
    const replay = await accept();
    expect(replay.statusCode).toBe(410);
    const n = await sql<{
      n: number;
    }>`select count(*)::int as n from members where email = 'bob@team.test'`.execute(t.database.db);
    expect(n.rows[0]!.n).toBe(1);
  });

  it('expired, revoked and forged invites are refused', async () => {
    const expired = (
      await as(t, admin, 'POST', '/v1/admin/invites', { email: 'late@team.test', role: 'viewer' })
    ).json<{ token: string }>();
    const revoked = (
      await as(t, admin, 'POST', '/v1/admin/invites', { email: 'gone@team.test', role: 'viewer' })
    ).json<{
      token: string;
      invite: { id: string };
    }>();
    expect((await as(t, admin, 'DELETE', `/v1/admin/invites/${revoked.invite.id}`)).statusCode).toBe(204);
    const open = (await as(t, admin, 'GET', '/v1/admin/invites'))
      .json<{ email: string }[]>()
      .map((i) => i.email);
    expect(open).toContain('late@team.test');
    expect(open).not.toContain('gone@team.test');
    t.clock.advance(8 * 86400 * 1000);
    admin = await login(t, 'admin@team.test');
    for (const token of [expired.token, revoked.token, 'ony_inv_forged', 'not-even-a-token']) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/v1/invites/accept',
        payload: { token, name: 'X', password: PASSWORD },
      });
      expect(r.statusCode, token).toBe(410);
    }
    const n = await sql<{
      n: number;
    }>`select count(*)::int as n from members where email in ('late@team.test','gone@team.test')`.execute(
      t.database.db,
    );
    expect(n.rows[0]!.n).toBe(0);
  });

  it('inviting an existing member is a conflict', async () => {
    const r = await as(t, admin, 'POST', '/v1/admin/invites', { email: 'admin@team.test', role: 'member' });
    expect(r.statusCode).toBe(409);
  });
});

describe('roles are enforced on every admin route', () => {
  it('viewers and members cannot manage the team or devices; viewers can read the team', async () => {
    const viewer = await addMember(t, admin, 'viewer@team.test', 'viewer');
    const member = await addMember(t, admin, 'member@team.test', 'member');
    for (const actor of [viewer, member]) {
      const attempts = [
        await as(t, actor, 'POST', '/v1/admin/invites', { email: 'x@team.test', role: 'admin' }),
        await as(t, actor, 'PATCH', `/v1/admin/members/${actor.memberId}`, { role: 'admin' }),
        await as(t, actor, 'POST', '/v1/admin/devices', { name: 'sneaky' }),
        await as(t, actor, 'GET', '/v1/admin/devices'),
        await as(t, actor, 'POST', `/v1/admin/members/${admin.memberId}/deactivate`),
      ];
      for (const r of attempts) {
        expect(r.statusCode).toBe(403);
        expect(r.json().code).toBe('forbidden');
      }
    }
    expect((await as(t, viewer, 'GET', '/v1/admin/members')).statusCode).toBe(200);
    const roles = await sql<{
      role: string;
    }>`select role from members where email in ('viewer@team.test','member@team.test') order by email`.execute(
      t.database.db,
    );
    expect(roles.rows.map((r) => r.role)).toEqual(['member', 'viewer']);
    const devices = await sql<{ n: number }>`select count(*)::int as n from devices`.execute(t.database.db);
    expect(devices.rows[0]!.n).toBe(0);
  });

  it('a role change applies at once; the last admin cannot be demoted or deactivated', async () => {
    const carol = await addMember(t, admin, 'carol@team.test', 'viewer');
    expect((await as(t, carol, 'GET', '/v1/admin/invites')).statusCode).toBe(403);
    expect(
      (await as(t, admin, 'PATCH', `/v1/admin/members/${carol.memberId}`, { role: 'admin' })).json().role,
    ).toBe('admin');
    expect((await as(t, carol, 'GET', '/v1/admin/invites')).statusCode).toBe(200);
    expect(
      (await as(t, admin, 'PATCH', `/v1/admin/members/${carol.memberId}`, { role: 'member' })).statusCode,
    ).toBe(200);
    const demote = await as(t, admin, 'PATCH', `/v1/admin/members/${admin.memberId}`, { role: 'member' });
    expect(demote.statusCode).toBe(409);
    expect(demote.json().code).toBe('last_admin');
    expect((await as(t, admin, 'POST', `/v1/admin/members/${admin.memberId}/deactivate`)).statusCode).toBe(
      409,
    );
    expect((await as(t, admin, 'GET', '/v1/me')).json().role).toBe('admin');
    const badRole = await as(t, admin, 'PATCH', `/v1/admin/members/${carol.memberId}`, { role: 'owner' });
    expect(badRole.statusCode).toBe(400);
  });

  it('deactivation revokes access at once, keeps the row, and blocks sign-in with a clear error', async () => {
    const dave = await addMember(t, admin, 'dave@team.test', 'member');
    const r = await as(t, admin, 'POST', `/v1/admin/members/${dave.memberId}/deactivate`);
    expect(r.json()).toMatchObject({ status: 'deactivated' });
    expect((await as(t, dave, 'GET', '/v1/me')).statusCode).toBe(401);
    const signIn = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'dave@team.test', password: PASSWORD },
    });
    expect(signIn.statusCode).toBe(403);
    expect(signIn.json().detail).toMatch(/deactivated/);
    const team = (await as(t, admin, 'GET', '/v1/admin/members')).json<{ email: string; status: string }[]>();
    expect(team.find((m) => m.email === 'dave@team.test')?.status).toBe('deactivated');
    await as(t, admin, 'POST', `/v1/admin/members/${dave.memberId}/reactivate`);
    await expect(login(t, 'dave@team.test')).resolves.toBeDefined();
  });
});

describe('phone numbers', () => {
  it('are masked in the team view and full only in the owner profile', async () => {
    const erin = await addMember(t, admin, 'erin@team.test', 'member');
    const bad = await as(t, erin, 'PATCH', '/v1/me', { phone: '0415 555 0123' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/E\.164/);
    const own = await as(t, erin, 'PATCH', '/v1/me', { phone: '+14155550123' });
    expect(own.json().phone).toBe('+14155550123');
    const team = (await as(t, admin, 'GET', '/v1/admin/members')).json<
      { email: string; phone: string | null }[]
    >();
    const masked = team.find((m) => m.email === 'erin@team.test')!.phone!;
    expect(masked).toMatch(/^\+1•+0123$/);
    expect(JSON.stringify(team)).not.toContain('4155550123');
  });
});

describe('devices', () => {
  it('the token is shown once, stored hashed, authenticates the agent, and stops at revoke', async () => {
    const created = await as(t, admin, 'POST', '/v1/admin/devices', { name: 'ci-runner' });
    expect(created.statusCode).toBe(201);
    const { token, device } = created.json<{ token: string; device: { id: string; token_hint: string } }>();
    expect(token).toMatch(/^ony_dev_[A-Za-z0-9_-]{43}$/);
    expect(token.startsWith(device.token_hint)).toBe(true);
    const list = await as(t, admin, 'GET', '/v1/admin/devices');
    expect(list.body).not.toContain(token);
    const stored = await sql<{
      h: Buffer;
    }>`select token_hash as h from devices where id = ${device.id}`.execute(t.database.db);
    expect(Buffer.from(stored.rows[0]!.h).toString('hex')).toHaveLength(64);
    expect(Buffer.from(stored.rows[0]!.h).includes(Buffer.from(token))).toBe(false);

    const whoami = await t.app.inject({
      url: '/v1/agent/whoami',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(whoami.statusCode).toBe(200);
    expect(whoami.json()).toMatchObject({
      org_id: admin.orgId,
      device: { id: device.id, name: 'ci-runner' },
    });
    expect((await as(t, admin, 'GET', '/v1/admin/devices')).json()[0].last_seen_at).not.toBeNull();

    expect(
      (await as(t, admin, 'PATCH', `/v1/admin/devices/${device.id}`, { name: 'ci-runner-2' })).json().name,
    ).toBe('ci-runner-2');
    expect((await as(t, admin, 'PATCH', `/v1/admin/devices/${device.id}`, { name: '   ' })).statusCode).toBe(
      400,
    );
    expect((await as(t, admin, 'DELETE', `/v1/admin/devices/${device.id}`)).json().revoked_at).not.toBeNull();
    const after = await t.app.inject({
      url: '/v1/agent/whoami',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('unauthenticated');
  });

  it('missing, malformed and unknown bearer tokens are 401; a session cookie is no device', async () => {
    for (const authorization of [
      undefined,
      'Basic abc',
      'Bearer',
      'Bearer ony_dev_unknown',
      'Bearer ony_ses_x',
    ]) {
      const r = await t.app.inject({
        url: '/v1/agent/whoami',
        headers: authorization ? { authorization } : {},
      });
      expect(r.statusCode, String(authorization)).toBe(401);
    }
    expect((await as(t, admin, 'GET', '/v1/agent/whoami')).statusCode).toBe(401);
  });
});
