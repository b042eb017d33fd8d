/**
 * Mail against a real SMTP peer (smtp-server in-process, messages parsed with mailparser): invites,
 * password reset, email change, security notices, the email channel, and SMTP outages. Every mail
 * is asserted on as received: recipients, subject, links, and what must never be in it.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { createSmtpTransport, MailSendError } from '../../src/channels/email/transport.js';
import { withTenant } from '../../src/db/client.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  login,
  PASSWORD,
  sessionCookieOf,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { waitFor } from '../helpers/jobs.js';
import { SMTP_PASS, SMTP_USER, startSmtpPeer, type ReceivedMail, type SmtpPeer } from '../helpers/smtp.js';

let smtp: SmtpPeer;
let t: TestServer;
let admin: Actor;

const linksIn = (text: string) => [...text.matchAll(/https?:\/\/[^\s<>"]+/g)].map((m) => m[0]);

/** Waits for a mail to `address` whose subject matches, and answers the newest such mail. */
async function mailTo(address: string, subject: RegExp, count = 1): Promise<ReceivedMail> {
  const matching = () => smtp.to(address).filter((m) => subject.test(m.subject));
  await waitFor(() => matching().length >= count, `mail "${String(subject)}" to ${address}`);
  return matching().at(-1)!;
}

async function deliveries(kind?: string) {
  const rows = await sql<{
    kind: string;
    member_id: string | null;
    recipient: string;
    status: string;
    attempts: number;
    last_error: string | null;
  }>`select kind, member_id, recipient, status, attempts, last_error from mail_deliveries
     where org_id = ${admin.orgId} order by created_at`.execute(t.database.db);
  return rows.rows.filter((r) => kind === undefined || r.kind === kind);
}

/** Waits until no password-reset job is left to run. */
async function resetJobsDone(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await sql<{
      n: number;
    }>`select count(*)::int as n from pgboss.job where name = 'mail-password-reset' and state <> 'completed'`.execute(
      t.database.db,
    );
    if (r.rows[0]!.n === 0) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('password reset jobs did not finish');
}

const tokenOf = (mail: ReceivedMail, path: string): string => {
  const link = linksIn(mail.text).find((l) => l.startsWith(`https://ony.test/${path}#`));
  if (link === undefined) throw new Error(`no ${path} link in: ${mail.text}`);
  return link.slice(link.indexOf('#') + 1);
};

beforeAll(async () => {
  smtp = await startSmtpPeer();
  t = await startTestServer({
    ONY_SMTP_URL: smtp.url,
    ONY_MAIL_FROM: 'ony <ony@ony.test>',
    ONY_MAIL_RETRY_DELAY_SECONDS: '1',
    ONY_MAIL_RETRY_LIMIT: '6',
  });
  admin = await createOrgWithAdmin(t, 'mailorg');
});
afterAll(async () => {
  await t?.close();
  await smtp?.stop();
});

