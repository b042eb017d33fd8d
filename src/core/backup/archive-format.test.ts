import { describe, expect, it } from 'vitest';
import { backupFileName, chunkNonce, expiredBackups } from './archive-format.js';

describe('backup archive naming and retention', () => {
  it('names backups so that they sort by time', () => {
    expect(backupFileName(new Date('2026-12-07T13:05:09.042Z'))).toBe(
      'ony-backup-20261207T130509.042Z.onybak',
    );
  });

  it('keeps the newest N backups and ignores other files', () => {
    const names = [
      'ony-backup-20261205T000000.000Z.onybak',
      'erasure-ledger.jsonl',
      'ony-backup-20261207T000000.000Z.onybak',
      'ony-backup-20261206T000000.000Z.onybak',
      'ony-backup-20261204T000000.000Z.onybak.partial',
      'notes.txt',
    ];
    expect(expiredBackups(names, 2)).toEqual(['ony-backup-20261205T000000.000Z.onybak']);
    expect(expiredBackups(names, 5)).toEqual([]);
  });

  it('gives every chunk index and the final flag its own nonce', () => {
    expect(chunkNonce(1, false).equals(chunkNonce(1, true))).toBe(false);
    expect(chunkNonce(1, false).equals(chunkNonce(2, false))).toBe(false);
    expect(chunkNonce(2 ** 40, true)).toHaveLength(12);
  });
});
