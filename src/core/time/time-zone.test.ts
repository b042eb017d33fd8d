import { describe, expect, it } from 'vitest';
import { canonicalTimeZone } from './time-zone.js';

describe('canonicalTimeZone', () => {
  it('accepts IANA names and answers their canonical spelling', () => {
    expect(canonicalTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(canonicalTimeZone('america/new_york')).toBe('America/New_York');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
  });

  it('refuses what is not a timezone', () => {
    for (const bad of ['', 'Mars/Olympus', 'Europe/Paris; drop table', '../../etc', 'x'.repeat(65), '+25:00'])
      expect(canonicalTimeZone(bad)).toBeNull();
  });
});
