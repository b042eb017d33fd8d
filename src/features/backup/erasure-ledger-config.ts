/**
 * Where the server records erasures (docs/backups.md, "Erasure"): beside the backups
 * (ONY_BACKUP_DIR, the ONY_BACKUP_S3_* bucket) and in the audit witness's bucket when one is
 * configured. Every one of them must take the entry, or the erasure does not happen.
 */
import type { Config } from '../../config/index.js';
import { allLedgers, directoryLedger, type ErasureLedger } from './erasure-ledger.js';

export async function erasureLedger(config: Config): Promise<ErasureLedger> {
  const ledgers: ErasureLedger[] = [];
  if (config.backup.dir !== undefined) ledgers.push(directoryLedger(config.backup.dir));
  const buckets = [config.backup.s3, config.audit.witness.s3].filter((b) => b !== undefined);
  if (buckets.length > 0) {
    const { s3ArchiveStore } = await import('./s3-archive-store.js');
    for (const b of buckets)
      ledgers.push((await s3ArchiveStore(b, { bucket: b.bucket, prefix: b.prefix })).ledger);
  }
  return allLedgers(ledgers);
}
