import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isNoisy, noisySuggestion, parseWindow, percentileOfBuckets, rate } from './insights.js';

const now = new Date('2026-12-07T12:00:00Z');

describe('parseWindow', () => {
  it('defaults to the 30 days before now', () => {
    expect(parseWindow(undefined, undefined, now)).toEqual({
      ok: true,
      from: new Date('2026-11-07T12:00:00Z'),
      to: now,
    });
  });
  it('reads dates as midnight UTC and date-times with their zone', () => {
    expect(parseWindow('2026-12-01', '2026-12-01T10:00:00+02:00', now)).toEqual({
      ok: true,
      from: new Date('2026-12-01T00:00:00Z'),
      to: new Date('2026-12-01T08:00:00Z'),
    });
  });
  it.each([
    ['2026-12-02', '2026-12-01', /must be before to/],
    ['2026-12-01', '2026-12-01', /must be before to/],
    ['last week', undefined, /from must be an ISO 8601/],
    ['2026-12-01T10:00:00', undefined, /from must be an ISO 8601/], // no zone: ambiguous
    ['2026-02-30', '2026-03-02', /from is not a real date/],
    ['2025-01-01', '2026-06-01', /longer than 366 days/],
  ])('refuses from=%s to=%s', (from, to, message) => {
    const r = parseWindow(from, to, now);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });
});

describe('noisy actions', () => {
  const g = {
    actionType: 'shell.exec',
    target: 'npm test',
    deviceName: 'ci-3',
    handoffs: 25,
    fast: 24,
    maxRisk: 'low',
  };
  it('reads like the issue asks', () => {
    expect(noisySuggestion(g)).toBe(
      '96% of `npm test` (shell.exec) handoffs from device `ci-3` were approved within 5 s: allow by policy?',
    );
    expect(noisySuggestion({ ...g, target: 'a`b', deviceName: null })).toBe(
      "96% of `a'b` (shell.exec) handoffs from a removed device were approved within 5 s: allow by policy?",
    );
  });
  it('needs enough handoffs, nearly all fast, and low or medium risk', () => {
    expect(isNoisy(g)).toBe(true);
    expect(isNoisy({ ...g, handoffs: 4, fast: 4 })).toBe(false);
    expect(isNoisy({ ...g, fast: 22 })).toBe(false);
    expect(isNoisy({ ...g, maxRisk: 'high' })).toBe(false);
  });
  it('rounds rates and answers null for nothing', () => {
    expect(rate(1, 3)).toBe(0.3333);
    expect(rate(0, 0)).toBeNull();
  });
});

describe('percentileOfBuckets', () => {
  // percentile_cont over a plain list, as Postgres computes it.
  const cont = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    const pos = p * (s.length - 1);
    const lo = Math.floor(pos);
    return s[lo]! + (pos - lo) * (s[Math.ceil(pos)]! - s[lo]!);
  };

  it('is null with no observations', () => {
    expect(percentileOfBuckets([], 0.5)).toBeNull();
    expect(percentileOfBuckets([[3, 0]], 0.5)).toBeNull();
  });

  it('interpolates between the observations around the rank', () => {
    expect(
      percentileOfBuckets(
        [
          [2, 1],
          [51, 1],
        ],
        0.9,
      ),
    ).toBeCloseTo(46.1);
    expect(
      percentileOfBuckets(
        [
          [2, 3],
          [10, 1],
        ],
        0.5,
      ),
    ).toBe(2);
    expect(
      percentileOfBuckets(
        [
          [10, 1],
          [2, 3],
        ],
        1,
      ),
    ).toBe(10);
  });

  it('equals percentile_cont over the expanded list, whatever the order and counts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -50, max: 100_000 }), fc.integer({ min: 0, max: 20 })), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (pairs, p) => {
          const xs = pairs.flatMap(([v, n]) => Array<number>(n).fill(v));
          const got = percentileOfBuckets(pairs, p);
          if (xs.length === 0) return got === null;
          return Math.abs(got! - cont(xs, p)) < 1e-6 * Math.max(1, Math.abs(cont(xs, p)));
        },
      ),
    );
  });
});
