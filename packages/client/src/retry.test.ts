import { describe, expect, it } from 'vitest';
import {
  isRetryableStatus,
  isUnreachableError,
  parseRetryAfter,
  retryDelayMs,
  RETRY_POLICY,
} from './retry.js';

const coded = (code: string) => Object.assign(new Error(code), { code });

describe('the retry policy', () => {
  it('retries 502, 503, 504, 408 and 429; every other status is an answer', () => {
    expect([502, 503, 504, 408, 429].every(isRetryableStatus)).toBe(true);
    expect([200, 400, 401, 403, 404, 409, 410, 422, 500, 501].some(isRetryableStatus)).toBe(false);
  });

  it('recognises a server that cannot be reached, however the error is wrapped', () => {
    const fetchFailed = new TypeError('fetch failed', { cause: coded('ECONNREFUSED') });
    expect(isUnreachableError(fetchFailed)).toBe(true);
    expect(isUnreachableError(new TypeError('fetch failed', { cause: coded('UND_ERR_SOCKET') }))).toBe(true);
    expect(isUnreachableError(coded('ECONNRESET'))).toBe(true);
    expect(isUnreachableError(new AggregateError([coded('ECONNREFUSED')]))).toBe(true);
    expect(isUnreachableError(new TypeError('fetch failed', { cause: coded('CERT_HAS_EXPIRED') }))).toBe(
      false,
    );
    expect(isUnreachableError(new Error('boom'))).toBe(false);
    expect(isUnreachableError(undefined)).toBe(false);
  });

  it('reads Retry-After as seconds or an HTTP date, capped, and ignores anything else', () => {
    const now = Date.parse('2026-12-07T10:00:00Z');
    expect(parseRetryAfter('5', now)).toBe(5_000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('3600', now)).toBe(RETRY_POLICY.maxRetryAfterMs);
    expect(parseRetryAfter('Mon, 07 Dec 2026 10:00:07 GMT', now)).toBe(7_000);
    expect(parseRetryAfter('Mon, 07 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('backs off exponentially from 250 ms to a 5 s cap, with equal jitter; Retry-After wins', () => {
    const exp = [250, 500, 1000, 2000, 4000, 5000, 5000, 5000];
    exp.forEach((e, i) => {
      expect(retryDelayMs(i + 1, 0)).toBe(e / 2);
      expect(retryDelayMs(i + 1, 0.999999)).toBe(e);
    });
    expect(retryDelayMs(1000, 0.5)).toBe(3750);
    expect(retryDelayMs(3, 0.5, 1_000)).toBe(1_000);
  });
});
