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

/** The store of an s3:// URL, with ONY_BACKUP_S3_*'s endpoint and credentials (SDK defaults without). */
async function s3StoreAt(config: Config, url: string) {
  const { parseS3Url, s3ArchiveStore } = await import('../features/backup/s3-archive-store.js');
  const loc = parseS3Url(url);
  if (typeof loc === 'string') throw new Error(loc);
  const settings = config.backup.s3 ?? {
    region: 'us-east-1',
    endpoint: undefined,
    forcePathStyle: false,
    credentials: undefined,
  };
  return s3ArchiveStore(settings, loc);
}

/** The configured bucket as an s3:// URL (ONY_BACKUP_S3_BUCKET and _PREFIX), if any. */
const configuredS3 = (config: Config): string | undefined =>
  config.backup.s3 !== undefined ? `s3://${config.backup.s3.bucket}/${config.backup.s3.prefix}` : undefined;

/** An archive argument: a file, or s3://bucket/prefix/name read from its bucket. */
async function archiveAt(config: Config, arg: string) {
  if (!arg.startsWith('s3://')) return arg;
  const slash = arg.lastIndexOf('/');
  const store = await s3StoreAt(config, arg.slice(0, slash + 1));
  const name = arg.slice(slash + 1);
  return () => store.download(name);
}

const keysOf = async (config: Config) =>
  (await import('../features/backup/backup-key.js')).resolveBackupKeys(config);

const createUsage = `usage: ony backup create [--out PATH | --s3 s3://BUCKET/PREFIX/] [--keep N]

Writes an encrypted backup archive: pg_dump (custom format) of the database in one snapshot with
DATABASE_URL (run with ONY_MIGRATE_DATABASE_URL, or a login that bypasses row-level security), or the
embedded database's data directory (stop the server first). Sealed in 64 KiB AES-256-GCM chunks under
the backup key (ONY_BACKUP_KEY, else derived from the master key); a manifest inside names the server
version, the last migration, every org's audit head and the dump's checksum.

  --out PATH   a file, or a directory (default ONY_BACKUP_DIR): there a time-named
               ony-backup-<UTC time>.onybak, beside the erasure ledger
  --s3 URL     a bucket and prefix (default ONY_BACKUP_S3_BUCKET and _PREFIX): the same, uploaded
               as it is sealed; endpoint and credentials from ONY_BACKUP_S3_*
  --keep N     with a directory or a bucket: keep only the newest N backups there
Prints a JSON summary. See docs/backups.md.`;

export const backupCreate: Command = {
  usage: createUsage,
  async run(argv, io) {
    const p = parse(
      'create',
      argv,
      { out: { type: 'string' }, s3: { type: 'string' }, keep: { type: 'string' } },
      io,
      createUsage,
    );
    if (!p) return 2;
    if (p.positionals.length > 0)
      return usageError(io, 'create', `unexpected argument "${p.positionals[0]}"`, createUsage);
    if (p.values.out !== undefined && p.values.s3 !== undefined)
      return usageError(io, 'create', 'give --out or --s3, not both', createUsage);
    let keep: number | undefined;
    if (p.values.keep !== undefined) {
      keep = Number(p.values.keep);
      if (!Number.isInteger(keep) || keep < 1 || keep > 10_000)
        return usageError(io, 'create', '--keep must be an integer from 1 to 10000', createUsage);
    }
    const config = configOrExit(io);
    if (!config) return 2;
    const s3Url =
      typeof p.values.s3 === 'string'
        ? p.values.s3
        : p.values.out === undefined && config.backup.dir === undefined
          ? configuredS3(config)
          : undefined;
    const out = typeof p.values.out === 'string' ? p.values.out : config.backup.dir;
    if (s3Url === undefined && out === undefined)
      return usageError(
        io,
        'create',
        'say where: --out PATH (a file or a directory) or --s3 URL, or set ONY_BACKUP_DIR or ONY_BACKUP_S3_BUCKET',
        createUsage,
      );
    if (s3Url !== undefined && !/^s3:\/\//.test(s3Url))
      return usageError(io, 'create', `--s3 needs an s3://bucket/prefix/ URL (got "${s3Url}")`, createUsage);
    const isDir =
      s3Url === undefined && ((await isDirectory(out!)) || out!.endsWith('/') || p.values.out === undefined);
    if (keep !== undefined && s3Url === undefined && !isDir)
      return usageError(io, 'create', '--keep needs a directory destination (--out DIR/)', createUsage);
    return orFail(io, 'create', async () => {
      const { createBackup } = await import('../features/backup/backup.service.js');
      const keys = await keysOf(config);
      const { openPglite } = await import('../db/client.js');
      const destination =
        s3Url !== undefined
          ? { kind: 's3' as const, store: await s3StoreAt(config, s3Url), keep }
          : isDir
            ? { kind: 'dir' as const, path: out!, keep }
            : { kind: 'file' as const, path: out! };
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
        const r = await createBackup(source, keys, destination, new Date());
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

const verifyUsage = `usage: ony backup verify FILE|s3://BUCKET/PREFIX/NAME

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
      const { header, manifest } = await verifyBackup(await archiveAt(config, file), await keysOf(config));
      io.stdout.write(`${JSON.stringify({ ok: true, file, key_id: header.key_id, ...manifest }, null, 2)}\n`);
      return 0;
    });
  },
};

const restoreUsage = `usage: ony backup restore FILE|s3://BUCKET/PREFIX/NAME (--ledger PATH|URL | --no-ledger) [--grant-runtime ROLE]

Restores a backup into an EMPTY database (with DATABASE_URL: the database of
ONY_MIGRATE_DATABASE_URL, else DATABASE_URL; embedded: ONY_DATA_DIR, which must hold no database),
after checking the whole archive; then applies the migrations, and erases again every organization
the erasure ledger names, so a backup never brings an erased organization back.

  --ledger PATH|URL     the erasure ledger: a backup directory (its erasure-ledger.jsonl), the
                        file, or a bucket (s3://BUCKET/PREFIX/, its erasure-ledger/ objects);
                        default ONY_BACKUP_DIR, else ONY_BACKUP_S3_BUCKET. A ledger that cannot be
                        read stops the restore before anything is changed.
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
    const ledgerPath =
      typeof p.values.ledger === 'string' ? p.values.ledger : (config.backup.dir ?? configuredS3(config));
    if (ledgerPath === undefined && p.values['no-ledger'] !== true)
      return usageError(
        io,
        'restore',
        'say where the erasure ledger is (--ledger, ONY_BACKUP_DIR or ONY_BACKUP_S3_BUCKET), or --no-ledger if there is none',
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
      const ledger =
        p.values['no-ledger'] === true
          ? undefined
          : ledgerPath!.startsWith('s3://')
            ? await (await s3StoreAt(config, ledgerPath!)).ledger.read()
            : await readLedger(ledgerPath!);
      const keys = await keysOf(config);
      const archive = await archiveAt(config, file);
      const svc = await import('../features/backup/backup.service.js');
      const r =
        config.databaseUrl !== undefined
          ? await svc.restorePostgres({
              file: archive,
              keys,
              ledger,
              url: config.migrateDatabaseUrl ?? config.databaseUrl,
              env: io.env,
              ...(runtime !== undefined && { grantRuntime: runtime }),
            })
          : await svc
              .restorePglite({ file: archive, keys, ledger, dataDir: join(config.dataDir, 'pglite') })
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
