/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, spec v1.0.0, symmetric scheme) for
 * agent callbacks. Headers: `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`
 * (`v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, space-separated when several). The key is
 * the base64 part of a `whsec_…` secret. Receivers reject timestamps more than 5 minutes off.
 */
import { randomBytes } from 'node:crypto';
import { WEBHOOK_SECRET_PREFIX, webhookKeyOf, webhookSignature } from '@ony/client';

// Verification is part of the public client (agents verify ony's callbacks with it); one implementation.
export {
  verifyWebhook,
  WEBHOOK_SECRET_PREFIX,
  WEBHOOK_TOLERANCE_SECONDS,
  WebhookVerificationError,
} from '@ony/client';

export type WebhookHeaders = Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>;

/** A new signing secret: `whsec_` + 32 random bytes, base64 (the spec asks for 24–64 bytes). */
export const newWebhookSecret = (): string => `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64')}`;

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
    'webhook-signature': `v1,${webhookSignature(webhookKeyOf(secret), id, seconds, body)}`,
  };
}
