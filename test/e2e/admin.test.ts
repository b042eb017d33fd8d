/**
 * The admin screens end to end in headless Chromium against the real server (built dashboard in
 * dist/web, real API, fresh database): an admin invites a member, creates a device and sees its
 * token once (the token works, and is gone after a reload), edits a policy rule, sends a channel
 * test, filters and verifies the audit chain; a member sees no admin navigation, gets "not for
 * your role" on an admin page, and the API refuses the admin calls anyway. Screenshots of each
 * screen go to test-results/admin/.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  addMember,
  as,
  createOrgWithAdmin,
  PASSWORD,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { describeWithBrowser, openBrowser, type E2eBrowser } from './browser.js';

describeWithBrowser('admin screens (headless Chromium)', () => {
  let t: TestServer;
  let base: string;
  let browser: E2eBrowser;
  let admin: Actor;

  beforeAll(async () => {
    // First: it builds dist/web when stale, and the server serves the files it finds at start.
    browser = await openBrowser('admin');
    t = await startTestServer({ ONY_COOKIE_SECURE: 'false' });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    admin = await createOrgWithAdmin(t, 'e2eadmin');
    await addMember(t, admin, 'mia@e2eadmin.test', 'member');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function signIn(email: string) {
    const page = await browser.newPage();
    await page.goto(`${base}/sign-in`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    return page;
  }

  it('an admin manages the team, devices, policy, channels and audit', async () => {
    // A hostile device name (any admin-visible text) renders as text, never as markup.
    const hostile = '<img src=x onerror="window.__pwned=1">';
    expect((await as(t, admin, 'POST', '/v1/admin/devices', { name: hostile })).statusCode).toBe(201);
    const page = await signIn('admin@e2eadmin.test');
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of ['Team', 'Devices', 'Policy', 'Audit'])
      await nav.getByRole('link', { name }).waitFor();

    // Team: invite a viewer; the link is shown once.
    await nav.getByRole('link', { name: 'Team' }).click();
    await page.getByRole('heading', { name: 'Team', level: 1 }).waitFor();
    const invite = page.getByRole('form', { name: 'Invite someone' });
    await invite.getByLabel('Email').fill('vera@e2eadmin.test');
    await invite.getByLabel('Role').selectOption('viewer');
    await invite.getByRole('button', { name: 'Invite' }).click();
    const link = await page.getByLabel('Invite link').inputValue();
    expect(link).toMatch(/\/invite#/);
    await page.getByText('vera@e2eadmin.test as viewer').waitFor();
    // Phones are masked by the API and shown as such; every member row is there.
    await page.getByRole('rowheader', { name: /mia/ }).waitFor();
    // Deactivate asks once more, then ends mia's access; reactivate brings her back.
    const mia = page.getByRole('row', { name: /mia@e2eadmin\.test/ });
    await mia.getByRole('button', { name: 'Deactivate' }).click();
    await page.getByRole('button', { name: 'Yes, deactivate mia' }).click();
    await page.getByText('mia was deactivated').waitFor();
    const status = async () =>
      (await as(t, admin, 'GET', '/v1/admin/members'))
        .json<{ email: string; status: string }[]>()
        .find((m) => m.email === 'mia@e2eadmin.test')!.status;
    expect(await status()).toBe('deactivated');
    await mia.getByRole('button', { name: 'Reactivate' }).click();
    await page.getByRole('button', { name: 'Yes, reactivate mia' }).click();
    await page.getByText('mia was reactivated').waitFor();
    expect(await status()).toBe('active');
    // Role change from the row, and her linked chats (none).
    await mia.getByLabel('Role of mia').selectOption('viewer');
    await page.getByText('mia is now viewer.').waitFor();
    await mia.getByLabel('Role of mia').selectOption('member');
    await page.getByText('mia is now member.').waitFor();
    await mia.getByRole('button', { name: 'Linked chats of mia' }).click();
    await page.getByText('No linked Slack or Telegram account.').waitFor();
    await browser.shot(page, 'team');
    const invites = await as(t, admin, 'GET', '/v1/admin/invites');
    expect(invites.json<{ email: string; role: string }[]>()).toEqual([
      expect.objectContaining({ email: 'vera@e2eadmin.test', role: 'viewer' }),
    ]);

    // Devices: the token and secret are shown once, and the token works.
    await nav.getByRole('link', { name: 'Devices' }).click();
    const create = page.getByRole('form', { name: 'Create a device' });
    await create.getByLabel('Device name').fill('e2e-agent');
    await create.getByRole('button', { name: 'Create device' }).click();
    const token = await page.getByLabel('Device token').inputValue();
    const secret = await page.getByLabel('Callback signing secret').inputValue();
    expect(token.length).toBeGreaterThan(20);
    expect(secret.length).toBeGreaterThan(20);
    await page.getByRole('rowheader', { name: 'e2e-agent' }).waitFor();
    await browser.shot(page, 'devices-token-once');
    const whoami = await t.app.inject({
      method: 'GET',
      url: '/v1/agent/whoami',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(whoami.statusCode).toBe(200);
    await page.getByRole('rowheader', { name: hostile }).waitFor();
    expect(await page.locator('table img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    await page.reload();
    await page.getByRole('rowheader', { name: 'e2e-agent' }).waitFor();
    expect(await page.content()).not.toContain(token);
    expect(await page.getByLabel('Device token').count()).toBe(0);
    // Revoked: the page says so, and the token stops working.
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'e2e-agent' }) });
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('button', { name: 'Yes, revoke e2e-agent' }).click();
    await page.getByText('e2e-agent was revoked: its token stopped working.').waitFor();
    const revoked = await t.app.inject({
      method: 'GET',
      url: '/v1/agent/whoami',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(revoked.statusCode).toBe(401);

    // Policy: critical handoffs are denied at once; an invalid value is refused with the reason.
    await nav.getByRole('link', { name: 'Policy' }).click();
    const policy = page.getByRole('form', { name: 'Escalation policy' });
    // A step on a channel this server lacks is flagged before saving.
    const high = policy.getByRole('group', { name: 'high step 1' });
    await high.getByLabel('Step 1 channel').selectOption('slack');
    await high.getByText('slack is not configured on this server').waitFor();
    await high.getByLabel('Step 1 channel').selectOption('console');
    expect(await high.getByText('is not configured').count()).toBe(0);
    const critical = policy.getByRole('group', { name: 'risk: critical' });
    await critical.getByLabel('Approvals needed (quorum)').fill('two');
    await policy.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('critical approvals needed must be a whole number').waitFor();
    await critical.getByLabel('Approvals needed (quorum)').fill('1');
    await critical.getByLabel('Rule').selectOption('deny');
    await policy.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Policy saved.').waitFor();
    const stored = await as(t, admin, 'GET', '/v1/admin/policies');
    const levels = stored.json<{ escalation_policy: { levels: Record<string, { rule: string }> } }>()
      .escalation_policy.levels;
    expect(levels.critical!.rule).toBe('deny');
    expect(levels.high!.rule).toBe('approve');

    // Channels: status and a test message to the admin (console: the server log).
    await page.getByRole('button', { name: 'Send test (console)' }).click();
    await page.getByText('sent: check your console').waitFor();
    expect(t.logs.some((l) => String(l.msg).includes('TEST from ony'))).toBe(true);
    await browser.shot(page, 'policy-and-channels');

    // Audit: filter, then verify the chain.
    await nav.getByRole('link', { name: 'Audit' }).click();
    const filters = page.getByRole('form', { name: 'Filter the audit chain' });
    await filters.getByLabel('Action').fill('device.created');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    // The unfiltered page also shows device.created: wait for the filtered rows to replace it.
    await expect
      .poll(() => page.getByRole('cell', { name: 'member.invited' }).count(), { timeout: 15_000 })
      .toBe(0);
    await page.getByRole('cell', { name: 'device.created' }).first().waitFor();
    expect(await page.getByRole('cell', { name: 'device.created' }).count()).toBe(2);
    await page.getByRole('button', { name: 'Sign a checkpoint now' }).click();
    await page.getByText(/Checkpoint signed at seq \d+/).waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText(/Chain intact: \d+ entries, head seq \d+; 1 signed checkpoint/).waitFor();
    // The signed note (C2SP tlog-checkpoint text): origin line, size, root hash, signature line.
    const note = await page.locator('pre.checkpoint-note').innerText();
    expect(note.split('\n')[0]).toContain(admin.orgId);
    expect(note).toMatch(/\n— \S+ \S+/);
    await browser.shot(page, 'audit-verified');

    // Phone width: the team table scrolls inside its box, the navigation folds into a menu.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: 'Menu' }).click();
    await nav.getByRole('link', { name: 'Team' }).click();
    await page.getByRole('rowheader', { name: /mia/ }).waitFor();
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
            .documentElement.scrollWidth,
      ),
    ).toBeLessThanOrEqual(390);
    await browser.shot(page, 'team-phone');
    await page.close();
  });

  it('a member sees no admin navigation, no admin page, and the API refuses anyway', async () => {
    const page = await signIn('mia@e2eadmin.test');
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Queue' }).waitFor();
    for (const name of ['Team', 'Devices', 'Policy', 'Audit'])
      expect(await nav.getByRole('link', { name }).count()).toBe(0);
    await page.goto(`${base}/admin/devices`);
    await page.getByRole('heading', { name: 'Not for your role' }).waitFor();
    expect(await page.getByRole('button', { name: 'Create device' }).count()).toBe(0);
    await browser.shot(page, 'member-no-admin');
    // The same session, straight to the API (with its CSRF token on writes).
    const answers = await page.evaluate(async () => {
      const s = (await (await fetch('/v1/auth/session')).json()) as { csrf_token: string };
      const post = (url: string, body: unknown) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf_token },
          body: JSON.stringify(body),
        }).then((r) => r.status);
      return {
        devices: (await fetch('/v1/admin/devices')).status,
        createDevice: await post('/v1/admin/devices', { name: 'sneaky' }),
        invite: await post('/v1/admin/invites', { email: 'x@e2eadmin.test', role: 'admin' }),
        channels: (await fetch('/v1/admin/channels')).status,
        test: await post('/v1/admin/channels/console/test', {}),
        audit: (await fetch('/v1/admin/audit')).status,
      };
    });
    expect(answers).toEqual({
      devices: 403,
      createDevice: 403,
      invite: 403,
      channels: 403,
      test: 403,
      audit: 403,
    });
    const sneaky = await sql<{
      n: number;
    }>`select count(*)::int as n from devices where name = 'sneaky'`.execute(t.database.db);
    expect(sneaky.rows[0]!.n).toBe(0);
    await page.close();
  });
});