describe('mail through a real SMTP peer', () => {
  it('mails the invite link the admin gets; the delivery record is state only, the job data is sealed', async () => {
    const res = await as(t, admin, 'POST', '/v1/admin/invites', {
      email: 'New.Person@mail.test',
      role: 'member',
    });
    expect(res.statusCode).toBe(201);
    const { url, token } = res.json<{ url: string; token: string }>();
    const mail = await mailTo('new.person@mail.test', /invited you to mailorg/);
    expect(mail.rcptTo).toEqual(['new.person@mail.test']);
    expect(mail.mailFrom).toBe('ony@ony.test');
    expect(mail.subject).toBe('Admin of mailorg invited you to mailorg on ony');
    expect(linksIn(mail.text)).toEqual([url]);
    expect(mail.html).toContain(`href="${url}"`);
    expect(mail.raw).not.toContain(SMTP_PASS);

    const list = await as(t, admin, 'GET', '/v1/admin/mail');
    expect(list.statusCode).toBe(200);
    const body = list.json<{ enabled: boolean; deliveries: Record<string, unknown>[] }>();
    expect(body.enabled).toBe(true);
    const invite = body.deliveries.find((d) => d.kind === 'invite')!;
    expect(invite).toMatchObject({ recipient: 'n•••@mail.test', member_id: null });
    expect(JSON.stringify(body)).not.toContain(token);
    expect(JSON.stringify(body)).not.toContain('new.person@');
    const stored = await sql`select * from mail_deliveries`.execute(t.database.db);
    expect(JSON.stringify(stored.rows)).not.toContain(token);
    const jobData = await sql<{
      data: string;
    }>`select data::text as data from pgboss.job where name = 'mail-send'`.execute(t.database.db);
    expect(jobData.rows.length).toBeGreaterThan(0);
    for (const r of jobData.rows) {
      expect(r.data).not.toContain(token);
      expect(r.data).not.toContain('new.person');
    }
    await expect
      .poll(async () => (await deliveries('invite')).map((d) => d.status), { timeout: 10_000 })
      .toEqual(['sent']);

    const viewer = await addMember(t, admin, 'viewer@mail.test', 'viewer');
    expect((await as(t, viewer, 'GET', '/v1/admin/mail')).statusCode).toBe(403);
  });

  it('password reset: the same answer for a known and an unknown address; the link works once and ends every session', async () => {
    const member = await addMember(t, admin, 'reset.me@mail.test', 'member');
    const ask = (email: string) =>
      t.app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email } });
    const known = await ask('Reset.Me@mail.test');
    const unknown = await ask('nobody@mail.test');
    expect(known.statusCode).toBe(202);
    expect(unknown.statusCode).toBe(202);
    expect(unknown.json()).toEqual(known.json());
    expect(unknown.body).toBe(known.body);
    await resetJobsDone();
    const mail = await mailTo('reset.me@mail.test', /Reset your ony password for mailorg/);
    expect(mail.rcptTo).toEqual(['reset.me@mail.test']);
    expect(smtp.to('nobody@mail.test')).toEqual([]);
    expect(await deliveries('password_reset')).toHaveLength(1);
    const links = linksIn(mail.text);
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(/^https:\/\/ony\.test\/reset-password#ony_pwr_[A-Za-z0-9_-]{43}$/);
    const token = tokenOf(mail, 'reset-password');

    const confirm = (body: Record<string, unknown>) =>
      t.app.inject({ method: 'POST', url: '/v1/auth/password-reset/confirm', payload: body });
    const weak = await confirm({ token, password: 'short' });
    expect(weak.statusCode).toBe(400);
    expect((await confirm({ token: 'ony_pwr_forged', password: 'a new password 12345' })).statusCode).toBe(
      410,
    );
    expect((await confirm({ token: 'garbage', password: 'a new password 12345' })).statusCode).toBe(410);

    const ok = await confirm({ token, password: 'a brand new password 1' });
    expect(ok.statusCode).toBe(204);
    expect((await as(t, member, 'GET', '/v1/me')).statusCode).toBe(401); // its session ended
    await expect(login(t, 'reset.me@mail.test')).rejects.toThrow(/401/);
    await login(t, 'reset.me@mail.test', 'a brand new password 1');

    const again = await confirm({ token, password: 'yet another password 2' });
    expect(again.statusCode).toBe(410);
    expect(again.json().detail).toMatch(/already used/);
    await login(t, 'reset.me@mail.test', 'a brand new password 1'); // unchanged by the refused reuse
    const audit = await sql<{
      subject_id: string;
      meta: unknown;
    }>`select subject_id, meta from audit_events where action = 'member.password_reset'`.execute(
      t.database.db,
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]!.subject_id).toBe(member.memberId);
    expect(JSON.stringify(audit.rows)).not.toContain(token);
  });

  it('an expired reset link, or one replaced by a newer one, is refused and changes nothing', async () => {
    await addMember(t, admin, 'late@mail.test', 'member');
    const ask = () =>
      t.app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: 'late@mail.test' } });
    expect((await ask()).statusCode).toBe(202);
    const first = tokenOf(await mailTo('late@mail.test', /Reset your ony password/, 1), 'reset-password');
    expect((await ask()).statusCode).toBe(202);
    const second = tokenOf(await mailTo('late@mail.test', /Reset your ony password/, 2), 'reset-password');
    expect(second).not.toBe(first);
    const confirm = (token: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/auth/password-reset/confirm',
        payload: { token, password: 'a new password for late' },
      });
    const replaced = await confirm(first);
    expect(replaced.statusCode).toBe(410);
    expect(replaced.json().detail).toMatch(/replaced by a newer one/);
    t.clock.advance(31 * 60 * 1000);
    const expired = await confirm(second);
    expect(expired.statusCode).toBe(410);
    expect(expired.json().detail).toMatch(/expired/);
    await login(t, 'late@mail.test', PASSWORD); // the password did not change
    t.clock.sync(); // back to the database's time, which schedules the jobs of later tests
  });

  it('changing one’s email: a link to the new address, confirmed only by the same member; the old address is told', async () => {
    const m = await addMember(t, admin, 'old.addr@mail.test', 'member');
    const other = await addMember(t, admin, 'other@mail.test', 'member');
    expect((await as(t, m, 'POST', '/v1/me/email', { email: 'other@mail.test' })).statusCode).toBe(409);
    expect((await as(t, m, 'POST', '/v1/me/email', { email: 'old.addr@mail.test' })).statusCode).toBe(409);
    expect((await as(t, m, 'POST', '/v1/me/email', { email: 'not an address' })).statusCode).toBe(400);
    const tokensOf = async () =>
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from mail_tokens where member_id = ${m.memberId}`.execute(t.database.db)
      ).rows[0]!.n;
    expect(await tokensOf()).toBe(0); // refused requests create nothing
    expect(await deliveries('email_change')).toEqual([]);
    const asked = await as(t, m, 'POST', '/v1/me/email', { email: 'New.Addr@mail.test' });
    expect(asked.statusCode).toBe(202);
    expect(asked.json()).toMatchObject({ sent_to: 'n•••@mail.test' });
    const mail = await mailTo('new.addr@mail.test', /Confirm your new email address/);
    expect(mail.rcptTo).toEqual(['new.addr@mail.test']);
    expect(smtp.to('old.addr@mail.test').filter((x) => /Confirm/.test(x.subject))).toEqual([]);
    const token = tokenOf(mail, 'confirm-email');

    const stolen = await as(t, other, 'POST', '/v1/me/email/confirm', { token });
    expect(stolen.statusCode).toBe(410);
    expect((await as(t, m, 'GET', '/v1/me')).json().email).toBe('old.addr@mail.test');

    const ok = await as(t, m, 'POST', '/v1/me/email/confirm', { token });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().email).toBe('new.addr@mail.test');
    expect((await as(t, m, 'POST', '/v1/me/email/confirm', { token })).statusCode).toBe(410);

    const told = await mailTo('old.addr@mail.test', /email address was changed/);
    expect(told.text).toContain('n•••@mail.test');
    expect(told.text).not.toContain('new.addr@mail.test');
    await login(t, 'new.addr@mail.test');
    await expect(login(t, 'old.addr@mail.test')).rejects.toThrow(/401/);
    const audit = await sql<{
      meta: unknown;
    }>`select meta from audit_events where action = 'member.email_changed' and subject_id = ${m.memberId}`.execute(
      t.database.db,
    );
    expect(audit.rows).toHaveLength(1);
    expect(JSON.stringify(audit.rows)).not.toMatch(/addr@/);
  });

  it('security notices: a sign-in from a new device (once), a role change, a TOTP reset, an erasure scheduled', async () => {
    const m = await addMember(t, admin, 'notice.me@mail.test', 'member');
    await login(t, 'notice.me@mail.test'); // the device the invite was accepted on: no notice
    const signIn = (userAgent: string, remoteAddress: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        headers: { 'user-agent': userAgent },
        remoteAddress,
        payload: { email: 'notice.me@mail.test', password: PASSWORD },
      });
    const notices = async () =>
      (await deliveries('sign_in_new_device')).filter((d) => d.member_id === m.memberId);
    expect(await notices()).toHaveLength(0);
    const res = await signIn(
      'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0 <script>x</script>',
      '203.0.113.7',
    );
    expect(res.statusCode).toBe(200);
    sessionCookieOf(res);
    expect(await notices()).toHaveLength(1);
    const mail = await mailTo('notice.me@mail.test', /New sign-in to your ony account/);
    expect(mail.text).toContain('203.0.113.0/24');
    expect(mail.text).toContain('Firefox/130.0');
    expect(mail.html).toContain('&lt;script&gt;');
    expect(mail.html).not.toContain('<script>');
    expect(linksIn(mail.text)).toEqual(['https://ony.test/settings/sessions']);
    // A browser update on the same network is the same device.
    expect(
      (await signIn('Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0 <script>x</script>', '203.0.113.99'))
        .statusCode,
    ).toBe(200);
    expect(await notices()).toHaveLength(1);
    // Another network is not.
    expect(
      (await signIn('Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0 <script>x</script>', '2001:db8:7::1'))
        .statusCode,
    ).toBe(200);
    expect(await notices()).toHaveLength(2);

    expect(
      (await as(t, admin, 'PATCH', `/v1/admin/members/${m.memberId}`, { role: 'viewer' })).statusCode,
    ).toBe(200);
    const role = await mailTo('notice.me@mail.test', /Your role in mailorg on ony is now viewer/);
    expect(role.text).toMatch(/from member to viewer/);
    expect((await as(t, admin, 'POST', `/v1/admin/members/${m.memberId}/totp-reset`)).statusCode).toBe(204);
    await mailTo('notice.me@mail.test', /two-factor sign-in was reset/);

    const erasesAt = new Date(Date.UTC(2030, 0, 2, 3, 4));
    const n = await withTenant(t.database.db, admin.orgId, (tx) =>
      t.container.mailNotices.erasureScheduled(tx, erasesAt),
    );
    expect(n).toBe(1);
    const erasure = await mailTo('admin@mailorg.test', /mailorg is scheduled to be erased/);
    expect(erasure.text).toContain('2030-01-02 03:04 UTC');
  });

  it('the email channel: the declared fields and a link to the handoff, nothing from the payload, summary or target', async () => {
    await addMember(t, admin, 'approver@mail.test', 'member');
    const steps = [{ after_s: 0, channel: 'email', targets: 'all' }];
    const level = { rule: 'approve', steps };
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { low: level, medium: level, high: level, critical: level } },
    });
    expect(put.statusCode).toBe(200);
    const device = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'mail-agent' })).json<{
      token: string;
    }>().token;
    const secrets = {
      payload: 'unique-payload-marker-mail-99',
      summaryToken: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      target: 'prod-target-marker-xyz',
      risk: 'agent-claims-low-risk',
    };
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/handoffs',
      headers: { authorization: `Bearer ${device}` },
      payload: {
        action: { type: 'deploy', target: secrets.target },
        title: 'Deploy the API',
        summary: `Rolls out v2 using token ${secrets.summaryToken}`,
        payload: { kind: 'command', content: `deploy --token ${secrets.summaryToken} ${secrets.payload}` },
        risk: secrets.risk,
      },
    });
    expect(created.statusCode).toBe(201);
    const h = created.json<{ id: string; short_code: string }>();
    const subject = new RegExp(`^\\[${h.short_code}\\] Approval needed: Deploy the API$`);
    const toAdmin = await mailTo('admin@mailorg.test', subject);
    const toApprover = await mailTo('approver@mail.test', subject);
    for (const mail of [toAdmin, toApprover]) {
      expect(mail.rcptTo).toHaveLength(1); // one mail per person
      expect(linksIn(mail.text)).toEqual([`https://ony.test/handoffs/${h.id}`]);
      expect(linksIn(mail.html)).toEqual([
        `https://ony.test/handoffs/${h.id}`,
        `https://ony.test/handoffs/${h.id}`,
      ]);
      expect(mail.text).toContain(h.short_code);
      expect(mail.text).toMatch(/Action: deploy/);
      for (const s of Object.values(secrets)) expect(mail.raw).not.toContain(s);
      expect(mail.raw).not.toMatch(/decision|approve\?|ony_dev_/i);
    }
    // The viewer is not asked.
    expect(smtp.to('viewer@mail.test').filter((x) => subject.test(x.subject))).toEqual([]);
    expect(t.container.channels.email!.transmits).toEqual([
      'shortCode',
      'actionType',
      'riskLevel',
      'title',
      'gist',
      'link',
    ]);
    await expect
      .poll(
        async () =>
          (
            await sql<{
              channel: string;
              outcome: string;
            }>`select channel, outcome from escalation_attempts where handoff_id = ${h.id}`.execute(
              t.database.db,
            )
          ).rows,
      )
      .toEqual([{ channel: 'email', outcome: 'sent' }]);
    expect((await t.container.channels.email!.health()).ok).toBe(true);
    await as(t, admin, 'PUT', '/v1/admin/policies', { escalation_policy: {} });
  });

  it('SMTP down: the mail stays queued and is retried, then sent when the relay is back; a refusal is final', async () => {
    await smtp.stop();
    expect((await t.container.channels.email!.health()).ok).toBe(false);
    const res = await as(t, admin, 'POST', '/v1/admin/invites', {
      email: 'queued.later@mail.test',
      role: 'viewer',
    });
    expect(res.statusCode).toBe(201); // the admin still gets the link at once
    const later = async () => (await deliveries('invite')).find((d) => d.recipient === 'q•••@mail.test')!;
    await expect.poll(async () => (await later()).attempts, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    expect(await later()).toMatchObject({ status: 'queued', last_error: 'connection' });
    const seen = (await as(t, admin, 'GET', '/v1/admin/mail?status=queued')).json<{
      deliveries: { recipient: string; last_error: string | null }[];
    }>().deliveries;
    expect(seen).toContainEqual(
      expect.objectContaining({ recipient: 'q•••@mail.test', last_error: 'connection' }),
    );

    await smtp.restart();
    await mailTo('queued.later@mail.test', /invited you/);
    await expect.poll(async () => (await later()).status, { timeout: 10_000 }).toBe('sent');
    expect((await later()).attempts).toBeGreaterThanOrEqual(2);

    smtp.refuse.add('bounce@mail.test');
    await as(t, admin, 'POST', '/v1/admin/invites', { email: 'bounce@mail.test', role: 'viewer' });
    const bounce = async () => (await deliveries('invite')).find((d) => d.recipient === 'b•••@mail.test')!;
    await expect.poll(async () => (await bounce()).status, { timeout: 10_000 }).toBe('failed');
    expect(await bounce()).toMatchObject({ attempts: 1, last_error: 'rejected_permanent' });
  });

  it('password reset requests from one address are throttled (429), whatever the email', async () => {
    const ask = () =>
      t.app.inject({
        method: 'POST',
        url: '/v1/auth/password-reset',
        remoteAddress: '198.51.100.9',
        payload: { email: 'nobody-else@mail.test' },
      });
    const codes: number[] = [];
    for (let i = 0; i < 21; i++) codes.push((await ask()).statusCode);
    expect(codes.slice(0, 20).every((c) => c === 202)).toBe(true);
    expect(codes[20]).toBe(429);
  });

  it('the transport reports a wrong SMTP password as an auth failure, without the password', async () => {
    const transport = createSmtpTransport({
      smtpUrl: `smtp://${SMTP_USER}:wrong-password@127.0.0.1:${smtp.port}`,
      from: 'ony@ony.test',
    });
    const err = await transport
      .send({ to: 'x@mail.test', subject: 's', text: 't', html: '<p>t</p>' })
      .catch((e: unknown) => e);
    transport.close();
    expect(err).toBeInstanceOf(MailSendError);
    expect((err as MailSendError).errorClass).toBe('auth');
    expect(String((err as Error).message)).not.toContain('wrong-password');
  });
});

