/**
 * Passkeys through the real server and database with a software authenticator (real P-256 keys,
 * real attestation and assertion objects): enrol, name, rename, remove; a passkey as the sign-in
 * second factor (recovery codes still work); an admin reset (audited, without secrets); approving
 * a step-up handoff with a passkey bound to that handoff and option. Every bad input named by the
 * issue is refused with a clear 4xx and changes nothing: a wrong credential, another member's
 * credential, the wrong handoff or option, a replayed assertion (used challenge, counter that did
 * not advance), an expired challenge, a deleted passkey.
 */
import { sql } from 'kysely';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import {
  addMember,
  as,
  confirmed,
  createOrgWithAdmin,
  login,
  PASSWORD,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { SoftAuthenticator, type CreationOptions, type RequestOptions } from '../helpers/webauthn.js';

const ORIGIN = 'https://ony.test';
let t: TestServer;
let admin: Actor;
let deviceToken: string;

const auditActions = async () =>
  (await as(t, admin, 'GET', '/v1/admin/audit?limit=500')).json<{
    entries: { action: string; subject_id: string | null; meta: Record<string, unknown> }[];
  }>().entries;

async function enrol(actor: Actor, auth: SoftAuthenticator, name = 'Laptop') {
  const options = (await as(t, actor, 'POST', '/v1/me/passkeys/options')).json<CreationOptions>();
  const { response, credential } = auth.create(options);
  const res = await as(t, actor, 'POST', '/v1/me/passkeys', { name, response });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json<{ id: string }>().id, credential };
}

const signInOptions = async (email: string) => {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/auth/login/passkey-options',
    payload: { email, password: PASSWORD },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<RequestOptions>();
};

const loginWith = (email: string, extra: Record<string, unknown>) =>
  t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD, ...extra } });

