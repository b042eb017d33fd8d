/**
 * Browser tests drive Debian's Chromium (/usr/bin/chromium) with playwright-core: no browser is
 * downloaded. Without Chromium the browser tests are skipped, loudly; with ONY_REQUIRE_BROWSER=1
 * (CI) a missing browser fails instead. Screenshots go to test-results/<suite>/ (gitignored; CI keeps
 * them as artifacts). The dashboard is built first when its sources changed (test/helpers/build.ts:
 * one build at a time across test files, none in CI, which builds before testing).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { describe, it } from 'vitest';
import { ensureBuild } from '../helpers/build.js';
import { checkScreen } from './screen-checks.js';

export const CHROMIUM = process.env.ONY_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRED = process.env.ONY_REQUIRE_BROWSER === '1';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const WEB_DIR = join(ROOT, 'dist/web');
const RESULTS = join(ROOT, 'test-results');

export const browserAvailable = existsSync(CHROMIUM);

/**
 * describe() when Chromium is installed; otherwise a loud skip, or (ONY_REQUIRE_BROWSER=1) a
 * failing test that says what to install.
 */
export function describeWithBrowser(name: string, body: () => void): void {
  if (browserAvailable) {
    // Built while the file is collected, before any beforeAll starts a server: the static plugin
    // registers one route per built file at start, so a build after it serves a blank page.
    ensureBuild();
    // A browser flow is many steps, each checked (axe runs on every screenshot): on a loaded
    // 2-core machine one flow can take a minute and more, so each test gets two.
    describe(name, { timeout: 120_000 }, body);
    return;
  }
  if (REQUIRED) {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(
          `ONY_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: apt-get install -y chromium (or set ONY_CHROMIUM)`,
        );
      });
    });
    return;
  }
  console.warn(
    `\n!!! SKIPPING browser tests "${name}": ${CHROMIUM} not found.\n` +
      '!!! Install it with `apt-get install -y chromium` to run them (CI sets ONY_REQUIRE_BROWSER=1 and fails instead).\n',
  );
  describe.skip(name, body);
}

export interface E2eBrowser {
  readonly browser: Browser;
  /** A page in a fresh context (its own cookies), phone-sized when `mobile`. */
  newPage(opts?: { mobile?: boolean }): Promise<Page>;
  /**
   * Saves a full-page screenshot to test-results/<suite>/<name>.png, after checking the screen as
   * it stands: axe-core's WCAG 2.1 AA rules and no horizontal overflow (./screen-checks.ts).
   */
  shot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

/** Launches Chromium for one test file (after making sure the dashboard is built); playwright gives it a fresh profile. */
export async function openBrowser(suite: string): Promise<E2eBrowser> {
  ensureBuild();
  const shots = join(RESULTS, suite);
  mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    async newPage(opts = {}) {
      const context = await browser.newContext(
        opts.mobile === true
          ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }
          : { viewport: { width: 1280, height: 900 } },
      );
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      return page;
    },
    async shot(page, name) {
      await checkScreen(page, `${suite}/${name}`);
      await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
    },
  };
}

/**
 * Signs in with email and the test password through the dashboard's form, and waits until the
 * signed-in shell (its main navigation) is there. Page errors are echoed to the test's output.
 */
export async function signInWithPassword(
  page: Page,
  base: string,
  email: string,
  password: string,
): Promise<void> {
  page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
  await page.goto(`${base}/sign-in`);
  await page.getByRole('heading', { name: 'Sign in to ony' }).waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('nav#main-nav').waitFor({ state: 'attached' });
}