describe('mail off (ONY_SMTP_URL unset)', () => {
  let off: TestServer;
  let offAdmin: Actor;
  beforeAll(async () => {
    off = await startTestServer();
    offAdmin = await createOrgWithAdmin(off, 'nomail');
  });
  afterAll(async () => off?.close());

  it('invites still answer the link, a reset answers the same, an email change is refused, nothing is queued', async () => {
    const inv = await as(off, offAdmin, 'POST', '/v1/admin/invites', {
      email: 'x@nomail.test',
      role: 'member',
    });
    expect(inv.statusCode).toBe(201);
    expect(inv.json().url).toMatch(/^https:\/\/ony\.test\/invite#ony_inv_/);
    const reset = await off.app.inject({
      method: 'POST',
      url: '/v1/auth/password-reset',
      payload: { email: 'admin@nomail.test' },
    });
    expect(reset.statusCode).toBe(202);
    expect(reset.json()).toEqual({
      status: 'accepted',
      detail:
        'If this address belongs to an account, a reset link is on its way. It works once, for 30 minutes.',
    });
    const change = await as(off, offAdmin, 'POST', '/v1/me/email', { email: 'y@nomail.test' });
    expect(change.statusCode).toBe(409);
    expect(change.json().detail).toMatch(/no SMTP relay/);
    expect((await as(off, offAdmin, 'GET', '/v1/admin/mail')).json()).toEqual({
      enabled: false,
      deliveries: [],
    });
    const rows = await sql`select * from mail_tokens`.execute(off.database.db);
    expect(rows.rows).toEqual([]);
    expect(off.container.channels.email).toBeUndefined();
    expect(off.logs.some((l) => String(l.msg).startsWith('mail is off'))).toBe(true);
  });
});

describe('mail configuration', () => {
  it('refuses a bad ONY_SMTP_URL (without echoing it) and requires ONY_MAIL_FROM', () => {
    const bad = () => loadConfig({ ONY_SMTP_URL: 'http://user:hunter2-secret@mail', ONY_MAIL_FROM: 'x' });
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (err) {
      const text = (err as ConfigError).problems.join('\n');
      expect(text).toMatch(/ONY_SMTP_URL must be smtp:\/\//);
      expect(text).toMatch(/ONY_MAIL_FROM must be an address/);
      expect(text).not.toContain('hunter2-secret');
    }
    expect(() => loadConfig({ ONY_SMTP_URL: 'smtp://relay:587' })).toThrow(/ONY_MAIL_FROM is required/);
    const ok = loadConfig({
      ONY_SMTP_URL: 'smtps://u:p@relay.example',
      ONY_MAIL_FROM: 'ony <ony@example.com>',
    });
    expect(ok.mail).toMatchObject({ from: 'ony <ony@example.com>', retryLimit: 10, retryDelaySeconds: 30 });
    expect(loadConfig({}).mail).toBeUndefined();
  });
});
