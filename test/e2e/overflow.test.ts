/**
 * Hostile text never widens a page: handoffs whose title, summary, target and payload hold a long
 * unbroken word, a long URL and bidi/zero-width characters, a device and a member with long names,
 * and every screen visited at 1440 and 390 px wide. `shot()` asserts scrollWidth <= clientWidth
 * (and axe-core's WCAG 2.1 AA rules) on each. Screenshots go to test-results/overflow/.
 */
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
import { createHandoff } from '../helpers/chat.js';
import { describeWithBrowser, openBrowser, signInWithPassword, type E2eBrowser } from './browser.js';

const WORD = 'Unbreakable'.repeat(18); // 198 characters, no break opportunity
const LONG_WORD = 'Antidisestablishment'.repeat(15); // 300 characters
const URL = `https://example.com/${'deeply-nested-path/'.repeat(20)}?query=${'x'.repeat(80)}`;
const BIDI = 'approve \u202Egnp.exe\u202C and \u200Bzero\u200Dwidth\u2066isolate\u2069';

describeWithBrowser('no horizontal overflow with hostile text (headless Chromium)', () => {
  let t: TestServer;
  let base: string;
  let browser: E2eBrowser;
  let admin: Actor;
  const handoffs: string[] = [];

  beforeAll(async () => {
    browser = await openBrowser('overflow');
    t = await startTestServer({ ONY_COOKIE_SECURE: 'false' });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    admin = await createOrgWithAdmin(t, 'e2eoverflow');
    await addMember(t, admin, `${'longname'.repeat(8)}@e2eoverflow.test`, 'member');
    const dev = await as(t, admin, 'POST', '/v1/admin/devices', { name: 'Device'.repeat(16) });
    const token = dev.json<{ token: string }>().token;
    const bodies = [
      {
        action: { type: 'deploy', target: LONG_WORD },
        title: WORD,
        summary: `${LONG_WORD} ${URL}`,
        payload: { kind: 'text', content: `${LONG_WORD}\n${URL}\n${BIDI}` },
      },
      { action: { type: 'other', target: URL }, title: URL.slice(0, 200), summary: URL },
      {
        action: { type: 'shell.exec' },
        title: BIDI,
        summary: BIDI,
        payload: { kind: 'command', content: `echo ${LONG_WORD} # ${BIDI}` },
      },
    ];
    for (const body of bodies) handoffs.push((await createHandoff(t, token, body)).id);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const SCREENS = [
    ['queue', '/'],
    ['history', '/history'],
    ['account', '/account'],
    ['team', '/admin/team'],
    ['devices', '/admin/devices'],
    ['policy', '/admin/policy'],
    ['channels', '/admin/channels'],
    ['audit', '/admin/audit'],
    ['insights', '/admin/insights'],
  ] as const;

  async function signIn(page: Page) {
    await signInWithPassword(page, base, 'admin@e2eoverflow.test', PASSWORD);
  }

  /** Opens a screen and waits until it has loaded (no "Loading" left). */
  async function visit(page: Page, path: string) {
    await page.goto(`${base}${path}`);
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    await expect.poll(() => page.getByText(/^Loading/).count(), { timeout: 15_000 }).toBe(0);
  }

  for (const size of ['desktop', 'phone'] as const) {
    it(`every screen at ${size === 'desktop' ? '1440' : '390'} px`, async () => {
      const page = await browser.newPage({ mobile: size === 'phone' });
      if (size === 'desktop') await page.setViewportSize({ width: 1440, height: 900 });
      await signIn(page);
      for (const [name, path] of SCREENS) {
        await visit(page, path);
        if (name === 'policy') {
          // Each level says what it will do, in words.
          await page
            .getByText('a high-risk handoff will: show it to everyone on the server console')
            .waitFor();
        }
        await browser.shot(page, `${name}-${size}`);
      }
      for (const [i, id] of handoffs.entries()) {
        await visit(page, `/handoffs/${id}`);
        await browser.shot(page, `handoff-${i + 1}-${size}`);
      }
    }, 300_000);
  }
});
