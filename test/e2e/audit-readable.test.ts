/**
 * The readable audit screen in headless Chromium: names instead of ids (device, member, an erased
 * member's pseudonym), a handoff's short code and title linking to its page, hidden characters in
 * a title shown as escapes, a disclosure per row, and the CSV download of the filtered view.
 * Screenshots at desktop and phone size go to test-results/audit-readable/.
 */
import { readFile } from 'node:fs/promises';
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

describeWithBrowser('readable audit (headless Chromium)', () => {
  let t: TestServer;
  let base: string;
  let browser: E2eBrowser;
  let admin: Actor;
  let handoff: { id: string; short_code: string };
  let erasedId: string;

  beforeAll(async () => {
    browser = await openBrowser('audit-readable');
    t = await startTestServer({ ONY_COOKIE_SECURE: 'false' });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    admin = await createOrgWithAdmin(t, 'e2eaudit');
    const dev = await as(t, admin, 'POST', '/v1/admin/devices', { name: 'release-bot' });
    handoff = await createHandoff(t, dev.json<{ token: string }>().token, {
      action: { type: 'deploy', target: 'production' },
      // A right-to-left override hidden in the title: shown as an escape, never applied.
      title: 'Deploy \u202Eorp\u202C to prod',
    });
    const bob = await addMember(t, admin, 'bob@e2eaudit.test', 'member');
    erasedId = bob.memberId;
    await as(t, admin, 'PATCH', `/v1/admin/members/${bob.memberId}`, { role: 'viewer' });
    await as(t, admin, 'DELETE', `/v1/admin/members/${bob.memberId}`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function signIn(mobile: boolean) {
    const page = await browser.newPage({ mobile });
    await signInWithPassword(page, base, 'admin@e2eaudit.test', PASSWORD);
    await page.goto(`${base}/admin/audit`);
    await page.getByRole('region', { name: 'Audit entries' }).waitFor();
    return page;
  }

  it('shows names and links, expands details, and downloads the filtered view as CSV', async () => {
    const page = await signIn(false);
    const table = page.getByRole('region', { name: 'Audit entries' });
    const created = table.getByRole('row').filter({ hasText: 'handoff.created' });
    await created.getByText('release-bot').waitFor();
    const link = created.getByRole('link', { name: new RegExp(handoff.short_code) });
    expect(await link.getAttribute('href')).toBe(`/handoffs/${handoff.id}`);
    // The hidden override is a visible escape inside the link text.
    expect(await link.locator('mark.hidden-char').first().innerText()).toBe('⟨U+202E⟩');
    // The erased member reads as its pseudonym; their name is gone.
    await table
      .getByRole('row')
      .filter({ hasText: 'member.role_changed' })
      .getByText(`Erased member ${erasedId.slice(0, 8)}`)
      .waitFor();
    expect(await table.innerText()).not.toContain('bob');
    // The admin who made the device is named.
    await table
      .getByRole('row')
      .filter({ hasText: 'device.created' })
      .getByText('Admin of e2eaudit')
      .waitFor();

    // One line per timestamp, the absolute time on hover.
    const time = created.locator('time');
    expect(await time.getAttribute('title')).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \(UTC/);
    const box = await time.boundingBox();
    // The action's code is one line: the time is no taller.
    const oneLine = await created.locator('code').first().boundingBox();
    expect(box!.height).toBeLessThan(oneLine!.height * 1.5);

    // A disclosure per row: the details (ids, meta, hash) open under it.
    const seq = await created.getByRole('rowheader').innerText();
    const toggle = created.getByRole('button', { name: new RegExp(`^(Show|Hide) details of entry ${seq}$`) });
    expect(await toggle.innerText()).toMatch(/^Show/);
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    await toggle.click();
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    const details = page.locator(`#${await toggle.getAttribute('aria-controls')}`.replace(/:/g, '\\:'));
    await details.getByText(handoff.id).waitFor();
    await details.getByText('Hash').waitFor();
    await browser.shot(page, 'audit-desktop');

    // The link lands on the handoff.
    await link.click();
    await page.waitForURL(`${base}/handoffs/${handoff.id}`);

    // CSV of the filtered view: only handoff.created, with names.
    await page.goto(`${base}/admin/audit`);
    const filters = page.getByRole('form', { name: 'Filter the audit chain' });
    await filters.getByLabel('Action').fill('handoff.created');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await expect
      .poll(() => page.getByRole('cell', { name: 'device.created' }).count(), { timeout: 15_000 })
      .toBe(0);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download these entries as CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('audit.csv');
    const csv = await readFile((await download.path())!, 'utf8');
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'seq,at,actor_type,actor_id,actor,action,subject_type,subject_id,subject_short_code,subject,details,hash',
    );
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(',release-bot,handoff.created,handoff,');
    expect(lines[1]).toContain(`,${handoff.short_code},`);
    // The download is in the chain.
    const exported = (await as(t, admin, 'GET', '/v1/admin/audit?action=audit.exported')).json<{
      entries: unknown[];
    }>().entries;
    expect(exported).toHaveLength(1);
  });

  it('reads on a phone', async () => {
    const page = await signIn(true);
    const created = page.getByRole('row').filter({ hasText: 'handoff.created' });
    await created.getByRole('link', { name: new RegExp(handoff.short_code) }).waitFor();
    await created.getByRole('button', { name: /Show details/ }).click();
    await browser.shot(page, 'audit-phone');
  });
});
