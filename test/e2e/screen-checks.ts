/**
 * Checks every browser test runs on each screen it visits:
 * - axe-core's WCAG 2.1 A/AA rules, with zero violations;
 * - no horizontal page scroll (the page is never wider than the viewport).
 *
 * axe is evaluated through the DevTools protocol (page.evaluate), which the dashboard's CSP does
 * not govern, so the CSP stays as strict in tests as in production.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/** Runs axe-core (WCAG 2.0/2.1 A and AA) on the page as it is now; fails listing each violation. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const loaded = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe !== 'undefined');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  // Evaluated as page source: the test project's types have no DOM.
  const violations = await page.evaluate<AxeViolation[]>(`
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
      .then((r) => r.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
      })))`);
  expect(
    violations.map(
      (v) => `${v.id} (${v.impact ?? '?'}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`,
    ),
    `axe violations on ${screen}`,
  ).toEqual([]);
}

/** The document is no wider than the viewport: long words wrap instead of widening the page. */
export async function expectNoHorizontalOverflow(page: Page, screen: string): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate<{ scrollWidth: number; clientWidth: number }>(
    '({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth })',
  );
  expect(
    scrollWidth,
    `horizontal overflow on ${screen} (scrollWidth ${scrollWidth} > ${clientWidth})`,
  ).toBeLessThanOrEqual(clientWidth);
}

/** Both checks, for a screen that has finished rendering. */
export async function checkScreen(page: Page, screen: string): Promise<void> {
  await expectAccessible(page, screen);
  await expectNoHorizontalOverflow(page, screen);
}
