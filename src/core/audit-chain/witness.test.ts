import { describe, expect, it } from 'vitest';
import { checkpointDue, checkpointObjectKey, latestObjectKey } from './witness.js';

const now = new Date('2026-12-07T10:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);

describe('checkpointDue', () => {
  const rule = { every: 100, intervalMs: 3_600_000 };
  it('never signs a head that did not move', () => {
    expect(checkpointDue({ headSeq: 5, checkpointSeq: 5, checkpointAt: ago(1e9) }, now, rule)).toBe(false);
    expect(checkpointDue({ headSeq: 0, checkpointSeq: null, checkpointAt: null }, now, rule)).toBe(false);
  });
  it('signs every N entries, however recent the last checkpoint', () => {
    expect(checkpointDue({ headSeq: 110, checkpointSeq: 10, checkpointAt: ago(1) }, now, rule)).toBe(true);
    expect(checkpointDue({ headSeq: 109, checkpointSeq: 10, checkpointAt: ago(1) }, now, rule)).toBe(false);
  });
  it('signs a moved head once the last checkpoint is an interval old, or there is none', () => {
    expect(checkpointDue({ headSeq: 11, checkpointSeq: 10, checkpointAt: ago(3_600_000) }, now, rule)).toBe(
      true,
    );
    expect(checkpointDue({ headSeq: 11, checkpointSeq: 10, checkpointAt: ago(3_599_999) }, now, rule)).toBe(
      false,
    );
    expect(checkpointDue({ headSeq: 1, checkpointSeq: null, checkpointAt: null }, now, rule)).toBe(true);
  });
  it('0 turns a rule off', () => {
    const s = { headSeq: 500, checkpointSeq: 1, checkpointAt: ago(1e9) };
    expect(checkpointDue(s, now, { every: 0, intervalMs: 0 })).toBe(false);
    expect(checkpointDue(s, now, { every: 0, intervalMs: 1000 })).toBe(true);
    expect(checkpointDue({ ...s, checkpointAt: ago(1) }, now, { every: 0, intervalMs: 1000 })).toBe(false);
  });
});

describe('object layout', () => {
  it('names one object per seq (sortable) and a latest object under the org', () => {
    const org = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
    expect(checkpointObjectKey('ony-audit/', org, 42)).toBe(`ony-audit/${org}/000000000042.checkpoint`);
    expect(latestObjectKey('', org)).toBe(`${org}/latest.checkpoint`);
  });
});
