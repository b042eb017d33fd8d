/**
 * The Insights page end to end in headless Chromium against the real server: seeded decisions with
 * known timings (the test clock) show their numbers in the charts' table views, the noisy action's
 * suggestion links to the policy page, "Show payload" on a handoff is recorded as the admin's first
 * payload fetch, and a member has no Insights page. Screenshots go to test-results/insights/.
 */
import { sql } from 'kysely';
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
import { sleep } from '../helpers/jobs.js';
import { describeWithBrowser, openBrowser, type E2eBrowser } from './browser.js';

describeWithBrowser('insights page (headless Chromium)', () => {
  let t: TestServer;
  let base: string;
  let browser: E2eBrowser;
  let admin: Actor;
  let withPayload: string;

  async function create(token: string, body: Record<string, unknown>): Promise<string> {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/handoffs',
      headers: { authorization: `Bearer ${token}` },
      payload: { title: 'insights e2e', ...body },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  }

  beforeAll(async () => {
    browser = await openBrowser('insights');
    t = await startTestServer({ ONY_COOKIE_SECURE: 'false' });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    admin = await createOrgWithAdmin(t, 'e2einsights');
    await addMember(t, admin, 'mo@e2einsights.test', 'member');
    const token = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'ci-3' })).json<{
      token: string;
    }>().token;
    const T0 = t.clock.now().getTime();
    const staging = [];
    for (let i = 0; i < 5; i++)
      staging.push(await create(token, { action: { type: 'deploy', target: 'staging' } }));
    const prod = await create(token, { action: { type: 'deploy', target: 'prod' } });
    const ids = [...staging, prod];
    // Every first escalation attempt recorded at T0 (before the clock moves).
    for (let tries = 0; ; tries++) {
      const { rows } = await sql<{ handoff_id: string }>`
        select distinct handoff_id from escalation_attempts`.execute(t.database.db);
      if (ids.every((id) => rows.some((r) => r.handoff_id === id))) break;
      if (tries > 300) throw new Error('the escalation attempts were not recorded');
      await sleep(50);
    }
    t.clock.advance(T0 + 2_000 - t.clock.now().getTime());
    for (const id of staging)
      expect(
        (await as(t, admin, 'POST', `/v1/handoffs/${id}/decision`, { decision: 'approve' })).statusCode,
      ).toBe(200);
    t.clock.advance(8_000);
    expect(
      (await as(t, admin, 'POST', `/v1/handoffs/${prod}/decision`, { decision: 'deny' })).statusCode,
    ).toBe(200);
    withPayload = await create(token, {
      action: { type: 'file.write', target: 'notes.md' },
      title: 'a note',
      payload: { kind: 'text', content: 'hello from the payload' },
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function signIn(email: string) {
    const page = await browser.newPage();
    await page.goto(`${base}/sign-in`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    return page;
  }

  it('shows an admin the numbers, in charts with table views, and the noisy action', async () => {
    const page = await signIn('admin@e2einsights.test');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Insights' }).click();
    await page.getByRole('heading', { name: 'Insights', level: 1 }).waitFor();
    const totals = page.getByRole('definition').first();
    await totals.waitFor();
    // Six people-decided handoffs and one allowed by policy (the low file.write).
    await expect(totals.innerText()).resolves.toBe('7');

    const timeByLevel = page.getByRole('figure', { name: 'Time to decision by risk level' });
    await timeByLevel.getByText('Table view').click();
    const table = timeByLevel.getByRole('table', { name: 'Time to decision by risk level' });
    await table.waitFor();
    const rows = await table.getByRole('row').allInnerTexts();
    expect(rows.map((r) => r.split('\t').map((c) => c.trim()))).toEqual([
      ['', 'median', 'p90'],
      ['low', '—', '—'],
      ['medium', '2 s', '2 s'],
      ['high', '10 s', '10 s'],
    ]);
    // The chart draws the same numbers as SVG (no third-party origin, no library).
    expect(await timeByLevel.locator('svg[role="img"] rect.bar').count()).toBeGreaterThan(0);

    const channels = page.getByRole('figure', { name: 'Decisions by channel' });
    await channels.getByText('Table view').click();
    const chRows = await channels.getByRole('table').getByRole('row').allInnerTexts();
    expect(chRows.map((r) => r.split('\t').map((c) => c.trim()))).toEqual([
      ['', 'decisions'],
      ['web', '6'],
      ['policy', '1'],
    ]);

    const noisy = page.getByRole('list', { name: 'Noisy actions' }).getByRole('listitem');
    await expect(noisy.allInnerTexts()).resolves.toEqual([
      '100% of `staging` (deploy) handoffs from device `ci-3` were approved within 5 s: allow by policy? Change the policy',
    ]);
    await browser.shot(page, '01-insights');
    await noisy.getByRole('link', { name: 'Change the policy' }).click();
    await page.getByRole('heading', { name: 'Policy', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin/policy');
  });

  it('records "Show payload" as the first payload fetch', async () => {
    const page = await signIn('admin@e2einsights.test');
    await page.goto(`${base}/handoffs/${withPayload}`);
    await page.getByRole('heading', { name: 'a note' }).waitFor();
    const row = async () =>
      (
        await sql<{ payload_expanded_at: Date | null }>`
          select payload_expanded_at from handoff_views where handoff_id = ${withPayload}`.execute(
          t.database.db,
        )
      ).rows;
    // Opened: a view, the payload still folded.
    expect(await page.getByRole('region', { name: 'Payload (text)' }).count()).toBe(0);
    expect(await row()).toEqual([{ payload_expanded_at: null }]);
    await page.getByRole('button', { name: 'Show payload' }).click();
    await page.getByRole('region', { name: 'Payload (text)' }).getByText('hello from the payload').waitFor();
    expect((await row())[0]!.payload_expanded_at).toBeInstanceOf(Date);
  });

  it('has no Insights page for a member', async () => {
    const page = await signIn('mo@e2einsights.test');
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Queue' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Insights' }).count()).toBe(0);
  });
});
