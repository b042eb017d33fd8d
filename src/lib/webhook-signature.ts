/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, spec v1.0.0, symmetric scheme) for
 * agent callbacks. Headers: `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`
 * (`v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, space-separated when several). The key is
 * the base64 part of a `whsec_…` secret. Receivers reject timestamps more than 5 minutes off.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { safeEqual } from './crypto.js';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export type WebhookHeaders = Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>;

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A new signing secret: `whsec_` + 32 random bytes, base64 (the spec asks for 24–64 bytes). */
export const newWebhookSecret = (): string => `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64')}`;

/** The HMAC key of a `whsec_…` secret (the prefix is optional, as in the official libraries). */
function keyOf(secret: string): Buffer {
  const encoded = secret.startsWith(WEBHOOK_SECRET_PREFIX)
    ? secret.slice(WEBHOOK_SECRET_PREFIX.length)
    : secret;
  if (encoded === '' || !BASE64.test(encoded)) throw new Error('webhook secret must be whsec_<base64 key>');
  return Buffer.from(encoded, 'base64');
}

const signature = (key: Buffer, id: string, seconds: number, body: string): string =>
  createHmac('sha256', key).update(`${id}.${seconds}.${body}`, 'utf8').digest('base64');

/**
 * Signs one delivery. `id` is the message id (stable across retries, the receiver's idempotency
 * key); `timestamp` is the attempt time (new on every retry). `body` must be the exact bytes sent.
 */
export function signWebhook(secret: string, id: string, timestamp: Date, body: string): WebhookHeaders {
  // The spec: the id must not contain "." (it is the field separator of the signed content).
  if (id === '' || id.includes('.')) throw new Error('webhook id must be non-empty and contain no "."');
  const seconds = Math.floor(timestamp.getTime() / 1000);
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new Error('webhook timestamp is invalid');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(seconds),
    'webhook-signature': `v1,${signature(keyOf(secret), id, seconds, body)}`,
  };
}

/**
 * Verifies a delivery (receiver side; ony uses it in tests and for its own inbound Standard Webhooks).
 * Header names are matched case-insensitively. Throws `WebhookVerificationError` on missing headers,
 * a timestamp more than 5 minutes from `now` in either direction, or no matching `v1` signature.
 */
export function verifyWebhook(
  secret: string,
  headers: Record<string, string | undefined>,
  body: string,
  now: Date,
): void {
  const lower: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  const id = lower['webhook-id'];
  const timestamp = lower['webhook-timestamp'];
  const signatures = lower['webhook-signature'];
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook headers');

  if (!/^\d{1,15}$/.test(timestamp)) throw new WebhookVerificationError('invalid webhook-timestamp');
  const seconds = Number(timestamp);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (nowSeconds - seconds > WEBHOOK_TOLERANCE_SECONDS) {
    throw new WebhookVerificationError('webhook timestamp too old');
  }
  if (seconds - nowSeconds > WEBHOOK_TOLERANCE_SECONDS) {
    throw new WebhookVerificationError('webhook timestamp too far in the future');
  }

  const expected = signature(keyOf(secret), id, seconds, body);
  let matched = false;
  for (const versioned of signatures.split(' ')) {
    const comma = versioned.indexOf(',');
    if (comma < 0 || versioned.slice(0, comma) !== 'v1') continue;
    // No early exit: every candidate is compared, in constant time.
    if (safeEqual(versioned.slice(comma + 1), expected)) matched = true;
  }
  if (!matched) throw new WebhookVerificationError('no matching webhook signature');
}
