/**
 * Web Push (issue #22 §2), the pure parts: which risk levels may notify, what a push carries (the
 * redacted gist only: never the payload, the summary, the target or the raw command), and the shape
 * of a browser's PushSubscription. No I/O.
 */
import { showHidden } from '../hidden-characters.js';

/** The levels a member can choose to be notified of (new handoffs only). */
export const NOTIFY_LEVELS = ['high', 'critical'] as const;
export type NotifyLevel = (typeof NOTIFY_LEVELS)[number];
export const DEFAULT_NOTIFY_LEVELS: readonly NotifyLevel[] = NOTIFY_LEVELS;

export const isNotifyLevel = (level: string): level is NotifyLevel =>
  (NOTIFY_LEVELS as readonly string[]).includes(level);

/** The title in a push is cut to this many characters (after hidden characters are shown). */
export const PUSH_TITLE_MAX = 120;

/** Everything a push may hold: read by the service worker to show the notification. */
export interface PushNotification {
  readonly v: 1;
  readonly handoff_id: string;
  readonly short_code: string;
  readonly action_type: string;
  readonly risk_level: string;
  /** The redacted title, hidden characters as visible escapes, bounded. */
  readonly title: string;
  /** The dashboard page of the handoff (a path, so the notification opens this server's page). */
  readonly path: string;
}

export function pushNotification(message: {
  readonly handoffId: string;
  readonly shortCode: string;
  readonly actionType: string;
  readonly riskLevel: string;
  readonly title: string;
}): PushNotification {
  const shown = showHidden(message.title);
  const title =
    shown.length > PUSH_TITLE_MAX ? `${[...shown].slice(0, PUSH_TITLE_MAX - 1).join('')}…` : shown;
  return {
    v: 1,
    handoff_id: message.handoffId,
    short_code: message.shortCode,
    action_type: message.actionType,
    risk_level: message.riskLevel,
    title,
    path: `/handoffs/${encodeURIComponent(message.handoffId)}`,
  };
}

/** A browser's subscription, as `PushSubscription.toJSON()` gives it. */
export interface PushSubscriptionInput {
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

export type SubscriptionProblem = 'p256dh' | 'auth';

const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;

function decodeB64Url(s: string): Buffer | undefined {
  if (!B64URL.test(s)) return undefined;
  return Buffer.from(s.replace(/=+$/, ''), 'base64url');
}

/**
 * Checks the keys of a subscription (the endpoint is checked by the SSRF guard): `p256dh` is an
 * uncompressed P-256 point (65 bytes, 0x04 first), `auth` a 16-byte secret (RFC 8291 §3). Answers
 * the first bad field, or undefined when both are well-formed.
 */
export function subscriptionProblem(keys: PushSubscriptionInput['keys']): SubscriptionProblem | undefined {
  const p256dh = decodeB64Url(keys.p256dh);
  if (p256dh === undefined || p256dh.length !== 65 || p256dh[0] !== 0x04) return 'p256dh';
  const auth = decodeB64Url(keys.auth);
  if (auth === undefined || auth.length !== 16) return 'auth';
  return undefined;
}
