/* global self, clients, URL */
/**
 * The dashboard's service worker (docs/notifications.md): makes the dashboard installable and shows
 * Web Push notifications. It caches nothing (every page and API answer stays live) and handles no
 * fetch. A push holds only the gist (core/push/notification.ts): action type, risk level, redacted
 * title, short code, handoff id and the page's path. Opening the notification focuses an open
 * dashboard tab on the handoff's page, or opens one.
 */
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

/** Only a path on this origin is ever opened (never a URL a push could name elsewhere). */
function safePath(path) {
  return typeof path === 'string' && /^\/handoffs\/[A-Za-z0-9-]{1,64}$/.test(path) ? path : '/';
}

self.addEventListener('push', (event) => {
  let msg = {};
  try {
    msg = event.data ? event.data.json() : {};
  } catch {
    msg = {};
  }
  const level = String(msg.risk_level || '');
  const title = `${level === 'critical' ? 'Critical' : level === 'high' ? 'High' : 'New'} risk: ${String(msg.action_type || 'handoff')} (${String(msg.short_code || '')})`;
  event.waitUntil(
    self.registration.showNotification(title, {
      body: String(msg.title || ''),
      tag: `handoff-${String(msg.handoff_id || '')}`,
      icon: '/icon-192.png',
      badge: '/icon-192.png',
      requireInteraction: level === 'critical',
      data: { path: safePath(msg.path) },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const path = safePath(event.notification.data && event.notification.data.path);
  const target = new URL(path, self.location.origin).href;
  event.waitUntil(
    (async () => {
      const open = await clients.matchAll({ type: 'window', includeUncontrolled: true });
      for (const c of open) {
        if (new URL(c.url).origin === self.location.origin && 'navigate' in c) {
          await c.focus();
          return c.navigate(target);
        }
      }
      return clients.openWindow(target);
    })(),
  );
});
