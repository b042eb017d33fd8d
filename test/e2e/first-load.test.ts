/**
 * A first load logs nothing red: signed out, the dashboard's session probe answers 200, so the
 * console has no "Failed to load resource: 401" (nor any other error), and the sign-in page shows.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createOrgWithAdmin, PASSWORD, startTestServer, type TestServer } from '../helpers/app.js';
import { describeWithBrowser, openBrowser, type E2eBrowser } from './browser.js';

describeWithBrowser('first load (headless Chromium)', () => {
  let t: TestServer;
  let base: string;
  let browser: E2eBrowser;

  beforeAll(async () => {
    browser = await openBrowser('first-load');
    t = await startTestServer({ ONY_COOKIE_SECURE: 'false' });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    await createOrgWithAdmin(t, 'e2efirst');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  for (const mobile of [false, true]) {
    it(`no console error signed out, or after signing in (${mobile ? 'phone' : 'desktop'})`, async () => {
      const page = await browser.newPage({ mobile });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      const failed: string[] = [];
      page.on('response', (r) => {
        if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
      });

      await page.goto(`${base}/`);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await browser.shot(page, `signed-out-${mobile ? 'phone' : 'desktop'}`);
      expect(errors).toEqual([]);
      expect(failed).toEqual([]);

      await page.getByLabel('Email').fill('admin@e2efirst.test');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((url) => url.pathname !== '/sign-in');
      await page.reload();
      await page
        .getByRole('button', { name: /Sign out|Menu/ })
        .first()
        .waitFor();
      expect(errors).toEqual([]);
      expect(failed).toEqual([]);
    });
  }
});
