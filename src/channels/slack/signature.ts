/**
 * Slack request signing, v0 (https://docs.slack.dev/authentication/verifying-requests-from-slack):
 * `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:{timestamp}:{raw body}")>` with
 * `X-Slack-Request-Timestamp` in Unix seconds. A request is accepted only when its timestamp is
 * within five minutes of our clock and the signature matches in constant time, checked over the
 * exact bytes received, before anything in the body is parsed. Pure: `now` is an argument.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's own tolerance: older (or newer) requests may be replays. */
export const SLACK_MAX_SKEW_SECONDS = 300;

export type SlackSignatureCheck =
  { readonly ok: true } | { readonly ok: false; readonly reason: 'missing' | 'stale' | 'mismatch' };

export function slackSignature(signingSecret: string, timestamp: string, rawBody: string | Buffer): string {
  const mac = createHmac('sha256', signingSecret);
  mac.update(`v0:${timestamp}:`);
  mac.update(rawBody);
  return `v0=${mac.digest('hex')}`;
}

export function verifySlackSignature(
  signingSecret: string,
  headers: { readonly signature: string | undefined; readonly timestamp: string | undefined },
  rawBody: string | Buffer,
  now: Date,
): SlackSignatureCheck {
  const { signature, timestamp } = headers;
  if (signature === undefined || timestamp === undefined) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'missing' };
  const skew = Math.abs(Math.floor(now.getTime() / 1000) - Number(timestamp));
  if (skew > SLACK_MAX_SKEW_SECONDS) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(slackSignature(signingSecret, timestamp, rawBody), 'utf8');
  const sent = Buffer.from(signature, 'utf8');
  // Equal lengths first (timingSafeEqual demands it); the length of a v0 signature is public.
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
    return { ok: false, reason: 'mismatch' };
  }
  return { ok: true };
}
