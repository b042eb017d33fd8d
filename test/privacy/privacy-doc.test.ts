/**
 * docs/privacy.md is generated from the code (scripts/privacy-doc.ts); this fails when the checked-in
 * page differs from what the code says now. Fix: `npm run docs:privacy` and commit the page.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { PAGE, renderPrivacyPage, routeFacts, tableFacts } from '../../scripts/privacy-doc.js';

describe('docs/privacy.md', () => {
  it('is what `npm run docs:privacy` generates from the code now', async () => {
    const generated = await renderPrivacyPage();
    const current = await readFile(PAGE, 'utf8');
    // Not toBe(): a stale page would print both 200-line strings; say what to run instead.
    expect(current === generated, 'docs/privacy.md is stale: run `npm run docs:privacy` and commit it').toBe(
      true,
    );
  }, 120_000);

  it('is built from facts: every migration table, every adapter, every route', async () => {
    const tables = await tableFacts();
    const names = tables.map((t) => t.name);
    for (const t of ['members', 'handoffs', 'handoff_payloads', 'audit_events', 'org_keys'])
      expect(names).toContain(t);
    expect(tables.find((t) => t.name === 'handoff_payloads')!.columns).toContain('content_enc');
    expect(tables.find((t) => t.name === 'members')!.tenant).toBe(true);
    const page = await readFile(PAGE, 'utf8');
    for (const t of names) expect(page).toMatch(new RegExp(`\\| \`${t}\` +\\|`));
    // The matrix has a column per channel of the registry, with its declared fields.
    expect(page).toMatch(
      /\| field +\| console +\| email +\| phone +\| push +\| slack +\| sms +\| telegram +\|/,
    );
    expect(page).not.toMatch(/payload, raw command or target, unredacted text, tokens +\|[^\n]*yes/);
    const routes = await routeFacts();
    const decision = routes.find((r) => r.url === '/v1/handoffs/:id/decision' && r.method === 'POST');
    expect(decision).toMatchObject({ auth: 'session', role: 'member' });
    expect(routes.every((r) => !r.auth.startsWith('refused'))).toBe(true);
  }, 120_000);
});
