/**
 * Headless Chromium for the admin e2e (a stop-gap until the shared test/e2e/browser.ts exists):
 * Debian's /usr/bin/chromium driven by playwright-core. Without a browser the suite is skipped with
 * a loud warning, unless ONY_REQUIRE_BROWSER=1 (CI), where a missing browser fails.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { describe, it } from 'vitest';

const CHROMIUM = process.env.ONY_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const browserAvailable = existsSync(CHROMIUM);

export function describeWithBrowser(name: string, body: () => void): void {
  if (browserAvailable) return void describe(name, body);
  if (process.env.ONY_REQUIRE_BROWSER === '1') {
    describe(name, () => {
      it('needs a browser', () => {
        throw new Error(`ONY_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install -y chromium)`);
      });
    });
    return;
  }
  console.warn(
    `\n!!! SKIPPING browser tests "${name}": ${CHROMIUM} not found (apt-get install -y chromium) !!!\n`,
  );
  describe.skip(name, body);
}

export interface E2eBrowser {
  newPage(): Promise<Page>;
  /** A full-page screenshot to test-results/<suite>/<name>.png (kept as a CI artifact). */
  shot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openBrowser(suite: string): Promise<E2eBrowser> {
  const out = join(process.cwd(), 'test-results', suite);
  await mkdir(out, { recursive: true });
  // playwright-core gives each launch a fresh, temporary --user-data-dir.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const contexts: BrowserContext[] = [];
  return {
    async newPage() {
      // Each page its own cookie jar (one signed-in person per page).
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      contexts.push(ctx);
      return ctx.newPage();
    },
    async shot(page, name) {
      await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
    },
  };
}
