/**
 * Browser tests drive Debian's Chromium (/usr/bin/chromium) with playwright-core: no browser is
 * downloaded. Without Chromium the browser tests are skipped, loudly; with ONY_REQUIRE_BROWSER=1
 * (CI) a missing browser fails instead. Screenshots go to test-results/<suite>/ (gitignored; CI keeps
 * them as artifacts). The dashboard is built to dist/web first when it is missing or older than
 * src/web or the core module it bundles (one build at a time across test files).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { describe, it } from 'vitest';
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
    ensureWebBuild();
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

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Builds dist/web when it is missing or older than src/web; a lock directory serialises builds. */
export function ensureWebBuild(): void {
  const index = join(WEB_DIR, 'index.html');
  // The dashboard also bundles the one core module it shares with the channels.
  const sources = () =>
    Math.max(
      newestMtime(join(ROOT, 'src/web')),
      statSync(join(ROOT, 'src/core/hidden-characters.ts')).mtimeMs,
    );
  const fresh = () => existsSync(index) && statSync(index).mtimeMs >= sources();
  if (fresh()) return;
  const lock = join(tmpdir(), 'ony-web-build.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than two minutes belongs to a build that died.
      if (Date.now() > deadline || Date.now() - statSync(lock).mtimeMs > 120_000) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      sleepSync(250);
    }
  }
  try {
    if (fresh()) return;
    execFileSync('npx', ['vite', 'build', '--config', 'src/web/vite.config.ts', '--logLevel', 'warn'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
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
  ensureWebBuild();
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
