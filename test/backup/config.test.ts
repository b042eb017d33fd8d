/** The backup settings (docs/backups.md): each bad value is a clear error that names its variable. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';

describe('backup config', () => {
  it('reads the backup key, the directory and the bucket', () => {
    const key = randomBytes(32).toString('base64');
    const c = loadConfig(
      {
        ONY_BACKUP_KEY: key,
        ONY_BACKUP_DIR: 'backups',
        ONY_BACKUP_S3_BUCKET: 'ony-backups',
        ONY_BACKUP_S3_ENDPOINT: 'https://s3.example.com',
      },
      '/srv/ony',
    );
    expect(c.backup.key?.toString('base64')).toBe(key);
    expect(c.backup.dir).toBe('/srv/ony/backups');
    expect(c.backup.s3).toMatchObject({
      bucket: 'ony-backups',
      prefix: 'ony-backups/',
      forcePathStyle: true,
    });
  });

  it('names what is wrong, without echoing the key', () => {
    const bad = 'not-a-key-but-secret';
    expect(() => loadConfig({ ONY_BACKUP_KEY: bad })).toThrow(/ONY_BACKUP_KEY must be 32 bytes/);
    try {
      loadConfig({ ONY_BACKUP_KEY: bad });
    } catch (err) {
      expect((err as Error).message).not.toContain(bad);
    }
    expect(() => loadConfig({ ONY_BACKUP_S3_ENDPOINT: 'https://s3.example.com' })).toThrow(
      /ONY_BACKUP_S3_ENDPOINT set without ONY_BACKUP_S3_BUCKET/,
    );
    expect(() =>
      loadConfig({ ONY_BACKUP_S3_BUCKET: 'b-ok', ONY_BACKUP_S3_ENDPOINT: 'http://10.0.0.5:9000' }),
    ).toThrow(/ONY_BACKUP_S3_ENDPOINT must be https \(set ONY_BACKUP_S3_ALLOW_HTTP=true/);
  });
});
