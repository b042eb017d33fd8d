/**
 * "Add to Slack" from the dashboard in headless Chromium (issue #24): the admin's channel page says
 * the org uses the server's workspace, the button goes through Slack's authorize page (the fake
 * approves at once) and back to ony's callback with the admin's session, and the page then shows the
 * org's own workspace; uninstalling goes back to the server's. Screenshots go to
 * test-results/slack-install/.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from '../fakes/slack.js';
import { createOrgWithAdmin, PASSWORD, startTestServer, type TestServer } from '../helpers/app.js';
import { freePort } from '../helpers/server-process.js';
import { describeWithBrowser, openBrowser, type E2eBrowser } from './browser.js';

describeWithBrowser('Add to Slack from the dashboard (headless Chromium)', () => {
  let t: TestServer;
  let fake: FakeSlack;
  let base: string;
  let browser: E2eBrowser;

  beforeAll(async () => {
    browser = await openBrowser('slack-install');
    fake = await startFakeSlack();
    // Slack sends the browser back to the public URL: it must be where this server listens.
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestServer({
      ONY_COOKIE_SECURE: 'false',
      ONY_PUBLIC_URL: base,
      ONY_SLACK_BOT_TOKEN: fake.botToken,
      ONY_SLACK_SIGNING_SECRET: fake.signingSecret,
      ONY_SLACK_API_URL: fake.apiUrl,
      ONY_SLACK_CLIENT_ID: fake.clientId,
      ONY_SLACK_CLIENT_SECRET: fake.clientSecret,
    });
    await t.app.listen({ port, host: '127.0.0.1' });
    await createOrgWithAdmin(t, 'e2eslack');
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await fake?.close();
  });

  it('installs the workspace through Slack and back, then uninstalls it', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/sign-in`);
    await page.getByLabel('Email').fill('admin@e2eslack.test');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.goto(`${base}/admin/channels`);
    const slack = page.getByRole('heading', { name: 'Slack', level: 3 });
    await slack.waitFor();
    await page.getByText("Workspace in use: the server's (set by the operator)").waitFor();
    await browser.shot(page, 'before');

    await page.getByRole('button', { name: 'Add to Slack' }).click();
    await page.waitForURL(/\/admin\/channels\?slack=installed/);
    await page.getByText("Workspace in use: this organization's own").waitFor();
    await browser.shot(page, 'installed');
    expect(fake.calls.some((c) => c.method === 'oauth.v2.access')).toBe(true);

    await page.getByRole('button', { name: 'Uninstall the own workspace' }).click();
    await page.getByRole('button', { name: "Yes, revoke its token and go back to the server's bot" }).click();
    await page.getByText('Slack workspace uninstalled.').waitFor();
    await page.getByText("Workspace in use: the server's (set by the operator)").waitFor();
    expect(fake.calls.some((c) => c.method === 'auth.revoke')).toBe(true);
  });
});
