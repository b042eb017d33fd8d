/** `ony backup create|verify|restore`: encrypted backups that respect erasure (docs/backups.md). */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Config } from '../config/index.js';
import type { CliIo, Command } from './command.js';
import { configOrExit } from './server-commands.js';

/** Flags and positionals, or undefined after printing the problem and the usage (exit 2). */
function parse(
  name: string,
  argv: readonly string[],
  options: ParseArgsConfig['options'],
  io: CliIo,
  usage: string,
) {
  try {
    const r = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (err) {
    io.stderr.write(`ony backup ${name}: ${(err as Error).message}\n\n${usage}\n`);
    return undefined;
  }
}

function usageError(io: CliIo, name: string, problem: string, usage: string): 2 {
  io.stderr.write(`ony backup ${name}: ${problem}\n\n${usage}\n`);
  return 2;
}

/** Runs a check or an action; a thrown error is one line on stderr and exit 1. */
async function orFail(io: CliIo, name: string, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    io.stderr.write(`ony backup ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}

const isDirectory = async (path: string): Promise<boolean> =>
  (await stat(path).catch(() => undefined))?.isDirectory() ?? false;

const keysOf = async (config: Config) =>
  (await import('../features/backup/backup-key.js')).resolveBackupKeys(config);

const createUsage = `usage: ony backup create [--out PATH] [--keep N]

Writes an encrypted backup archive: pg_dump (custom format) of the database in one snapshot with
DATABASE_URL (run with ONY_MIGRATE_DATABASE_URL, or a login that bypasses row-level security), or the
embedded database's data directory (stop the server first). Sealed in 64 KiB AES-256-GCM chunks under
the backup key (ONY_BACKUP_KEY, else derived from the master key); a manifest inside names the server
version, the last migration, every org's audit head and the dump's checksum.

  --out PATH   a file, or a directory (default ONY_BACKUP_DIR): there a time-named
               ony-backup-<UTC time>.onybak, beside the erasure ledger
  --keep N     with a directory: keep only the newest N backups there
Prints a JSON summary. See docs/backups.md.`;

export const backupCreate: Command = {
  usage: createUsage,
  async run(argv, io) {
    const p = parse('create', argv, { out: { type: 'string' }, keep: { type: 'string' } }, io, createUsage);
    if (!p) return 2;
    if (p.positionals.length > 0)
      return usageError(io, 'create', `unexpected argument "${p.positionals[0]}"`, createUsage);
    let keep: number | undefined;
    if (p.values.keep !== undefined) {
      keep = Number(p.values.keep);
      if (!Number.isInteger(keep) || keep < 1 || keep > 10_000)
        return usageError(io, 'create', '--keep must be an integer from 1 to 10000', createUsage);
    }
    const config = configOrExit(io);
    if (!config) return 2;
    const out = typeof p.values.out === 'string' ? p.values.out : config.backup.dir;
    if (out === undefined)
      return usageError(
        io,
        'create',
        'say where: --out PATH (a file or a directory), or set ONY_BACKUP_DIR',
        createUsage,
      );
    const isDir = (await isDirectory(out)) || out.endsWith('/') || p.values.out === undefined;
    if (keep !== undefined && !isDir)
      return usageError(io, 'create', '--keep needs a directory destination (--out DIR/)', createUsage);
    return orFail(io, 'create', async () => {
      const { createBackup } = await import('../features/backup/backup.service.js');
      const keys = await keysOf(config);
      const { openPglite } = await import('../db/client.js');
      let source;
      let embedded;
      if (config.databaseUrl !== undefined) {
        source = {
          kind: 'postgres' as const,
          url: config.migrateDatabaseUrl ?? config.databaseUrl,
          env: io.env,
        };
      } else {
        const dir = join(config.dataDir, 'pglite');
        if (!(await isDirectory(dir))) throw new Error(`no embedded database at ${dir} (ONY_DATA_DIR)`);
        embedded = await openPglite(dir);
        source = { kind: 'pglite' as const, database: embedded };
      }
      try {
        const r = await createBackup(source, keys, { path: out, isDir, keep }, new Date());
        io.stdout.write(
          `${JSON.stringify({ file: r.file, bytes: r.bytes, created_at: r.manifest.created_at, last_migration: r.manifest.last_migration, orgs: r.manifest.orgs.length, key_id: keys.current.id, removed: r.removed })}\n`,
        );
        return 0;
      } finally {
        await embedded?.close();
      }
    });
  },
};

const verifyUsage = `usage: ony backup verify FILE

Decrypts and checks a backup archive without restoring it: every chunk's authentication, their
order, the final manifest and the dump's checksum. Prints the manifest (server version, last
migration, time, each org's audit head) as JSON; exits 1 naming the failing chunk when it is
altered, truncated, or sealed with another key.`;

export const backupVerify: Command = {
  usage: verifyUsage,
  async run(argv, io) {
    const p = parse('verify', argv, {}, io, verifyUsage);
    if (!p) return 2;
    const [file, ...rest] = p.positionals;
    if (file === undefined || rest.length > 0)
      return usageError(io, 'verify', 'give one archive FILE', verifyUsage);
    const config = configOrExit(io);
    if (!config) return 2;
    return orFail(io, 'verify', async () => {
      const { verifyBackup } = await import('../features/backup/backup.service.js');
      const { header, manifest } = await verifyBackup(file, await keysOf(config));
      io.stdout.write(`${JSON.stringify({ ok: true, file, key_id: header.key_id, ...manifest }, null, 2)}\n`);
      return 0;
    });
  },
};

const restoreUsage = `usage: ony backup restore FILE (--ledger PATH | --no-ledger) [--grant-runtime ROLE]

Restores a backup into an EMPTY database (with DATABASE_URL: the database of
ONY_MIGRATE_DATABASE_URL, else DATABASE_URL; embedded: ONY_DATA_DIR, which must hold no database),
after checking the whole archive; then applies the migrations, and erases again every organization
the erasure ledger names, so a backup never brings an erased organization back.

  --ledger PATH         the erasure ledger: a backup directory (its erasure-ledger.jsonl) or the
                        file; default ONY_BACKUP_DIR. A ledger that cannot be read stops the restore.
  --no-ledger           there is no ledger (no organization was ever erased)
  --grant-runtime ROLE  also give the confined runtime login ROLE its rights (as \`ony migrate\`)
See docs/backups.md.`;

export const backupRestore: Command = {
  usage: restoreUsage,
  async run(argv, io) {
    const p = parse(
      'restore',
      argv,
      { ledger: { type: 'string' }, 'no-ledger': { type: 'boolean' }, 'grant-runtime': { type: 'string' } },
      io,
      restoreUsage,
    );
    if (!p) return 2;
    const [file, ...rest] = p.positionals;
    if (file === undefined || rest.length > 0)
      return usageError(io, 'restore', 'give one archive FILE', restoreUsage);
    if (p.values.ledger !== undefined && p.values['no-ledger'] === true)
      return usageError(io, 'restore', 'give --ledger or --no-ledger, not both', restoreUsage);
    const config = configOrExit(io);
    if (!config) return 2;
    const ledgerPath = typeof p.values.ledger === 'string' ? p.values.ledger : config.backup.dir;
    if (ledgerPath === undefined && p.values['no-ledger'] !== true)
      return usageError(
        io,
        'restore',
        'say where the erasure ledger is (--ledger PATH or ONY_BACKUP_DIR), or --no-ledger if there is none',
        restoreUsage,
      );
    const runtime = typeof p.values['grant-runtime'] === 'string' ? p.values['grant-runtime'] : undefined;
    if (runtime !== undefined && config.databaseUrl === undefined)
      return usageError(
        io,
        'restore',
        '--grant-runtime needs Postgres; embedded mode has one login',
        restoreUsage,
      );
    return orFail(io, 'restore', async () => {
      const { readLedger } = await import('../features/backup/erasure-ledger.js');
      const ledger = p.values['no-ledger'] === true ? undefined : await readLedger(ledgerPath!);
      const keys = await keysOf(config);
      const svc = await import('../features/backup/backup.service.js');
      const r =
        config.databaseUrl !== undefined
          ? await svc.restorePostgres({
              file,
              keys,
              ledger,
              url: config.migrateDatabaseUrl ?? config.databaseUrl,
              env: io.env,
              ...(runtime !== undefined && { grantRuntime: runtime }),
            })
          : await svc
              .restorePglite({ file, keys, ledger, dataDir: join(config.dataDir, 'pglite') })
              .then(async (x) => {
                await x.database.close();
                return x;
              });
      io.stdout.write(
        `${JSON.stringify({ restored: file, created_at: r.manifest.created_at, orgs: r.manifest.orgs.length, migrations_applied: r.migrations, erased_again: r.erased })}\n`,
      );
      return 0;
    });
  },
};
