/**
 * Passkeys end to end in headless Chromium against the real server, with the DevTools protocol's
 * virtual authenticator (`WebAuthn.enable` + `WebAuthn.addVirtualAuthenticator`): enrol a passkey
 * on the Account page, sign out, sign in with password + passkey, approve a critical handoff with
 * "Approve with passkey"; a wrong credential (the registered credential id with another private
 * key) is refused, and a replayed sign-in assertion is refused. The server runs on
 * http://localhost:<port> (a secure context, and a valid relying party id). Screenshots go to
 * test-results/passkeys/.
 */
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import type { CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  as,
  createOrgWithAdmin,
  PASSWORD,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { describeWithBrowser, openBrowser, type E2eBrowser } from './browser.js';

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

async function virtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

describeWithBrowser('passkeys (headless Chromium, virtual authenticator)', () => {
  let t: TestServer;
  let base: string;
  let browser: E2eBrowser;
  let admin: Actor;
  let deviceToken: string;
  let credentialId: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    t = await startTestServer({ ONY_COOKIE_SECURE: 'false', ONY_PUBLIC_URL: base });
    await t.app.listen({ port, host: '127.0.0.1' });
    admin = await createOrgWithAdmin(t, 'e2epk');
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
    deviceToken = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'db-agent' })).json<{
      token: string;
    }>().token;
    browser = await openBrowser('passkeys');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    t?.app.server.closeAllConnections();
    await t?.close();
  });

  async function passwordStep(page: Page) {
    await page.goto(`${base}/sign-in`);
    await page.getByRole('heading', { name: 'Sign in to ony' }).waitFor();
    await page.getByLabel('Email').fill('admin@e2epk.test');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('enrols a passkey on Account, signs in with password + passkey, approves a critical handoff with it', async () => {
    const page = await browser.newPage();
    const { cdp, authenticatorId } = await virtualAuthenticator(page);
    await passwordStep(page);
    await page.locator('nav#main-nav').waitFor({ state: 'attached' });

    await page.goto(`${base}/account`);
    await page.getByRole('heading', { name: 'Passkeys' }).waitFor();
    await page.getByText('You have no passkey.').waitFor();
    await page.getByLabel('Passkey name').fill('Work laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByText('Passkey “Work laptop” added.').waitFor();
    await page.getByRole('cell', { name: 'Work laptop', exact: true }).waitFor();
    await browser.shot(page, '01-account-passkey-added');
    const creds = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(creds.credentials).toHaveLength(1);
    credentialId = creds.credentials[0]!.credentialId;

    // Sign out, then sign in: the password, then the passkey.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in to ony' }).waitFor();
    let signInBody: string | null = null;
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/v1/auth/login') && r.postData()?.includes('"passkey"'))
        signInBody = r.postData();
    });
    await passwordStep(page);
    await page.getByRole('button', { name: 'Use a passkey' }).waitFor();
    await browser.shot(page, '02-sign-in-passkey-step');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.locator('nav#main-nav').waitFor({ state: 'attached' });
    expect(signInBody).not.toBeNull();

    // The same sign-in assertion sent again: its challenge was used.
    const replay = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: signInBody!,
    });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { code: string }).code).toBe('passkey_invalid');

    // A critical handoff: approving it needs a step-up; the passkey gives it.
    const created = await fetch(`${base}/v1/handoffs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${deviceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        action: { type: 'db.query' },
        title: 'Drop the production database',
        payload: { kind: 'sql', content: 'DROP DATABASE prod;' },
      }),
    });
    expect(created.status).toBe(201);
    const h = (await created.json()) as { id: string; short_code: string; risk: { level: string } };
    expect(h.risk.level).toBe('critical');
    await page.goto(`${base}/handoffs/${h.id}`);
    await page.getByRole('heading', { name: 'Drop the production database' }).waitFor();
    // Critical: the short code typed as a deliberate confirmation, on top of the passkey.
    await page.getByLabel(/type the short code/i).fill(h.short_code);
    const withPasskey = page.getByRole('button', { name: 'Approve with passkey' });
    await withPasskey.waitFor();
    await browser.shot(page, '03-handoff-step-up');
    await withPasskey.click();
    await page.getByText('Decision recorded: approved.').waitFor();
    await browser.shot(page, '04-handoff-approved-with-passkey');
    const view = await fetch(`${base}/v1/handoffs/${h.id}`, {
      headers: { authorization: `Bearer ${deviceToken}` },
    });
    expect(((await view.json()) as { status: string }).status).toBe('approved');
    await page.context().close();
  }, 120_000);

  it('a wrong credential (the registered id, another private key) is refused at sign-in', async () => {
    const page = await browser.newPage();
    const { cdp, authenticatorId } = await virtualAuthenticator(page);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await cdp.send('WebAuthn.addCredential', {
      authenticatorId,
      credential: {
        credentialId,
        isResidentCredential: false,
        rpId: 'localhost',
        privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
        signCount: 1000,
      },
    });
    await passwordStep(page);
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /passkey was not accepted/ })
      .waitFor();
    await browser.shot(page, '05-sign-in-wrong-credential');
    expect(await page.locator('nav#main-nav').count()).toBe(0);
    await page.context().close();
  }, 120_000);
});
