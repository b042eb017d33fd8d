/**
 * The approver's path end to end in headless Chromium against the real server (built dashboard,
 * real API, fresh database): sign in with TOTP, watch a handoff created by an agent appear live in
 * the queue, open it (a hostile payload and title render inert), approve with TOTP, see the
 * agent's long-poll return, verify the audit chain; a viewer sees no decision buttons and the API
 * refuses the decision anyway; hidden characters (a right-to-left override, a zero-width space, a
 * look-alike letter) show as escapes everywhere on the page and are never applied. Screenshots of
 * each screen go to test-results/approver/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateSync } from 'otplib';
import type { Page } from 'playwright-core';
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
import { describeWithBrowser, openBrowser, WEB_DIR, type E2eBrowser } from './browser.js';

const HOSTILE_TITLE = 'Deploy <img src=x onerror="window.__pwned=1"> now';
const HOSTILE_DIFF = [
  'diff --git a/app.js b/app.js',
  '--- a/app.js',
  '+++ b/app.js',
  '@@ -1,2 +1,2 @@',
  '-const safe = true;',
  '+<script>window.__pwned = 2</script><img src=x onerror="window.__pwned=3">',
  ' unchanged line',
].join('\n');

describeWithBrowser('approver path (headless Chromium)', () => {
  let t: TestServer;
  let base: string;
  let browser: E2eBrowser;
  let admin: Actor;
  let secret: string;
  let deviceToken: string;

  const code = () => generateSync({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) });
  const createHandoff = (body: Record<string, unknown>) =>
    fetch(`${base}/v1/handoffs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${deviceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    t = await startTestServer({ ONY_COOKIE_SECURE: 'false' });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    admin = await createOrgWithAdmin(t, 'e2eappr');
    // The admin approves with TOTP: enrol it, and make every level ask a human with step-up.
    secret = (await as(t, admin, 'POST', '/v1/me/totp')).json<{ secret: string }>().secret;
    expect((await as(t, admin, 'POST', '/v1/me/totp/confirm', { code: code() })).statusCode).toBe(200);
    const level = {
      rule: 'approve',
      steps: [{ after_s: 0, channel: 'console', targets: 'all' }],
      required_approvals: 1,
      require_totp: true,
    };
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { low: level, medium: level, high: level, critical: level } },
    });
    expect(put.statusCode, put.body).toBe(200);
    await addMember(t, admin, 'vera@e2eappr.test', 'viewer');
    const dev = await as(t, admin, 'POST', '/v1/admin/devices', { name: 'build-agent' });
    deviceToken = dev.json<{ token: string }>().token;
    t.clock.advance(31_000); // the next TOTP step: the enrolment code cannot be used again
    browser = await openBrowser('approver');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    t?.app.server.closeAllConnections();
    await t?.close();
  });

  async function signIn(page: Page, email: string, withTotp: boolean) {
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'Sign in to ony' }).waitFor();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    if (withTotp) {
      await page.getByLabel('Authentication code').waitFor();
      await page.getByLabel('Authentication code').fill(code());
      await browser.shot(page, '01-sign-in-totp');
      await page.getByRole('button', { name: 'Verify' }).click();
    }
    // Attached, not visible: on a phone the navigation folds behind the Menu button.
    await page.locator('nav#main-nav').waitFor({ state: 'attached' });
  }

  it('first-load JavaScript stays under 200 KB gzipped', () => {
    const html = readFileSync(join(WEB_DIR, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    const gz = scripts.reduce(
      (n, src) => n + gzipSync(readFileSync(join(WEB_DIR, src.replace(/^\//, ''))), { level: 9 }).length,
      0,
    );
    console.log(`dashboard first-load JavaScript: ${(gz / 1024).toFixed(1)} KB gzipped`);
    expect(gz).toBeLessThan(200 * 1024);
  });

  it('wrong password and wrong code get clear errors', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/sign-in`);
    await page.getByLabel('Email').fill('admin@e2eappr.test');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: /wrong/i }).waitFor();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Authentication code').fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /code is wrong/i })
      .waitFor();
    await browser.shot(page, '00-sign-in-error');
    await page.context().close();
  });

  it('signs in with TOTP, sees a handoff arrive live, approves it with TOTP; the agent’s long-poll returns', async () => {
    const page = await browser.newPage();
    const pwned: string[] = [];
    page.on('dialog', (d) => {
      pwned.push(d.message());
      void d.dismiss();
    });
    await signIn(page, 'admin@e2eappr.test', true);
    await page.getByRole('heading', { name: 'Waiting for a decision' }).waitFor();
    await page.getByText('Live: updates appear by themselves').waitFor();

    // The agent asks; the queue shows it without a reload.
    const created = await createHandoff({
      action: { type: 'deploy', target: 'production' },
      title: HOSTILE_TITLE,
      summary: 'Ship <b>v2</b> to production',
      payload: { kind: 'diff', content: HOSTILE_DIFF },
    });
    expect(created.status).toBe(201);
    const h = (await created.json()) as { id: string; short_code: string };
    const card = page.getByTestId('handoff-card').filter({ hasText: h.short_code });
    await card.waitFor();
    await card.getByText('from build-agent').waitFor();
    await browser.shot(page, '02-queue-live');

    // The agent waits (long-poll) while the human decides.
    const longPoll = fetch(`${base}/v1/handoffs/${h.id}?wait=60`, {
      headers: { authorization: `Bearer ${deviceToken}` },
    }).then((r) => r.json() as Promise<{ status: string; decision: { channel: string } | null }>);

    await card.getByRole('link').first().click(); // the title (the card also has "Open to decide")
    await page.getByRole('heading', { name: HOSTILE_TITLE }).waitFor();
    // The payload stays folded until asked for (the insights record that it was opened).
    await page.getByRole('button', { name: 'Show payload' }).click();
    // The hostile payload is text: no element came from it and nothing ran.
    const payload = page.getByRole('region', { name: 'Payload (diff)' });
    await payload.waitFor();
    await expect(payload.textContent()).resolves.toContain('<script>window.__pwned = 2</script>');
    expect(await payload.locator('img, script').count()).toBe(0);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.locator('.line.add').count()).toBe(1);
    expect(await page.locator('.line.del').count()).toBe(1);
    await browser.shot(page, '03-handoff-detail');

    t.clock.advance(31_000); // a fresh TOTP step (the sign-in code cannot be replayed)
    await page.getByLabel(/Comment/).fill('LGTM');
    await page.getByLabel(/Authentication code/).fill(code());
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Decision recorded: approved.').waitFor();
    await page.getByLabel('Decision record').waitFor();
    await browser.shot(page, '04-handoff-approved');

    const answer = await longPoll;
    expect(answer.status).toBe('approved');
    expect(answer.decision?.channel).toBe('web');
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(pwned).toEqual([]);

    // History shows it with its filters.
    await page.goto(`${base}/history?status=approved`);
    await page.getByTestId('handoff-card').filter({ hasText: h.short_code }).waitFor();
    await browser.shot(page, '05-history');

    // Account: TOTP on, sessions listed.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
    await page.getByText('Two-factor sign-in is').waitFor();
    await page.getByText('(this one)').waitFor();
    await browser.shot(page, '06-account');

    // The audit chain verifies (the admin screen; the API answers the same).
    const verify = await as(t, admin, 'GET', '/v1/admin/audit/verify');
    expect(verify.statusCode).toBe(200);
    expect(verify.json<{ ok: boolean }>().ok).toBe(true);
    await page.goto(`${base}/admin/audit`);
    const button = page.getByRole('button', { name: 'Verify chain' });
    if ((await button.count()) > 0) {
      await button.click();
      await page.getByText(/Chain intact/).waitFor();
      await browser.shot(page, '07-audit-verified');
    }
    await page.context().close();
  });

  it('a viewer sees no decision buttons, and the API refuses the decision anyway', async () => {
    const created = await createHandoff({
      action: { type: 'deploy', target: 'staging' },
      title: 'Deploy the worker',
      summary: 'routine',
    });
    const h = (await created.json()) as { id: string };
    const page = await browser.newPage({ mobile: true });
    await signIn(page, 'vera@e2eappr.test', false);
    await page.getByRole('heading', { name: 'Waiting for a decision' }).waitFor();
    await page.getByRole('button', { name: 'Menu' }).click();
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Queue' }).waitFor();
    expect(await nav.getByRole('link', { name: /Team|Devices|Audit/ }).count()).toBe(0);
    await browser.shot(page, '08-queue-phone-viewer-menu');
    await page.goto(`${base}/handoffs/${h.id}`);
    await page.getByRole('heading', { name: 'Deploy the worker' }).waitFor();
    await page.getByText('Viewers can follow handoffs but not decide them.').waitFor();
    expect(await page.getByRole('button', { name: /Approve|Deny/ }).count()).toBe(0);
    await browser.shot(page, '09-handoff-viewer-phone');

    // The viewer's own session, with its CSRF token, is refused by the API.
    const status = await page.evaluate(async (id) => {
      const s = (await (await fetch('/v1/auth/session')).json()) as { csrf_token: string };
      const r = await fetch(`/v1/handoffs/${id}/decision`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf_token },
        body: JSON.stringify({ decision: 'approve' }),
      });
      return r.status;
    }, h.id);
    expect(status).toBe(403);
    const still = await as(t, admin, 'GET', `/v1/handoffs/${h.id}`);
    expect(still.json<{ status: string }>().status).toBe('pending');
    await page.context().close();
  });

  it('shows hidden characters in agent text as escapes and never applies them (Trojan Source)', async () => {
    const created = await createHandoff({
      action: { type: 'file.write', target: 'invoices/\u202Efdp.exe' },
      title: 'invoice\u202Egnp.exe',
      summary: 'attach \u200Bthe file, then r\u043C the rest',
      options: [
        { id: 'approve', label: 'Attach \u202Eti' },
        { id: 'deny', label: 'Deny' },
      ],
      payload: { kind: 'text', content: 'print("ok") \u2066// \u2069 admin\n' },
      context: { host: 'files-\u202E1' },
    });
    expect(created.status).toBe(201);
    const h = (await created.json()) as { id: string; short_code: string };
    const RAW = /[\u202E\u200B\u043C\u2066\u2069]/;

    const page = await browser.newPage();
    t.clock.advance(31_000); // a fresh TOTP step for this sign-in
    await signIn(page, 'admin@e2eappr.test', true);
    const card = page.getByTestId('handoff-card').filter({ hasText: h.short_code });
    await card.waitFor();
    const cardText = await card.innerText();
    expect(cardText).toContain('invoice⟨U+202E⟩gnp.exe');
    expect(cardText).toContain('invoices/⟨U+202E⟩fdp.exe');
    expect(cardText).not.toMatch(RAW);

    await card.getByRole('link').first().click();
    await page.getByRole('heading', { name: 'invoice⟨U+202E⟩gnp.exe' }).waitFor();
    await page.getByRole('button', { name: 'Show payload' }).click();
    await page.getByRole('region', { name: 'Payload (text)' }).waitFor();
    const text = await page.locator('main').innerText();
    for (const shown of [
      'invoice⟨U+202E⟩gnp.exe',
      'attach ⟨U+200B⟩the file, then r⟨U+043C⟩ the rest',
      'invoices/⟨U+202E⟩fdp.exe',
      'files-⟨U+202E⟩1',
      'print("ok") ⟨U+2066⟩// ⟨U+2069⟩ admin',
      'Attach ⟨U+202E⟩ti',
    ])
      expect(text).toContain(shown);
    expect(text).not.toMatch(RAW);
    expect(await page.title()).toBe('invoice⟨U+202E⟩gnp.exe · ony');
    // Each escape is marked so it stands out.
    expect(await page.locator('main mark.hidden-char').count()).toBeGreaterThanOrEqual(7);
    await browser.shot(page, '10-handoff-hidden-characters');
    await page.context().close();
  });
});
