import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CALLBACK_DATA_MAX_BYTES, decodeDecision, encodeDecision } from './callback-data.js';

describe('callback data', () => {
  it('round-trips a handoff id and option id within 64 bytes', () => {
    const id = randomUUID();
    const data = encodeDecision(id, 'approve');
    expect(data).toMatch(/^d:[A-Za-z0-9_-]{22}:approve$/);
    expect(decodeDecision(data)).toEqual({ handoffId: id, option: 'approve' });
  });

  it('fits the longest option id in 64 bytes', () => {
    const longest = 'a'.repeat(32);
    const data = encodeDecision(randomUUID(), longest);
    expect(Buffer.byteLength(data)).toBeLessThanOrEqual(CALLBACK_DATA_MAX_BYTES);
    expect(Buffer.byteLength(data)).toBe(57);
  });

  it('round-trips any uuid and valid option id', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.stringMatching(/^[a-z0-9_-]{1,32}$/), (uuid, option) => {
        const data = encodeDecision(uuid, option);
        expect(Buffer.byteLength(data)).toBeLessThanOrEqual(CALLBACK_DATA_MAX_BYTES);
        expect(decodeDecision(data)).toEqual({ handoffId: uuid.toLowerCase(), option });
      }),
      { seed: 6, numRuns: 300 },
    );
  });

  it('refuses what it cannot encode', () => {
    expect(() => encodeDecision('not-a-uuid', 'approve')).toThrow(/UUID/);
    expect(() => encodeDecision(randomUUID(), 'Approve!')).toThrow(/option/);
    expect(() => encodeDecision(randomUUID(), 'a'.repeat(33))).toThrow(/option/);
  });

  it('decodes nothing that is not exactly its own shape', () => {
    const good = encodeDecision(randomUUID(), 'deny');
    for (const bad of [
      '',
      'approve',
      good.replace(/^d:/, 'x:'),
      `${good}:extra`,
      good.slice(0, 10),
      good.replace(/:deny$/, ':DENY'),
      `d:${'A'.repeat(21)}:deny`,
      // 22 characters whose last one carries bits past the 16 bytes: not the canonical spelling.
      `d:${'A'.repeat(21)}B:deny`,
    ]) {
      expect(decodeDecision(bad), bad).toBeUndefined();
    }
  });
});
