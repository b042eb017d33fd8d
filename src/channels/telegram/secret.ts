/**
 * The webhook's proof of origin: Telegram echoes the `secret_token` given to `setWebhook` in the
 * `X-Telegram-Bot-Api-Secret-Token` header of every delivery (DESIGN.md §7). Pure.
 */
import { createHmac } from 'node:crypto';
import { safeEqual } from '../../lib/crypto.js';

export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/** What Telegram accepts as a secret_token: 1-256 of A-Z a-z 0-9 _ -. */
export const SECRET_TOKEN_RE = /^[A-Za-z0-9_-]{1,256}$/;

/**
 * Constant-time comparison of the header with the configured secret (both hashed first, so neither
 * the content nor the length leaks through timing). A missing or repeated header never matches.
 */
export function secretTokenMatches(expected: string, sent: string | readonly string[] | undefined): boolean {
  if (typeof sent !== 'string' || sent === '' || expected === '') return false;
  return safeEqual(sent, expected);
}

/**
 * The secret when the operator sets none: derived from the bot token, so it is the same in every
 * replica and across restarts, and only someone holding the bot token (who could call setWebhook
 * anyway) can compute it. 43 base64url characters.
 */
export function deriveWebhookSecret(botToken: string): string {
  return createHmac('sha256', botToken).update('ony telegram webhook secret v1').digest('base64url');
}
