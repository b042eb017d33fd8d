import { describe, expect, it } from 'vitest';
import { deriveWebhookSecret, SECRET_TOKEN_RE, secretTokenMatches } from './secret.js';

describe('webhook secret token', () => {
  const secret = 'S3cret_token-for-the-webhook';

  it('matches only the exact secret', () => {
    expect(secretTokenMatches(secret, secret)).toBe(true);
    expect(secretTokenMatches(secret, `${secret}x`)).toBe(false);
    expect(secretTokenMatches(secret, secret.slice(0, -1))).toBe(false);
    expect(secretTokenMatches(secret, secret.toUpperCase())).toBe(false);
    expect(secretTokenMatches(secret, '')).toBe(false);
    expect(secretTokenMatches(secret, undefined)).toBe(false);
    expect(secretTokenMatches(secret, [secret, secret])).toBe(false);
    expect(secretTokenMatches('', '')).toBe(false);
  });

  it('derives a stable secret Telegram accepts, different per bot token', () => {
    const a = deriveWebhookSecret('123456:AAAAAAAAAAAAAAAAAAAA');
    expect(a).toBe(deriveWebhookSecret('123456:AAAAAAAAAAAAAAAAAAAA'));
    expect(a).not.toBe(deriveWebhookSecret('123456:AAAAAAAAAAAAAAAAAAAB'));
    expect(a).toMatch(SECRET_TOKEN_RE);
    expect(a).toHaveLength(43);
    expect(a).not.toContain('AAAAAAAAAAAAAAAAAAAA');
  });
});
