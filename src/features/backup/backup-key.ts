/**
 * The backup key (docs/backups.md, "Keys"): ONY_BACKUP_KEY when set, else derived from the master
 * key with its own HKDF label, so by default there is no further secret to keep, and a backup
 * opens wherever the master key it was made under is configured. Archives carry the key's id
 * (a hash of the key), so the wrong key is named as such and never mistaken for tampering.
 */
import { hkdfSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/index.js';
import { ArchiveError } from '../../core/backup/archive-format.js';
import { sha256Hex } from '../../lib/crypto.js';

export interface BackupKey {
  readonly id: string;
  readonly key: Buffer;
}

export interface BackupKeys {
  /** The key new archives are sealed with. */
  readonly current: BackupKey;
  /** The key of an archive's key id; throws wrong_key naming both sides. */
  get(id: string): Buffer;
}

const keyOf = (key: Buffer): BackupKey => ({
  id: `bk_${sha256Hex(Buffer.concat([Buffer.from('ony backup key id\0'), key])).slice(0, 12)}`,
  key,
});

export const deriveBackupKey = (masterKey: Buffer): Buffer =>
  Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'ony backup key v1', 32));

export function backupKeysFrom(keys: readonly Buffer[]): BackupKeys {
  const all = keys.map(keyOf);
  const current = all[0];
  if (current === undefined) throw new Error('no backup key');
  return {
    current,
    get(id) {
      const k = all.find((x) => x.id === id);
      if (k === undefined)
        throw new ArchiveError(
          'wrong_key',
          `the archive was sealed with backup key ${id}, and this server's key is ${all.map((x) => x.id).join(', ')}: set ONY_BACKUP_KEY, or the master key (ONY_MASTER_KEYS) the backup was made under`,
        );
      return k.key;
    },
  };
}

/**
 * The configured backup keys: ONY_BACKUP_KEY, else one derived from each master key (newest first;
 * embedded mode without ONY_MASTER_KEY reads ONY_DATA_DIR/master.key and never creates it).
 */
export async function resolveBackupKeys(config: Config): Promise<BackupKeys> {
  if (config.backup.key !== undefined) return backupKeysFrom([config.backup.key]);
  if (config.masterKeys.length > 0) return backupKeysFrom(config.masterKeys.map(deriveBackupKey));
  const file = join(config.dataDir, 'master.key');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(
      `no backup key: set ONY_BACKUP_KEY or ONY_MASTER_KEY (embedded mode reads ${file}, which is missing)`,
    );
  }
  return backupKeysFrom([deriveBackupKey(Buffer.from(text.trim(), 'base64'))]);
}
