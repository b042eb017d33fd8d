/**
 * Phone ownership and call records in the dashboard, end to end in headless Chromium against the
 * real server (built dashboard, real API, fresh database) and the Twilio fake playing the phone
 * network: a member sets a number on the Account page, asks for a code by SMS, reads it from the
 * fake's outbox, gets the tries-left text for a wrong code and "verified" for the right one; the
 * admin sees the verified mark next to the masked number on the Team page; a handoff whose phone
 * call was answered, denied with 2 and ended shows that call (masked number, outcome, duration) in
 * its timeline, and a handoff without calls shows no call and no error. Screenshots go to
 * test-results/phone/.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { maskPhone } from '../../src/lib/phone.js';
import { startTwilioFake } from '../fakes/twilio.js';
import type { TelephonyFake } from '../fakes/telephony.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  PASSWORD,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { describeWithBrowser, openBrowser, type E2eBrowser } from './browser.js';

/** The public URL the fake signs its webhooks for (it sends them to the listening server instead). */
const PUBLIC_URL = 'https://ony.test';
const MO_PHONE = '+14155550123';

describeWithBrowser('phone ownership and call records (headless Chromium)', () => {
  let t: TestServer;
  let fake: TelephonyFake;
  let base: string;
  let browser: E2eBrowser;
  let admin: Actor;
  let mo: Actor;
  let deviceToken: string;

  const createHandoff = async (title: string) => {
    const res = await fetch(`${base}/v1/handoffs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${deviceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: { type: 'deploy', target: 'staging' }, title }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; risk: { level: string } };
  };

  beforeAll(async () => {
    // First: it builds dist/web when stale, and the server serves the files it finds at start.
    browser = await openBrowser('phone');
    fake = await startTwilioFake({ publicUrl: PUBLIC_URL });
    t = await startTestServer({ ...fake.env, ONY_PUBLIC_URL: PUBLIC_URL, ONY_COOKIE_SECURE: 'false' });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    fake.setTarget(base);
    admin = await createOrgWithAdmin(t, 'e2ephone');
    mo = await addMember(t, admin, 'mo@e2ephone.test', 'member');
    const dev = await as(t, admin, 'POST', '/v1/admin/devices', { name: 'deploy-bot' });
    deviceToken = dev.json<{ token: string }>().token;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    t?.app.server.closeAllConnections();
    await t?.close();
    await fake?.close();
  });

  async function signIn(email: string, opts: { mobile?: boolean } = {}) {
    const page = await browser.newPage(opts);
    await page.goto(`${base}/sign-in`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Attached, not visible: on a phone the navigation folds behind the Menu button.
    await page.locator('nav#main-nav').waitFor({ state: 'attached' });
    return page;
  }

  it('a member sets a number, gets a code by SMS, a wrong code says the tries left, the right one verifies', async () => {
    const page = await signIn('mo@e2ephone.test');
    await page.goto(`${base}/account`);
    await page.getByRole('heading', { name: 'Profile' }).waitFor();
    // No number yet: nothing to verify.
    expect(await page.getByTestId('phone-state').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Send code by SMS' }).count()).toBe(0);
    await page.getByText('Calls and SMS reach only a verified number').waitFor();
    await page.getByText('1A 123456', { exact: true }).waitFor();

    await page.getByLabel('Phone (for calls and SMS)').fill(MO_PHONE);
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('Saved.', { exact: true }).waitFor();
    const state = page.getByTestId('phone-state');
    await state.getByText('not verified', { exact: true }).waitFor();
    await browser.shot(page, '01-account-not-verified');

    // Ask for a code by SMS; the fake's outbox has it.
    const sms = fake.waitForSms(MO_PHONE);
    await page.getByRole('button', { name: 'Send code by SMS' }).click();
    const text = (await sms).text;
    const code = /\b(\d{6})\b/.exec(text)?.[1];
    expect(code, text).toBeDefined();
    await page.getByText(/^Code sent by SMS; it is valid until/).waitFor();

    // A second code within the minute is refused with the API's words.
    await page.getByRole('button', { name: 'Call me with the code' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'At most one code per minute; wait and try again.' })
      .waitFor();
    expect(fake.calls.filter((c) => c.to === MO_PHONE)).toHaveLength(0);

    // A wrong code: the tries left, still not verified.
    await page.getByLabel('6-digit code').fill(code === '000000' ? '000001' : '000000');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('alert').filter({ hasText: 'That code is not right (4 tries left)' }).waitFor();
    await browser.shot(page, '02-account-wrong-code');
    expect((await as(t, mo, 'GET', '/v1/me')).json()).toMatchObject({ phone_verified: false });

    // The right code.
    await page.getByLabel('6-digit code').fill(code!);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await state.getByText('verified', { exact: true }).waitFor();
    await page.getByText('Your phone number is verified.').waitFor();
    expect(await page.getByRole('heading', { name: 'Verify your phone number' }).count()).toBe(0);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect((await as(t, mo, 'GET', '/v1/me')).json()).toMatchObject({
      phone: MO_PHONE,
      phone_verified: true,
    });
    await browser.shot(page, '03-account-verified');
    await page.context().close();
  });

  it('the admin sees the verified mark next to the masked number on the Team page', async () => {
    const page = await signIn('admin@e2ephone.test', { mobile: true });
    await page.goto(`${base}/admin/team`);
    const row = page.getByRole('row', { name: /mo@e2ephone\.test/ });
    await row.getByText(maskPhone(MO_PHONE), { exact: true }).waitFor();
    await row.getByText('✓ verified', { exact: true }).waitFor();
    // The admin (no number) gets no mark; the full number is nowhere on the page.
    const adminRow = page.getByRole('row', { name: /admin@e2ephone\.test/ });
    expect(await adminRow.getByText(/verified/).count()).toBe(0);
    expect(await page.content()).not.toContain(MO_PHONE);
    await browser.shot(page, '04-team-verified-phone');
    await page.context().close();
  });

  it('a handoff shows its finished phone call in the timeline; one without calls shows none and no error', async () => {
    // Before any phone step: a handoff with no call.
    const quiet = await createHandoff('Deploy docs to staging');
    const page = await signIn('mo@e2ephone.test');
    await page.goto(`${base}/handoffs/${quiet.id}`);
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await page.locator('ol.timeline li').first().waitFor();
    expect((await as(t, mo, 'GET', `/v1/handoffs/${quiet.id}/calls`)).json()).toEqual([]);
    expect(
      await page
        .locator('ol.timeline')
        .getByText(/Phone call/)
        .count(),
    ).toBe(0);
    expect(await page.getByText('Phone calls could not be loaded').count()).toBe(0);
    expect(await page.getByRole('alert').count()).toBe(0);

    // Every level that asks a human rings the verified members.
    const level = { rule: 'approve', steps: [{ after_s: 0, channel: 'phone', targets: 'all' }] };
    const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
      escalation_policy: { levels: { medium: level, high: level, critical: level } },
    });
    expect(put.statusCode, put.body).toBe(200);
    const h = await createHandoff('Deploy api to staging');
    expect(h.risk.level).not.toBe('low');

    // The phone rings; mo answers, presses 2 (deny) and the call ends after 17 s.
    const call = await fake.waitForCall(MO_PHONE);
    const heard = await fake.answer(call.id, { answeredBy: 'human' });
    expect(heard.gather?.digits).toBe(1);
    const denied = await fake.press(call.id, '2');
    expect(denied.hungUp).toBe(true);
    // The page is open when the call ends: its record appears without a reload.
    await page.goto(`${base}/handoffs/${h.id}`);
    await page.getByRole('heading', { name: 'Deploy api to staging' }).waitFor();
    await page.locator('ol.timeline li').filter({ hasText: 'Denied by mo via phone' }).waitFor();
    expect((await fake.end(call.id, 'completed', 17)).status).toBe(200);
    const calls = (await as(t, mo, 'GET', `/v1/handoffs/${h.id}/calls`)).json<{ outcome: string }[]>();
    expect(calls.map((c) => c.outcome)).toEqual(['denied']);
    const entry = page
      .locator('ol.timeline li')
      .filter({ hasText: `Phone call to ${maskPhone(MO_PHONE)}: denied, 17 s` });
    await entry.waitFor({ timeout: 20_000 });
    expect(await entry.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await page.content()).not.toContain(MO_PHONE);
    await browser.shot(page, '05-handoff-call-timeline');
    await page.context().close();
  });
});
