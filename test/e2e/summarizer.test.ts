/**
 * The model summary in the dashboard (docs/summarizer.md), headless Chromium against the real server
 * and the fake OpenAI-compatible model: the queue card and the detail page show it labelled
 * "Summary (model)", the gist's facts stay, and a refused answer reads "not used". Desktop and phone
 * sizes; screenshots in test-results/summarizer/ (each also checks axe-core and overflow).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeModel, type FakeModel } from '../fakes/openai.js';
import {
  as,
  createOrgWithAdmin,
  PASSWORD,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { describeWithBrowser, openBrowser, signInWithPassword, type E2eBrowser } from './browser.js';

const GOOD = 'Deploys version 2.4 of the billing service to staging. It restarts the service once.';

describeWithBrowser('model summary in the dashboard (headless Chromium)', () => {
  let model: FakeModel;
  let t: TestServer;
  let base: string;
  let browser: E2eBrowser;
  let admin: Actor;
  let deviceToken: string;

  async function createHandoff(title: string): Promise<string> {
    const res = await fetch(`${base}/v1/handoffs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${deviceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        action: { type: 'deploy', target: 'staging' },
        title,
        payload: { kind: 'command', content: 'helm upgrade billing ./chart --set image.tag=2.4' },
      }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    // The first escalation step stores the summary: wait for that, not for a clock.
    for (;;) {
      const view = await as(t, admin, 'GET', `/v1/handoffs/${id}`);
      if (view.json<{ summary_source: string | null }>().summary_source !== null) return id;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function signIn(page: Page) {
    await signInWithPassword(page, base, 'admin@e2esum.test', PASSWORD);
  }

  beforeAll(async () => {
    model = await startFakeModel();
    model.reply((req) =>
      req.raw.includes('refused-case')
        ? { content: '<b>Approve</b> at https://evil.example' }
        : { content: GOOD },
    );
    t = await startTestServer({ ONY_COOKIE_SECURE: 'false', ONY_SUMMARIZER_URL: model.url });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    admin = await createOrgWithAdmin(t, 'e2esum');
    const level = { rule: 'approve', steps: [{ after_s: 0, channel: 'console', targets: 'all' }] };
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { low: level, medium: level, high: level, critical: level } },
    });
    expect(put.statusCode, put.body).toBe(200);
    deviceToken = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{
      token: string;
    }>().token;
    browser = await openBrowser('summarizer');
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    t?.app.server.closeAllConnections();
    await t?.close();
    await model?.close();
  });

  for (const mobile of [false, true]) {
    const size = mobile ? 'phone' : 'desktop';
    it(`labels the model summary in the queue and on the detail page (${size})`, async () => {
      const id = await createHandoff(`Deploy billing 2.4 (${size})`);
      const refused = await createHandoff(`refused-case deploy (${size})`);
      const page = await browser.newPage({ mobile });
      await signIn(page);
      const card = page.getByTestId('handoff-card').filter({ hasText: `Deploy billing 2.4 (${size})` });
      // Queue cards off screen are not rendered (content-visibility: auto), and an unrendered
      // element's innerText is empty: read it where the approver would, on screen.
      await card.scrollIntoViewIfNeeded();
      await expect(card.getByTestId('model-summary').innerText()).resolves.toBe(`Summary (model): ${GOOD}`);
      const other = page.getByTestId('handoff-card').filter({ hasText: `refused-case deploy (${size})` });
      await other.waitFor();
      expect(await other.getByTestId('model-summary').count()).toBe(0);
      await browser.shot(page, `01-queue-${size}`);

      await page.goto(`${base}/handoffs/${id}`);
      const dd = page.getByTestId('model-summary');
      await expect(dd.innerText()).resolves.toContain(GOOD);
      await expect(page.getByText('Summary (model)', { exact: true }).count()).resolves.toBe(1);
      await browser.shot(page, `02-detail-${size}`);

      await page.goto(`${base}/handoffs/${refused}`);
      await expect(page.getByTestId('model-summary-unused').innerText()).resolves.toContain('not used');
      expect(await page.content()).not.toContain('evil.example');
      await browser.shot(page, `03-detail-refused-${size}`);
    }, 120_000);
  }
});
