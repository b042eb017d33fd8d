import { describe, expect, it } from 'vitest';
import { checkBatch, checkBatchIds, equivalenceKey, MAX_BATCH, type BatchCandidate } from './batch.js';

const now = new Date('2026-12-07T12:00:00Z');
const item = (id: string, over: Partial<BatchCandidate> = {}): BatchCandidate => ({
  id,
  status: 'pending',
  riskLevel: 'medium',
  deviceId: 'dev-1',
  actionType: 'shell.exec',
  actionTarget: 'npm test',
  title: 'Run the tests',
  optionIds: ['approve', 'deny'],
  expiresAt: new Date(now.getTime() + 60_000),
  ...over,
});

describe('equivalenceKey', () => {
  it('ignores surrounding and repeated white space, keeps case and hidden characters', () => {
    const a = equivalenceKey(item('a', { actionTarget: 'npm   test' }));
    expect(equivalenceKey(item('b', { actionTarget: ' npm test\n' }))).toBe(a);
    expect(equivalenceKey(item('c', { actionTarget: 'NPM test' }))).not.toBe(a);
    expect(equivalenceKey(item('d', { actionTarget: 'npm\u200btest' }))).not.toBe(a);
  });

  it('normalises Unicode (NFC) so one text spelled two ways is one action', () => {
    expect(equivalenceKey(item('a', { actionTarget: 'caf\u00e9' }))).toBe(
      equivalenceKey(item('b', { actionTarget: 'cafe\u0301' })),
    );
  });

  it('tells devices, action types and targets apart', () => {
    const a = equivalenceKey(item('a'));
    expect(equivalenceKey(item('b', { deviceId: 'dev-2' }))).not.toBe(a);
    expect(equivalenceKey(item('c', { actionType: 'file.write' }))).not.toBe(a);
    expect(equivalenceKey(item('d', { actionTarget: 'npm test --force' }))).not.toBe(a);
  });

  it('uses the title when there is no target, and never mixes the two', () => {
    const t = (id: string, title: string, target: string | null = null) =>
      equivalenceKey(item(id, { actionTarget: target, title }));
    expect(t('a', 'Deploy  web')).toBe(t('b', 'Deploy web'));
    expect(t('a', 'Deploy web')).not.toBe(t('b', 'Deploy api'));
    expect(t('a', 'npm test')).not.toBe(t('b', 'other', 'npm test'));
    expect(t('a', 'x', '  ')).toBe(t('b', 'x'));
  });
});

describe('checkBatch', () => {
  it('accepts equivalent pending non-critical items', () => {
    expect(checkBatch([item('a'), item('b', { riskLevel: 'low' }), item('c')], 'approve', now)).toBeNull();
    expect(checkBatch([item('a', { riskLevel: 'high' })], 'deny', now)).toBeNull();
  });

  it('refuses bad id lists', () => {
    expect(checkBatchIds([])).toEqual({ code: 'empty' });
    const many = Array.from({ length: MAX_BATCH + 1 }, (_, i) => `id-${i}`);
    expect(checkBatchIds(many)).toEqual({ code: 'too_many', max: MAX_BATCH });
    expect(checkBatchIds(many.slice(0, MAX_BATCH))).toBeNull();
    expect(checkBatchIds(['a', 'b', 'a'])).toEqual({ code: 'duplicate', id: 'a' });
  });

  it('refuses critical, decided, expired, custom-option and mixed sets', () => {
    expect(checkBatch([item('a'), item('b', { riskLevel: 'critical' })], 'deny', now)).toEqual({
      code: 'critical',
      id: 'b',
    });
    expect(checkBatch([item('a'), item('b', { status: 'approved' })], 'approve', now)).toEqual({
      code: 'not_pending',
      id: 'b',
      status: 'approved',
    });
    expect(checkBatch([item('a', { expiresAt: now })], 'approve', now)).toEqual({ code: 'expired', id: 'a' });
    expect(checkBatch([item('a', { optionIds: ['ship', 'deny'] })], 'approve', now)).toEqual({
      code: 'unknown_option',
      id: 'a',
    });
    expect(checkBatch([item('a'), item('b', { deviceId: 'dev-2' })], 'approve', now)).toEqual({
      code: 'not_equivalent',
      id: 'b',
    });
  });
});
