/**
 * Notifications end to end in headless Chromium (issue #22 §2, docs/notifications.md):
 *   - loading the dashboard asks for no permission; the Account page's button does (granted through
 *     playwright's `grantPermissions`), and the service worker is registered from the same origin;
 *   - with the dashboard open, a new critical handoff raises a notification (observed by wrapping
 *     `ServiceWorkerRegistration.prototype.showNotification` and `Notification` with `addInitScript`);
 *   - a push for a subscription created with the fake push service's endpoint is signed, encrypted,
 *     decrypted by the fake (test/fakes/webpush.ts), then handed to the dashboard's service worker
 *     through the DevTools protocol (`ServiceWorker.deliverPushMessage`), which shows it;
 *   - the manifest, icons and service worker are served under the unchanged CSP.
 * Screenshots (desktop and phone) go to test-results/notify/.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakePushService, type FakePushService } from '../fakes/webpush.js';
import {
  as,
  createOrgWithAdmin,
  PASSWORD,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';
import { describeWithBrowser, openBrowser, signInWithPassword, type E2eBrowser } from './browser.js';

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

/** The little of the DOM's types these page functions use (the tests compile without the DOM lib). */
interface Browserish {
  navigator: {
    serviceWorker: {
      ready: Promise<{
        active: { scriptURL: string } | null;
        getNotifications(): Promise<{ title: string; body: string; data: unknown }[]>;
      }>;
    };
  };
}

/** Records every notification the page shows, and every permission request. */
const RECORDER = `
  window.__shown = [];
  window.__asked = 0;
  if (typeof ServiceWorkerRegistration !== 'undefined') {
    const orig = ServiceWorkerRegistration.prototype.showNotification;
    ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
      window.__shown.push({ title, body: options && options.body, path: options && options.data && options.data.path });
      return orig.call(this, title, options);
    };
  }
  if (typeof Notification !== 'undefined') {
    const ask = Notification.requestPermission.bind(Notification);
    Notification.requestPermission = function (...a) { window.__asked++; return ask(...a); };
  }
`;