const createCritical = async (options?: { id: string; label: string }[]) => {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${deviceToken}` },
    payload: {
      action: { type: 'db.query' },
      title: 'drop it',
      payload: { kind: 'sql', content: 'DROP DATABASE prod;' },
      ...(options !== undefined && { options }),
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
};

const status = async (id: string) =>
  (
    await sql<{
      status: string;
    }>`select status from handoffs where id = ${id}`.execute(t.database.db)
  ).rows[0]!.status;

/** The signature counter the server holds for a credential (what a replayed assertion would repeat). */
const storedCounter = async (credentialId: Buffer) =>
  Number(
    (
      await sql<{
        counter: number;
      }>`select counter from passkeys where credential_id = ${credentialId}`.execute(t.database.db)
    ).rows[0]!.counter,
  );

const challengeRows = async () =>
  Number(
    (await sql<{ n: number }>`select count(*)::int as n from passkey_challenges`.execute(t.database.db))
      .rows[0]!.n,
  );

beforeAll(async () => {
  t = await startTestServer({ ONY_PUBLIC_URL: ORIGIN });
  admin = await createOrgWithAdmin(t, 'pk');
  deviceToken = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>()
    .token;
  const level = {
    rule: 'approve',
    steps: [{ after_s: 0, channel: 'console', targets: 'all' }],
    required_approvals: 1,
    require_totp: true,
  };
  const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
    escalation_policy: { levels: { high: level, critical: level } },
  });
  expect(put.statusCode, put.body).toBe(200);
}, 60_000);
afterAll(async () => t?.close());

describe('enrolment on the Account page', () => {
  it('adds, lists, renames and removes a passkey; the audit names it without any key', async () => {
    const alice = await addMember(t, admin, 'alice@pk.test', 'member');
    const auth = new SoftAuthenticator(ORIGIN);
    const options = (await as(t, alice, 'POST', '/v1/me/passkeys/options')).json<
      CreationOptions & { rp: { id: string; name: string }; user: { name: string }; attestation: string }
    >();
    expect(options.rp).toEqual({ id: 'ony.test', name: 'ony' });
    expect(options.user.name).toBe('alice@pk.test');
    expect(options.attestation).toBe('none');
    const { response } = auth.create(options);
    const res = await as(t, alice, 'POST', '/v1/me/passkeys', { name: 'Work laptop', response });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json<{ id: string }>().id;
    // The same registration again: its challenge was used.
    const again = await as(t, alice, 'POST', '/v1/me/passkeys', { name: 'Again', response });
    expect(again.statusCode).toBe(401);
    expect(again.json()).toMatchObject({
      code: 'passkey_invalid',
      detail: expect.stringMatching(/already used/),
    });

    const list = (await as(t, alice, 'GET', '/v1/me/passkeys')).json<{ id: string; name: string }[]>();
    expect(list).toEqual([expect.objectContaining({ id, name: 'Work laptop', last_used_at: null })]);
    const renamed = await as(t, alice, 'PATCH', `/v1/me/passkeys/${id}`, { name: 'Old laptop' });
    expect(renamed.json()).toMatchObject({ id, name: 'Old laptop' });
    expect((await as(t, alice, 'PATCH', `/v1/me/passkeys/${id}`, { name: '   ' })).statusCode).toBe(400);

    const entry = (await auditActions()).find((e) => e.action === 'member.passkey_added')!;
    expect(entry).toMatchObject({
      subject_id: alice.memberId,
      meta: { passkey_id: id, name: 'Work laptop' },
    });
    const credId = auth.credentials[0]!.id.toString('base64url');
    expect(JSON.stringify(await auditActions())).not.toContain(credId);

    // Another member cannot see, rename or remove it (404, as if it did not exist).
    const bob = await addMember(t, admin, 'bob-enrol@pk.test', 'member');
    expect((await as(t, bob, 'GET', '/v1/me/passkeys')).json()).toEqual([]);
    expect((await as(t, bob, 'PATCH', `/v1/me/passkeys/${id}`, { name: 'mine' })).statusCode).toBe(404);
    expect((await as(t, bob, 'DELETE', `/v1/me/passkeys/${id}`)).statusCode).toBe(404);

    expect((await as(t, alice, 'DELETE', `/v1/me/passkeys/${id}`)).statusCode).toBe(204);
    expect((await as(t, alice, 'GET', '/v1/me/passkeys')).json()).toEqual([]);
    expect((await auditActions()).some((e) => e.action === 'member.passkey_removed')).toBe(true);
  });

  it('refuses a registration for another origin, an unknown challenge, an expired one, and bad bodies', async () => {
    const carol = await addMember(t, admin, 'carol@pk.test', 'member');
    const auth = new SoftAuthenticator(ORIGIN);
    const options = (await as(t, carol, 'POST', '/v1/me/passkeys/options')).json<CreationOptions>();
    const phished = auth.create(options, { origin: 'https://evil.test' }).response;
    const r1 = await as(t, carol, 'POST', '/v1/me/passkeys', { name: 'x', response: phished });
    expect(r1.statusCode).toBe(401);
    expect(r1.json().detail).toMatch(/origin/i);

    const unknown = auth.create({
      ...options,
      challenge: Buffer.alloc(32, 7).toString('base64url'),
    }).response;
    const r2 = await as(t, carol, 'POST', '/v1/me/passkeys', { name: 'x', response: unknown });
    expect(r2.json()).toMatchObject({ code: 'passkey_invalid', detail: expect.stringMatching(/not issued/) });

    const fresh = (await as(t, carol, 'POST', '/v1/me/passkeys/options')).json<CreationOptions>();
    t.clock.advance(3 * 60_000);
    const late = await as(t, carol, 'POST', '/v1/me/passkeys', {
      name: 'x',
      response: auth.create(fresh).response,
    });
    expect(late.json()).toMatchObject({ code: 'passkey_invalid', detail: expect.stringMatching(/expired/) });

    const bad = await as(t, carol, 'POST', '/v1/me/passkeys', { name: 'x', response: { id: 'AA' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('validation_failed');
    expect((await as(t, carol, 'GET', '/v1/me/passkeys')).json()).toEqual([]);
  });
});

describe('a passkey as the sign-in second factor', () => {
  let dave: Actor;
  const auth = new SoftAuthenticator(ORIGIN);

  beforeAll(async () => {
    dave = await addMember(t, admin, 'dave@pk.test', 'member');
    await enrol(dave, auth);
  });

  it('asks for the passkey after the password, and signs in with it', async () => {
    const none = await loginWith('dave@pk.test', {});
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ code: 'passkey_required', factors: ['passkey'] });
    expect(none.cookies.find((c) => c.name === 'ony_session')).toBeUndefined();

    const wrongPassword = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login/passkey-options',
      payload: { email: 'dave@pk.test', password: 'not the password at all' },
    });
    expect(wrongPassword.statusCode).toBe(401);
    expect(wrongPassword.json().code).toBe('invalid_credentials');

    const options = await signInOptions('dave@pk.test');
    expect(options.allowCredentials).toEqual([
      expect.objectContaining({ id: auth.credentials[0]!.id.toString('base64url') }),
    ]);
    const assertion = auth.get(options);
    const ok = await loginWith('dave@pk.test', { passkey: assertion });
    expect(ok.statusCode, ok.body).toBe(200);
    const keys = (await as(t, dave, 'GET', '/v1/me/passkeys')).json<{ last_used_at: string | null }[]>();
    expect(keys[0]!.last_used_at).not.toBeNull();

    // The same assertion again: its challenge was used.
    const replay = await loginWith('dave@pk.test', { passkey: assertion });
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({
      code: 'passkey_invalid',
      detail: expect.stringMatching(/already used/),
    });
    expect(replay.cookies.find((c) => c.name === 'ony_session')).toBeUndefined();
  });

  it("refuses another member's credential, an unknown one, a stale counter, an expired challenge, a TOTP code", async () => {
    // Erin's passkey answering a challenge issued to Dave.
    const erin = await addMember(t, admin, 'erin@pk.test', 'member');
    const erinAuth = new SoftAuthenticator(ORIGIN);
    await enrol(erin, erinAuth);
    const theirs = await loginWith('dave@pk.test', {
      passkey: erinAuth.get(await signInOptions('dave@pk.test')),
    });
    expect(theirs.statusCode).toBe(401);
    expect(theirs.json()).toMatchObject({
      code: 'passkey_invalid',
      detail: expect.stringMatching(/not one of yours/),
    });

    // A key nobody registered.
    const stranger = new SoftAuthenticator(ORIGIN);
    stranger.create({ challenge: 'AAAA', rp: {} });
    const unknown = await loginWith('dave@pk.test', {
      passkey: stranger.get(await signInOptions('dave@pk.test')),
    });
    expect(unknown.json().code).toBe('passkey_invalid');

    // A signature counter that did not advance: a cloned or replayed key.
    const stale = auth.get(await signInOptions('dave@pk.test'), {
      counter: await storedCounter(auth.credentials[0]!.id),
    });
    const cloned = await loginWith('dave@pk.test', { passkey: stale });
    expect(cloned.json()).toMatchObject({
      code: 'passkey_invalid',
      detail: expect.stringMatching(/counter/),
    });

    // A signature by Dave's credential over another challenge than the one it claims.
    const forged = auth.get(await signInOptions('dave@pk.test'));
    const other = auth.get(await signInOptions('dave@pk.test'));
    const spliced = { ...forged, response: { ...forged.response, signature: other.response.signature } };
    expect((await loginWith('dave@pk.test', { passkey: spliced })).json().code).toBe('passkey_invalid');

    // An expired challenge.
    const old = await signInOptions('dave@pk.test');
    t.clock.advance(3 * 60_000);
    const late = await loginWith('dave@pk.test', { passkey: auth.get(old) });
    expect(late.json()).toMatchObject({ code: 'passkey_invalid', detail: expect.stringMatching(/expired/) });

    // A TOTP code cannot stand in for the passkey of an account without TOTP.
    const totp = await loginWith('dave@pk.test', { totp_code: '123456' });
    expect(totp.json().code).toBe('passkey_required');
    expect(
      (await loginWith('dave@pk.test', { passkey: auth.get(await signInOptions('dave@pk.test')) }))
        .statusCode,
    ).toBe(200);
  });

  it('with TOTP and a passkey, any of TOTP, a recovery code or the passkey signs in', async () => {
    const fay = await addMember(t, admin, 'fay@pk.test', 'member');
    const secret = (await as(t, fay, 'POST', '/v1/me/totp')).json<{ secret: string }>().secret;
    const code = () => generateSync({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) });
    const confirm = await as(t, fay, 'POST', '/v1/me/totp/confirm', { code: code() });
    const recovery = confirm.json<{ recovery_codes: string[] }>().recovery_codes;
    const fayAuth = new SoftAuthenticator(ORIGIN);
    await enrol(fay, fayAuth);
    const none = await loginWith('fay@pk.test', {});
    expect(none.json()).toMatchObject({
      code: 'totp_required',
      factors: ['totp', 'recovery_code', 'passkey'],
    });
    expect((await loginWith('fay@pk.test', { recovery_code: recovery[0] })).statusCode).toBe(200);
    expect(
      (await loginWith('fay@pk.test', { passkey: fayAuth.get(await signInOptions('fay@pk.test')) }))
        .statusCode,
    ).toBe(200);
    t.clock.advance(31_000);
    expect((await loginWith('fay@pk.test', { totp_code: code() })).statusCode).toBe(200);
  });

  it('a member without passkeys gets no passkey options; an admin reset removes them, audited', async () => {
    const gus = await addMember(t, admin, 'gus@pk.test', 'member');
    const none = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login/passkey-options',
      payload: { email: 'gus@pk.test', password: PASSWORD },
    });
    expect(none.statusCode).toBe(409);
    const gusAuth = new SoftAuthenticator(ORIGIN);
    await enrol(gus, gusAuth, 'Phone');
    await enrol(gus, gusAuth, 'Key');
    const options = await signInOptions('gus@pk.test');

    expect((await as(t, gus, 'POST', `/v1/admin/members/${gus.memberId}/passkeys-reset`)).statusCode).toBe(
      403,
    );
    const reset = await as(t, admin, 'POST', `/v1/admin/members/${gus.memberId}/passkeys-reset`);
    expect(reset.statusCode, reset.body).toBe(200);
    expect(reset.json()).toEqual({ removed: 2 });
    const entry = (await auditActions()).find((e) => e.action === 'member.passkeys_reset')!;
    expect(entry).toMatchObject({ subject_id: gus.memberId, meta: { removed: 2 } });
    // The deleted passkeys no longer sign in (the open challenge went with them); the password alone does.
    const deleted = await loginWith('gus@pk.test', { passkey: gusAuth.get(options) });
    expect(deleted.json().code).toBe('passkey_invalid');
    expect((await loginWith('gus@pk.test', {})).statusCode).toBe(200);
    const unknownMember = await as(
      t,
      admin,
      'POST',
      `/v1/admin/members/${crypto.randomUUID()}/passkeys-reset`,
    );
    expect(unknownMember.statusCode).toBe(404);
  });
});

describe('approving with a passkey (step-up bound to the handoff and option)', () => {
  let hank: Actor;
  const auth = new SoftAuthenticator(ORIGIN);
  const stepUp = async (actor: Actor, id: string, decision = 'approve') => {
    const res = await as(t, actor, 'POST', `/v1/handoffs/${id}/passkey-options`, { decision });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<RequestOptions>();
  };
  const decide = async (actor: Actor, id: string, body: Record<string, unknown>) =>
    as(
      t,
      actor,
      'POST',
      `/v1/handoffs/${id}/decision`,
      await confirmed(t, actor, id, { decision: 'approve', ...body }),
    );

  beforeAll(async () => {
    hank = await addMember(t, admin, 'hank@pk.test', 'member');
    await enrol(hank, auth);
  });

  it('a verified passkey satisfies the TOTP step-up; the same answer later decides nothing new', async () => {
    const id = await createCritical();
    const noProof = await decide(hank, id, {});
    expect(noProof.statusCode).toBe(403);
    // Below the critical minimum (A2): the assurance refusal says how to step up, passkey included.
    expect(noProof.json()).toMatchObject({ code: 'assurance_required', required_assurance: 'A2' });
    expect(noProof.json().detail).toMatch(/approve with a passkey \(`passkey`\)/);
    const assertion = auth.get(await stepUp(hank, id));
    const ok = await decide(hank, id, { passkey: assertion });
    expect(ok.statusCode, ok.body).toBe(200);
    // The strongest proof there is: A3, recorded on the decision (docs/assurance.md).
    expect(ok.json()).toMatchObject({
      status: 'approved',
      decision: { assurance: { level: 'A3', step_up: 'passkey', channel: 'web' } },
    });
    const decided = (await auditActions()).filter((e) => e.action === 'handoff.decided').length;
    // Replayed: the existing decision is the answer (exactly once), and nothing is written.
    const replay = await decide(hank, id, { passkey: assertion });
    expect(replay.json()).toMatchObject({ status: 'approved' });
    expect((await auditActions()).filter((e) => e.action === 'handoff.decided').length).toBe(decided);
  });

  it('refuses the wrong handoff, the wrong option, a used or expired challenge, a stale counter, a removed key', async () => {
    const a = await createCritical([
      { id: 'approve', label: 'Approve' },
      { id: 'ship', label: 'Ship it' },
      { id: 'deny', label: 'Deny' },
    ]);
    const b = await createCritical();
    const before = await challengeRows();

    // Options for handoff a, answered on handoff b.
    const wrongHandoff = await decide(hank, b, { passkey: auth.get(await stepUp(hank, a)) });
    expect(wrongHandoff.statusCode).toBe(401);
    expect(wrongHandoff.json()).toMatchObject({ code: 'passkey_invalid' });
    // Options for "ship", answered as "approve".
    const wrongOption = await decide(hank, a, { passkey: auth.get(await stepUp(hank, a, 'ship')) });
    expect(wrongOption.json()).toMatchObject({
      code: 'passkey_invalid',
      detail: expect.stringMatching(/another handoff or option/),
    });
    // A sign-in challenge cannot approve.
    const signIn = await decide(hank, a, { passkey: auth.get(await signInOptions('hank@pk.test')) });
    expect(signIn.json().code).toBe('passkey_invalid');
    // Another member's key over Hank's challenge.
    const ivy = await addMember(t, admin, 'ivy@pk.test', 'member');
    const ivyAuth = new SoftAuthenticator(ORIGIN);
    await enrol(ivy, ivyAuth);
    const theirs = await decide(hank, a, { passkey: ivyAuth.get(await stepUp(hank, a)) });
    expect(theirs.json()).toMatchObject({
      code: 'passkey_invalid',
      detail: expect.stringMatching(/not one of yours/),
    });
    // Ivy answering Hank's challenge with her own key and session: not her challenge.
    const notHers = await decide(ivy, a, { passkey: ivyAuth.get(await stepUp(hank, a)) });
    expect(notHers.json()).toMatchObject({
      code: 'passkey_invalid',
      detail: expect.stringMatching(/not issued to you/),
    });
    // A counter that did not advance.
    const stale = await decide(hank, a, {
      passkey: auth.get(await stepUp(hank, a), { counter: await storedCounter(auth.credentials[0]!.id) }),
    });
    expect(stale.json()).toMatchObject({ code: 'passkey_invalid', detail: expect.stringMatching(/counter/) });
    // An expired challenge.
    const old = await stepUp(hank, a);
    t.clock.advance(3 * 60_000);
    const late = await decide(hank, a, { passkey: auth.get(old) });
    expect(late.json()).toMatchObject({ code: 'passkey_invalid', detail: expect.stringMatching(/expired/) });
    // A deny needs no step-up; options for it are refused, an unknown option too.
    expect(
      (await as(t, hank, 'POST', `/v1/handoffs/${a}/passkey-options`, { decision: 'deny' })).statusCode,
    ).toBe(400);
    expect(
      (await as(t, hank, 'POST', `/v1/handoffs/${a}/passkey-options`, { decision: 'nope' })).statusCode,
    ).toBe(422);
    // A viewer cannot ask for step-up options.
    const vic = await addMember(t, admin, 'vic@pk.test', 'viewer');
    expect(
      (await as(t, vic, 'POST', `/v1/handoffs/${a}/passkey-options`, { decision: 'approve' })).statusCode,
    ).toBe(403);
    // A removed passkey.
    const pending = await stepUp(hank, a);
    const keyId = (await as(t, hank, 'GET', '/v1/me/passkeys')).json<{ id: string }[]>()[0]!.id;
    expect((await as(t, hank, 'DELETE', `/v1/me/passkeys/${keyId}`)).statusCode).toBe(204);
    const removed = await decide(hank, a, { passkey: auth.get(pending) });
    expect(removed.json()).toMatchObject({
      code: 'passkey_invalid',
      detail: expect.stringMatching(/removed/),
    });

    // Nothing was decided, and each refusal left its challenge unused.
    expect(await status(a)).toBe('pending');
    expect(await status(b)).toBe('pending');
    expect(await challengeRows()).toBeGreaterThan(before);
    const used = await sql<{
      n: number;
    }>`select count(*)::int as n from passkey_challenges where used_at is not null and handoff_id in (${a}, ${b})`.execute(
      t.database.db,
    );
    expect(used.rows[0]!.n).toBe(0);
  });

  it('approves a custom option with a new key; the decision uses its challenge up in the same transaction', async () => {
    // Enrol again (the last test removed Hank's key) and approve "ship".
    const again = new SoftAuthenticator(ORIGIN);
    await enrol(hank, again, 'Second key');
    const a = await createCritical([
      { id: 'approve', label: 'Approve' },
      { id: 'ship', label: 'Ship it' },
      { id: 'deny', label: 'Deny' },
    ]);
    const options = await stepUp(hank, a, 'ship');
    const first = again.get(options);
    const ok = await decide(hank, a, { decision: 'ship', passkey: first });
    expect(ok.statusCode, ok.body).toBe(200);
    const used = await sql<{
      n: number;
    }>`select count(*)::int as n from passkey_challenges where handoff_id = ${a} and used_at is not null`.execute(
      t.database.db,
    );
    expect(used.rows[0]!.n).toBe(1);
    expect(await status(a)).toBe('approved');
  });
});

describe('erasure and configuration', () => {
  it('deleting a member deletes their passkeys and challenges', async () => {
    const zed = await addMember(t, admin, 'zed@pk.test', 'member');
    await enrol(zed, new SoftAuthenticator(ORIGIN));
    await signInOptions('zed@pk.test');
    const rows = async () =>
      (
        await sql<{
          n: number;
        }>`select (select count(*) from passkeys where member_id = ${zed.memberId})::int
              + (select count(*) from passkey_challenges where member_id = ${zed.memberId})::int as n`.execute(
          t.database.db,
        )
      ).rows[0]!.n;
    expect(await rows()).toBeGreaterThan(0);
    expect((await as(t, admin, 'DELETE', `/v1/admin/members/${zed.memberId}`)).statusCode).toBe(204);
    expect(await rows()).toBe(0);
  });

  it('the relying party comes from ONY_PUBLIC_URL; a wrong override stops the start with what to set', () => {
    const base = { ONY_MASTER_KEY: Buffer.alloc(32, 1).toString('base64') };
    expect(loadConfig({ ...base, ONY_PUBLIC_URL: 'https://ony.example.com/' }).webauthn).toEqual({
      rpId: 'ony.example.com',
      rpName: 'ony',
      origins: ['https://ony.example.com'],
    });
    expect(
      loadConfig({ ...base, ONY_PUBLIC_URL: 'https://ony.example.com', ONY_WEBAUTHN_RP_ID: 'example.com' })
        .webauthn.rpId,
    ).toBe('example.com');
    expect(() =>
      loadConfig({ ...base, ONY_PUBLIC_URL: 'https://ony.example.com', ONY_WEBAUTHN_RP_ID: 'other.org' }),
    ).toThrow(/not on the relying party id other\.org/);
    expect(() => loadConfig({ ...base, ONY_WEBAUTHN_ORIGINS: 'ftp://x' })).toThrow(/ONY_WEBAUTHN_ORIGINS/);
    expect(() => loadConfig({ ...base, ONY_WEBAUTHN_RP_ID: 'https://bad/' })).toThrow(/ONY_WEBAUTHN_RP_ID/);
  });
});

describe('bad sign-in bodies', () => {
  it('a malformed passkey answer is a 400 and signs nobody in', async () => {
    const res = await loginWith('dave@pk.test', { passkey: { id: 'x', rawId: 'x', type: 'password' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
    expect(res.cookies.find((c) => c.name === 'ony_session')).toBeUndefined();
    await login(t, 'admin@pk.test');
  });
});
