import { describe, expect, it } from 'vitest';
import { delayAfterFailure, retryAfterSeconds } from './throttle.js';

const policy = { freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 300_000 };

describe('delayAfterFailure', () => {
  it('answers no delay for the free failures, then doubles from the base up to the cap', () => {
    expect([0, 1, 2].map((n) => delayAfterFailure(n, policy))).toEqual([0, 0, 0]);
    expect([3, 4, 5, 6].map((n) => delayAfterFailure(n, policy))).toEqual([1000, 2000, 4000, 8000]);
    expect(delayAfterFailure(11, policy)).toBe(256_000);
    expect(delayAfterFailure(12, policy)).toBe(300_000);
    expect(delayAfterFailure(1_000_000, policy)).toBe(300_000);
  });

  it('never answers a non-finite delay', () => {
    expect(delayAfterFailure(Number.NaN, policy)).toBe(0);
    expect(delayAfterFailure(Number.POSITIVE_INFINITY, policy)).toBe(0);
  });
});

describe('retryAfterSeconds', () => {
  it('rounds up to whole seconds and is at least 1', () => {
    expect(retryAfterSeconds(10_500, 10_000)).toBe(1);
    expect(retryAfterSeconds(12_001, 10_000)).toBe(3);
    expect(retryAfterSeconds(9_000, 10_000)).toBe(1);
  });
});
