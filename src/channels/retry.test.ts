import { describe, expect, it } from 'vitest';
import { parseRetryAfter, verdictForStatus, withRetry, type RetryVerdict } from './retry.js';

class Httpish extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs?: number,
  ) {
    super(`status ${status}`);
  }
}

const classify = (e: unknown): RetryVerdict =>
  e instanceof Httpish ? verdictForStatus(e.status, e.retryAfterMs) : { retry: false };

/** A fake clock whose sleep moves time, so tests see the delays without waiting. */
function timeline() {
  let t = 0;
  const waits: number[] = [];
  return {
    waits,
    hooks: {
      now: () => t,
      sleep: async (ms: number) => {
        waits.push(ms);
        t += ms;
      },
      random: () => 0.999,
    },
  };
}

describe('withRetry', () => {
  it('retries 429 and 5xx with growing backoff and then succeeds', async () => {
    const tl = timeline();
    const statuses = [503, 502, 429];
    let calls = 0;
    const out = await withRetry(
      async () => {
        calls++;
        const s = statuses.shift();
        if (s !== undefined) throw new Httpish(s);
        return 'ok';
      },
      classify,
      { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000, maxTotalMs: 10_000 },
      tl.hooks,
    );
    expect(out).toBe('ok');
    expect(calls).toBe(4);
    expect(tl.waits).toEqual([100, 200, 400]);
  });

  it('waits at least the Retry-After the provider asked for', async () => {
    const tl = timeline();
    const errors = [new Httpish(429, 3_000)];
    await withRetry(
      async () => {
        const e = errors.shift();
        if (e) throw e;
        return 1;
      },
      classify,
      { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000, maxTotalMs: 10_000 },
      tl.hooks,
    );
    expect(tl.waits).toEqual([3_000]);
  });

  it('does not retry a 4xx or an unknown error', async () => {
    const tl = timeline();
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new Httpish(400);
        },
        classify,
        undefined,
        tl.hooks,
      ),
    ).rejects.toThrow('status 400');
    expect(calls).toBe(1);
    expect(tl.waits).toEqual([]);
  });

  it('gives up after the attempts and throws the last error', async () => {
    const tl = timeline();
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new Httpish(500 + calls);
        },
        classify,
        { attempts: 3, baseDelayMs: 10, maxDelayMs: 100, maxTotalMs: 10_000 },
        tl.hooks,
      ),
    ).rejects.toThrow('status 503');
    expect(calls).toBe(3);
  });

  it('gives up at once when the Retry-After is past the total time bound', async () => {
    const tl = timeline();
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new Httpish(429, 60_000);
        },
        classify,
        { attempts: 5, baseDelayMs: 10, maxDelayMs: 100, maxTotalMs: 20_000 },
        tl.hooks,
      ),
    ).rejects.toThrow('status 429');
    expect(calls).toBe(1);
    expect(tl.waits).toEqual([]);
  });

  it('jitters the backoff between half and all of it', async () => {
    const waits: number[] = [];
    let calls = 0;
    await withRetry(
      async () => {
        if (++calls < 3) throw new Httpish(500);
        return 0;
      },
      classify,
      { attempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000, maxTotalMs: 60_000 },
      { sleep: async (ms) => void waits.push(ms), random: () => 0 },
    );
    expect(waits).toEqual([500, 1000]);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('30', 0)).toBe(30_000);
    expect(parseRetryAfter(2, 0)).toBe(2_000);
    const now = Date.parse('2026-11-01T10:00:00Z');
    expect(parseRetryAfter('Sun, 01 Nov 2026 10:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
