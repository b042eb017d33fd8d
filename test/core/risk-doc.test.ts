/**
 * docs/risk.md's reason table and confusion matrix are generated from the code and the labelled
 * corpus (scripts/risk-doc.ts); this fails when the checked-in page differs. Fix: `npm run docs:risk`.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { REASON_CODES } from '../../src/core/risk/index.js';
import { PAGE, renderRiskPage } from '../../scripts/risk-doc.js';

describe('docs/risk.md', () => {
  it('is what `npm run docs:risk` generates from the code now', async () => {
    const current = await readFile(PAGE, 'utf8');
    const generated = await renderRiskPage(current);
    expect(current === generated, 'docs/risk.md is stale: run `npm run docs:risk` and commit it').toBe(true);
  }, 120_000);

  it('lists every reason code', async () => {
    const page = await readFile(PAGE, 'utf8');
    for (const code of REASON_CODES) expect(page).toMatch(new RegExp(`\\| \`${code}\` +\\|`));
  });
});
