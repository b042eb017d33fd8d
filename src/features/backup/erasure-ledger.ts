/**
 * The erasure ledger (docs/backups.md, "Erasure"): one JSON line per erased organization, kept
 * outside the database, beside the backups (ONY_BACKUP_DIR/erasure-ledger.jsonl), so a restore of
 * an older backup can erase again every organization erased since. It holds the org id and the
 * time, nothing about the people in it.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isUuid } from '../../db/client.js';

export const LEDGER_FILE = 'erasure-ledger.jsonl';

export interface LedgerEntry {
  readonly org_id: string;
  readonly erased_at: string;
}

export interface ErasureLedger {
  /** Where it is kept, for messages ("none" when nowhere). */
  readonly where: string;
  /** Records an erasure durably (fsync) before it commits; throws when it cannot. */
  record(orgId: string, erasedAt: Date): Promise<void>;
}

export const ledgerPath = (dir: string): string => join(dir, LEDGER_FILE);

export function directoryLedger(dir: string): ErasureLedger {
  const file = ledgerPath(dir);
  return {
    where: file,
    async record(orgId, erasedAt) {
      await appendLine(file, { org_id: orgId, erased_at: erasedAt.toISOString() });
    },
  };
}

/** No ledger configured: nothing is recorded (a restore then needs --no-ledger). */
export const noLedger: ErasureLedger = { where: 'none', record: async () => undefined };

async function appendLine(file: string, entry: LedgerEntry): Promise<void> {
  const fh = await open(file, 'a', 0o600);
  try {
    await fh.write(`${JSON.stringify(entry)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Creates the directory and an empty ledger in it when there is none yet. */
export async function ensureLedger(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await (await open(ledgerPath(dir), 'a', 0o600)).close();
}

/**
 * Reads the ledger of a directory (or a ledger file). A missing or unreadable ledger, or a line
 * that is not an entry, is an error naming it: a restore must not go on without it.
 */
export async function readLedger(path: string): Promise<LedgerEntry[]> {
  let text: string;
  try {
    text = await readFile(path.endsWith('.jsonl') ? path : ledgerPath(path), 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read the erasure ledger at ${path.endsWith('.jsonl') ? path : ledgerPath(path)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass --no-ledger only if no organization was ever erased`,
    );
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line, i) => {
      let e: unknown;
      try {
        e = JSON.parse(line);
      } catch {
        e = undefined;
      }
      return toLedgerEntry(e, `the erasure ledger's line ${i + 1}`);
    });
}

/** A ledger entry, or an error naming `what` when the value is not one. */
export function toLedgerEntry(value: unknown, what: string): LedgerEntry {
  const e = value as Partial<LedgerEntry> | undefined;
  if (
    typeof e?.org_id !== 'string' ||
    !isUuid(e.org_id) ||
    typeof e.erased_at !== 'string' ||
    Number.isNaN(Date.parse(e.erased_at))
  )
    throw new Error(`${what} is not an entry {org_id, erased_at}`);
  return { org_id: e.org_id.toLowerCase(), erased_at: e.erased_at };
}

/** Records each erasure in every ledger (the backup directory, the bucket, the witness's). */
export function allLedgers(ledgers: readonly ErasureLedger[]): ErasureLedger {
  if (ledgers.length === 0) return noLedger;
  if (ledgers.length === 1) return ledgers[0]!;
  return {
    where: ledgers.map((l) => l.where).join(', '),
    async record(orgId, erasedAt) {
      for (const l of ledgers) await l.record(orgId, erasedAt);
    },
  };
}
