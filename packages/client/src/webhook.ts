/**
 * Standard Webhooks (https://www.standardwebhooks.com, spec v1.0.0, symmetric scheme) verification,
 * the receiver's side of ony's signed decision callbacks. Headers: `webhook-id`, `webhook-timestamp`
 * (unix seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`,
 * space-separated when several). The key is the base64 part of a `whsec_…` secret. Timestamps more
 * than 5 minutes off are rejected.
 *
 * Part of `@ony/client`: it needs nothing but `node:crypto` (and `node:buffer`, imported rather than
 * taken from the global so Deno and Bun find it too). The server signs with the same primitives
 * (src/lib/webhook-signature.ts imports them from the package).
 */
import { Buffer } from 'node:buffer';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The HMAC key of a `whsec_…` secret (the prefix is optional, as in the official libraries). */
export function webhookKeyOf(secret: string): Uint8Array {
  const encoded = secret.startsWith(WEBHOOK_SECRET_PREFIX)
    ? secret.slice(WEBHOOK_SECRET_PREFIX.length)
    : secret;
  if (encoded === '' || !BASE64.test(encoded)) throw new Error('webhook secret must be whsec_<base64 key>');
  return Buffer.from(encoded, 'base64');
}

/** The base64 signature of one message: HMAC-SHA256(key, "{id}.{seconds}.{body}"). */
export const webhookSignature = (key: Uint8Array, id: string, seconds: number, body: string): string =>
  createHmac('sha256', key).update(`${id}.${seconds}.${body}`, 'utf8').digest('base64');

/** Constant-time comparison that leaks neither content nor length through an early exit. */
function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/**
 * Headers as a receiver has them: a fetch `Headers`, Node's `req.headers` (values may be arrays),
 * or a plain record. Names are matched case-insensitively.
 */
export type WebhookHeadersInput =
  { get(name: string): string | null } | Readonly<Record<string, string | readonly string[] | undefined>>;

function headerOf(headers: WebhookHeadersInput, name: string): string | undefined {
  if (typeof headers.get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  for (const [key, value] of Object.entries(
    headers as Record<string, string | readonly string[] | undefined>,
  )) {
    if (key.toLowerCase() !== name) continue;
    // A header sent twice arrives as an array: several signatures are space-separated anyway.
    return typeof value === 'string' ? value : value?.join(' ');
  }
  return undefined;
}

/**
 * Verifies a delivery: throws `WebhookVerificationError` on missing headers, a timestamp more than
 * 5 minutes from `now` in either direction, or no matching `v1` signature. `body` must be the exact
 * bytes received (before any JSON parsing).
 */
export function verifyWebhook(
  secret: string,
  headers: WebhookHeadersInput,
  body: string,
  now: Date = new Date(),
): void {
  const id = headerOf(headers, 'webhook-id');
  const timestamp = headerOf(headers, 'webhook-timestamp');
  const signatures = headerOf(headers, 'webhook-signature');
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

  const expected = webhookSignature(webhookKeyOf(secret), id, seconds, body);
  let matched = false;
  for (const versioned of signatures.split(' ')) {
    const comma = versioned.indexOf(',');
    if (comma < 0 || versioned.slice(0, comma) !== 'v1') continue;
    // No early exit: every candidate is compared, in constant time.
    if (safeEqual(versioned.slice(comma + 1), expected)) matched = true;
  }
  if (!matched) throw new WebhookVerificationError('no matching webhook signature');
}