describeWithBrowser('notifications (headless Chromium, fake push service)', () => {
  let t: TestServer;
  let fake: FakePushService;
  let base: string;
  let browser: E2eBrowser;
  let admin: Actor;
  let deviceToken: string;

  beforeAll(async () => {
    fake = await startFakePushService();
    const port = await freePort();
    base = `http://localhost:${port}`;
    t = await startTestServer({
      ONY_COOKIE_SECURE: 'false',
      ONY_PUBLIC_URL: base,
      ONY_PUSH_SUBJECT: 'mailto:ops@ony.test',
      ONY_WEB_PUSH: 'true',
      ONY_PUSH_ALLOW_HOSTS: fake.host,
    });
    await t.app.listen({ port, host: '127.0.0.1' });
    admin = await createOrgWithAdmin(t, 'e2enotify');
    deviceToken = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'ops-agent' })).json<{
      token: string;
    }>().token;
    browser = await openBrowser('notify');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    t?.app.server.closeAllConnections();
    await t?.close();
    await fake?.close();
  });

  async function signIn(page: Page) {
    await signInWithPassword(page, base, 'admin@e2enotify.test', PASSWORD);
  }

  async function create(body: Record<string, unknown>) {
    const res = await fetch(`${base}/v1/handoffs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${deviceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; short_code: string; risk: { level: string } };
  }

  it('serves the manifest, icons and service worker under the same CSP', async () => {
    const manifest = await fetch(`${base}/manifest.webmanifest`);
    expect(manifest.status).toBe(200);
    const m = (await manifest.json()) as { icons: { src: string }[]; start_url: string; display: string };
    expect(m.display).toBe('standalone');
    for (const icon of m.icons) expect((await fetch(`${base}${icon.src}`)).status).toBe(200);
    const sw = await fetch(`${base}/sw.js`);
    expect(sw.status).toBe(200);
    expect(sw.headers.get('content-type')).toMatch(/javascript/);
    expect(sw.headers.get('cache-control')).toBe('no-store');
    const csp = sw.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("worker-src 'self'");
    expect(csp).toContain("manifest-src 'self'");
    expect(csp).not.toContain('unsafe');
  });

  it('opts in with a button, then notifies of a new critical handoff while the tab is open', async () => {
    const page = await browser.newPage();
    await page.context().grantPermissions(['notifications'], { origin: base });
    await page.addInitScript(RECORDER);
    await signIn(page);
    // The service worker registers on load; no permission was asked for.
    const script = await page.evaluate(
      async () =>
        (await (globalThis as unknown as Browserish).navigator.serviceWorker.ready).active?.scriptURL,
    );
    expect(script).toBe(`${base}/sw.js`);
    expect(await page.evaluate(() => (globalThis as unknown as { __asked: number }).__asked)).toBe(0);

    await page.goto(`${base}/account`);
    await page.getByRole('heading', { name: 'Notifications' }).waitFor();
    await page.getByLabel('New critical-risk handoffs').waitFor();
    expect(await page.getByLabel('New critical-risk handoffs').isChecked()).toBe(true);
    await browser.shot(page, '01-account-notifications-off');
    await page.getByRole('button', { name: 'Turn on notifications on this browser' }).click();
    await page.getByText(/Notifications are on/).waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { __asked: number }).__asked)).toBe(1);
    await page.getByRole('button', { name: 'Turn off notifications on this browser' }).waitFor();
    await browser.shot(page, '02-account-notifications-on');

    await page.goto(`${base}/`);
    await page.getByText('Live: updates appear by themselves').waitFor();
    const h = await create({
      action: { type: 'shell.exec' },
      title: 'Delete the web pod',
      payload: { kind: 'command', content: 'kubectl delete pod web-1 -n prod' },
    });
    expect(h.risk.level).toBe('critical');
    const shown = await page.waitForFunction(
      (code) =>
        (globalThis as unknown as { __shown: { title: string; body: string; path: string }[] }).__shown.find(
          (n) => n.title.includes(code),
        ),
      h.short_code,
    );
    expect(await shown.jsonValue()).toEqual({
      title: `Critical risk: shell.exec (${h.short_code})`,
      body: 'Delete the web pod',
      path: `/handoffs/${h.id}`,
    });
    // A low one does not notify.
    const low = await create({ action: { type: 'other' }, title: 'Say hello' });
    await page.getByText('Say hello').waitFor();
    expect(
      await page.evaluate(
        (code) =>
          (globalThis as unknown as { __shown: { title: string }[] }).__shown.some((n) =>
            n.title.includes(code),
          ),
        low.short_code,
      ),
    ).toBe(false);
    await browser.shot(page, '03-queue-after-notification');
  });

  it('a push through the fake push service reaches the service worker, which shows it', async () => {
    const page = await browser.newPage({ mobile: true });
    await page.context().grantPermissions(['notifications'], { origin: base });
    await signIn(page);
    await page.goto(`${base}/account`);
    await page.getByRole('heading', { name: 'Notifications' }).waitFor();
    await browser.shot(page, '04-account-phone');

    // A subscription made with the fake's endpoint (a browser's own goes to its vendor's service).
    const key = (await as(t, admin, 'GET', '/v1/me/notifications')).json<{ vapid_public_key: string }>()
      .vapid_public_key;
    const sub = fake.subscribe(key);
    expect((await as(t, admin, 'POST', '/v1/me/push-subscriptions', sub.json)).statusCode).toBe(201);
    const h = await create({
      action: { type: 'deploy', target: 'production' },
      title: 'Deploy web to production',
    });
    expect(h.risk.level).toBe('high');
    const push = await fake.next((p) => p.subscriptionId === sub.id && p.message?.handoff_id === h.id);
    expect(push.status).toBe(201);

    // Hand the decrypted message to the dashboard's service worker, as the browser would.
    const cdp = await page.context().newCDPSession(page);
    type Registration = { registrationId: string; scopeURL: string };
    const registered = new Promise<Registration>((resolve) =>
      cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: Registration[] }) => {
        const found = e.registrations.find((r) => r.scopeURL === `${base}/`);
        if (found !== undefined) resolve(found);
      }),
    );
    await cdp.send('ServiceWorker.enable');
    const reg = await registered;
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: base,
      registrationId: reg.registrationId,
      data: JSON.stringify(push.message),
    });
    // Polled: getNotifications() answers a promise, which waitForFunction would take as truthy.
    const shownBySw = (code: string) =>
      page.evaluate(async (c) => {
        const r = await (globalThis as unknown as Browserish).navigator.serviceWorker.ready;
        const n = (await r.getNotifications()).find((x) => x.title.includes(c));
        return n ? { title: n.title, body: n.body, data: n.data } : null;
      }, code);
    await expect
      .poll(() => shownBySw(h.short_code), { timeout: 15_000 })
      .toEqual({
        title: `High risk: deploy (${h.short_code})`,
        body: 'Deploy web to production',
        data: { path: `/handoffs/${h.id}` },
      });
  });
});
