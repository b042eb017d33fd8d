/**
 * Deciding on the detail page, end to end in headless Chromium against the real server (issue #22
 * §1): a deny's preset reason reaching the agent's long-poll; Extend seen by the waiting agent; the
 * typed short code a critical approval needs (a wrong code refused, the right one approves).
 * Screenshots (each checked by axe-core and for horizontal overflow) at desktop and phone sizes go to
 * test-results/decide/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  as,
  createOrgWithAdmin,
  PASSWORD,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { describeWithBrowser, openBrowser, signInWithPassword, type E2eBrowser } from './browser.js';

interface View {
  id: string;
  short_code: string;
  status: string;
  expires_at: string;
  risk: { level: string };
  decision: { outcome: string; reason: string | null; comment: string | null } | null;
}

describeWithBrowser('deciding on the detail page (headless Chromium)', () => {
  let t: TestServer;
  let base: string;
  let browser: E2eBrowser;
  let admin: Actor;
  let deviceToken: string;

  const create = async (body: Record<string, unknown>): Promise<View> => {
    const res = await fetch(`${base}/v1/handoffs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${deviceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as View;
  };
  /** The agent's long-poll, as the SDKs and the hook wait. */
  const longPoll = async (id: string, wait = 60): Promise<View> => {
    const res = await fetch(`${base}/v1/handoffs/${id}?wait=${wait}`, {
      headers: { authorization: `Bearer ${deviceToken}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as View;
  };

  beforeAll(async () => {
    t = await startTestServer({ ONY_COOKIE_SECURE: 'false' });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    admin = await createOrgWithAdmin(t, 'e2edecide');
    // A password session may approve critical here: the typed code is what this file tests.
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { critical: { min_assurance: 'A1' } } },
    });
    expect(put.statusCode, put.body).toBe(200);
    deviceToken = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'deploy-agent' })).json<{
      token: string;
    }>().token;
    browser = await openBrowser('decide');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    t?.app.server.closeAllConnections();
    await t?.close();
  });

  async function signIn(page: Page) {
    await signInWithPassword(page, base, 'admin@e2edecide.test', PASSWORD);
  }

  it('a deny with a preset reason and a comment reaches the agent waiting on its long-poll', async () => {
    const h = await create({
      action: { type: 'deploy', target: 'prod-eu' },
      title: 'Deploy v2.3 to prod-eu',
    });
    const waiting = longPoll(h.id);
    const page = await browser.newPage();
    await signIn(page);
    await page.goto(`${base}/handoffs/${h.id}`);
    await page.getByRole('heading', { name: 'Deploy v2.3 to prod-eu' }).waitFor();
    await page.getByLabel(/Reason, if you deny/).selectOption('wrong_target');
    await page.getByLabel(/Comment/).fill('Use prod-us first');
    await browser.shot(page, '01-deny-with-reason-desktop');
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByText('Decision recorded: denied.').waitFor();
    await page.getByText('wrong target').first().waitFor();
    await browser.shot(page, '02-denied-with-reason-desktop');
    const seen = await waiting;
    expect(seen.status).toBe('denied');
    expect(seen.decision).toMatchObject({ reason: 'wrong_target', comment: 'Use prod-us first' });
    await page.context().close();
  }, 120_000);

  it('Extend shows the time left and the waiting agent sees the new expiry (phone size)', async () => {
    const h = await create({
      action: { type: 'deploy', target: 'staging' },
      title: 'Deploy to staging',
      timeout_s: 120,
    });
    const waiting = longPoll(h.id);
    const page = await browser.newPage({ mobile: true });
    await signIn(page);
    await page.goto(`${base}/handoffs/${h.id}`);
    await page.getByRole('heading', { name: 'Deploy to staging' }).waitFor();
    const extend = page.getByRole('form', { name: 'Extend' });
    await extend.getByText(/Time left:/).waitFor();
    await browser.shot(page, '03-extend-phone');
    await extend.getByLabel('Add').selectOption({ label: '1 hour' });
    await extend.getByRole('button', { name: 'Extend' }).click();
    await page.getByText(/Extended: it now expires at/).waitFor();
    await browser.shot(page, '04-extended-phone');
    const now = await fetch(`${base}/v1/handoffs/${h.id}`, {
      headers: { authorization: `Bearer ${deviceToken}` },
    });
    const extended = (await now.json()) as View;
    expect(new Date(extended.expires_at).getTime()).toBe(new Date(h.expires_at).getTime() + 3_600_000);
    // The long-poll did not end at the Extend: it answers the decision, with the new expiry.
    const deny = await as(t, admin, 'POST', `/v1/handoffs/${h.id}/decision`, { decision: 'deny' });
    expect(deny.statusCode, deny.body).toBe(200);
    expect(await waiting).toMatchObject({ status: 'denied', expires_at: extended.expires_at });
    await page.context().close();
  }, 120_000);

  for (const mobile of [false, true]) {
    const size = mobile ? 'phone' : 'desktop';
    it(`a critical approval needs the short code typed: a wrong code is refused, the right one approves (${size})`, async () => {
      const h = await create({
        action: { type: 'db.query' },
        title: `Drop the production database (${size})`,
        payload: { kind: 'sql', content: 'DROP DATABASE prod;' },
      });
      expect(h.risk.level).toBe('critical');
      const page = await browser.newPage({ mobile });
      await signIn(page);
      await page.goto(`${base}/handoffs/${h.id}`);
      await page.getByRole('heading', { name: `Drop the production database (${size})` }).waitFor();
      const typed = page.getByLabel(/type the short code/i);
      await typed.fill(h.short_code === 'ZZZZZZ' ? 'YYYYYY' : 'ZZZZZZ');
      await page.getByRole('button', { name: 'Approve', exact: true }).click();
      await page.getByText(/That is not this handoff's short code/).waitFor();
      await browser.shot(page, `05-critical-wrong-code-${size}`);
      expect(
        (await (
          await fetch(`${base}/v1/handoffs/${h.id}`, {
            headers: { authorization: `Bearer ${deviceToken}` },
          })
        ).json()) as View,
      ).toMatchObject({ status: 'pending' });
      await typed.fill(h.short_code);
      await page.getByRole('button', { name: 'Approve', exact: true }).click();
      await page.getByText('Decision recorded: approved.').waitFor();
      await browser.shot(page, `06-critical-approved-${size}`);
      await page.context().close();
    }, 120_000);
  }
});
