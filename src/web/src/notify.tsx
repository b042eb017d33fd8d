/**
 * Notifications (docs/notifications.md): the service worker (installable dashboard, Web Push), the
 * opt-in on this browser (permission is only ever asked after the member presses the button), and
 * tab-open notifications for new handoffs of the levels the member chose, from the live stream.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from './api';
import { useEventStream } from './live';
import { roleAtLeast, useSession } from './session';
import type { HandoffRow } from './types';

export interface NotificationSettings {
  levels: string[];
  web_push: boolean;
  vapid_public_key: string;
  subscriptions: number;
}

const OPT_IN_KEY = 'ony.notifications';
/** Told when the opt-in or the levels change (the Account page), so the notifier follows. */
const CHANGED_EVENT = 'ony:notifications';
export const notificationsChanged = (): void => void window.dispatchEvent(new Event(CHANGED_EVENT));
/** A handoff created longer ago than this is not "new" (a stream event for an old one: a vote). */
const NEW_WITHIN_MS = 2 * 60_000;

export const notificationsSupported = (): boolean => typeof Notification !== 'undefined';
export const pushSupported = (): boolean =>
  'serviceWorker' in navigator && typeof PushManager !== 'undefined';

export const optedIn = (): boolean =>
  notificationsSupported() &&
  Notification.permission === 'granted' &&
  localStorage.getItem(OPT_IN_KEY) === 'on';

/** Registers the service worker (no permission asked: that waits for the opt-in button). */
export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
}

/** A browser whose push service cannot be reached may never answer a subscribe. */
const SUBSCRIBE_TIMEOUT_MS = 10_000;

function withinMs<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

function urlBase64ToBytes(s: string): Uint8Array<ArrayBuffer> {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  const raw = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/**
 * The opt-in: asks for permission (this is the only place that does), then subscribes this browser
 * to Web Push where the browser can. Answers what happened, for the page to say.
 */
export async function enableNotifications(
  settings: NotificationSettings,
): Promise<'enabled' | 'enabled-no-push' | 'denied' | 'unsupported'> {
  if (!notificationsSupported()) return 'unsupported';
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return 'denied';
  localStorage.setItem(OPT_IN_KEY, 'on');
  if (!settings.web_push || !pushSupported()) return 'enabled-no-push';
  try {
    const reg = await withinMs(navigator.serviceWorker.ready, SUBSCRIBE_TIMEOUT_MS);
    const sub =
      (await reg.pushManager.getSubscription()) ??
      (await withinMs(
        reg.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: urlBase64ToBytes(settings.vapid_public_key),
        }),
        SUBSCRIBE_TIMEOUT_MS,
      ));
    await api('POST', '/v1/me/push-subscriptions', sub.toJSON());
    return 'enabled';
  } catch {
    // No push service reachable (a browser without one, offline): tab-open notifications still work.
    return 'enabled-no-push';
  }
}

export async function disableNotifications(): Promise<void> {
  localStorage.removeItem(OPT_IN_KEY);
  if (!pushSupported()) return;
  const reg = await navigator.serviceWorker.getRegistration();
  const sub = await reg?.pushManager.getSubscription();
  if (sub != null) {
    await api('DELETE', '/v1/me/push-subscriptions', { endpoint: sub.endpoint }).catch(() => undefined);
    await sub.unsubscribe().catch(() => undefined);
  }
}

/** Shows one notification: through the service worker where there is one (phones need it). */
async function show(row: HandoffRow): Promise<void> {
  const h = row.handoff;
  const title = `${h.risk.level === 'critical' ? 'Critical' : 'High'} risk: ${h.action.type} (${h.short_code})`;
  const options: NotificationOptions = {
    body: h.title,
    tag: `handoff-${h.id}`,
    icon: '/icon-192.png',
    data: { path: `/handoffs/${h.id}` },
  };
  const reg = 'serviceWorker' in navigator ? await navigator.serviceWorker.getRegistration() : undefined;
  if (reg !== undefined) return reg.showNotification(title, options);
  const n = new Notification(title, options);
  n.onclick = () => {
    window.focus();
    window.location.assign(`/handoffs/${h.id}`);
  };
}

/** With the dashboard open: a notification for each new pending handoff of a chosen level. */
export function TabNotifier() {
  const { member } = useSession();
  const canDecide = member != null && roleAtLeast(member.role, 'member');
  const [levels, setLevels] = useState<string[] | null>(null);
  const seen = useRef(new Set<string>());
  const [enabled, setEnabled] = useState(optedIn);
  const on = canDecide && enabled;
  useEffect(() => {
    const changed = () => setEnabled(optedIn());
    window.addEventListener(CHANGED_EVENT, changed);
    return () => window.removeEventListener(CHANGED_EVENT, changed);
  }, []);
  useEffect(() => {
    if (!on) return;
    const load = () =>
      void api<NotificationSettings>('GET', '/v1/me/notifications')
        .then((s) => setLevels(s.levels))
        .catch(() => undefined);
    load();
    window.addEventListener(CHANGED_EVENT, load);
    return () => window.removeEventListener(CHANGED_EVENT, load);
  }, [on]);
  const onRow = useCallback(
    (row: HandoffRow) => {
      const h = row.handoff;
      if (levels === null || seen.current.has(h.id)) return;
      seen.current.add(h.id);
      if (h.status !== 'pending' || !levels.includes(h.risk.level)) return;
      if (Date.now() - new Date(h.created_at).getTime() > NEW_WITHIN_MS) return;
      void show(row).catch(() => undefined);
    },
    [levels],
  );
  useEventStream<HandoffRow>(on && levels !== null ? '/v1/handoffs/stream' : null, 'handoff', onRow);
  return null;
}
