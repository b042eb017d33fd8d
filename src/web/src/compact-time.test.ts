import { describe, expect, it } from 'vitest';
import { absoluteTime, compactTime } from './compact-time';

// Local dates, so the test holds in any timezone.
const now = new Date(2026, 11, 7, 15, 0, 0);

describe('compactTime', () => {
  it('today: the time with seconds', () => {
    expect(compactTime(new Date(2026, 11, 7, 9, 5, 3), now)).toBe('09:05:03');
  });
  it('this year: day, month and time', () => {
    expect(compactTime(new Date(2026, 0, 31, 23, 59, 0), now)).toBe('31 Jan 23:59');
  });
  it('other years: the date', () => {
    expect(compactTime(new Date(2025, 11, 7, 15, 0, 0), now)).toBe('7 Dec 2025');
  });
  it('an invalid date reads as a dash', () => {
    expect(compactTime(new Date('nope'), now)).toBe('—');
  });
});

describe('absoluteTime', () => {
  it('full local time with the zone offset', () => {
    expect(absoluteTime(new Date(2026, 11, 7, 9, 5, 3))).toMatch(
      /^2026-12-07 09:05:03 \(UTC[+-]\d{2}:\d{2}\)$/,
    );
  });
});
