/**
 * Backups of an org with 100,000 handoffs (each with an encrypted payload and an audit entry):
 * the archive's size, and the median time of `create`, `verify` and `restore` (into a new empty
 * database, migrations and ledger included) over RUNS runs each, in the service, as the CLI runs
 * them. Postgres (pg_dump/pg_restore) when DATABASE_URL is set, else embedded PGlite. Not in CI.
 *   npm run bench backup        (ONY_BENCH_BACKUP_HANDOFFS, ONY_BENCH_BACKUP_RUNS to change)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupKeysFrom } from '../src/features/backup/backup-key.js';
import {
  createBackup,
  restorePglite,
  restorePostgres,
  verifyBackup,
} from '../src/features/backup/backup.service.js';
import { as, createOrgWithAdmin, startTestServer } from '../test/helpers/app.js';
import { asServerAdmin, realDatabaseUrl } from '../test/helpers/db.js';
import { seedHandoffs } from './seed-handoffs.js';
import { median } from './stats.js';

const HANDOFFS = Number(process.env.ONY_BENCH_BACKUP_HANDOFFS ?? 100_000);
const RUNS = Number(process.env.ONY_BENCH_BACKUP_RUNS ?? 3);
const mib = (n: number) => (n / 1048576).toFixed(1);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ony-bench-backup-'));
  const keys = backupKeysFrom([randomBytes(32)]);
  const t = await startTestServer();
  try {
    const admin = await createOrgWithAdmin(t, 'bench-backup');
    const dev = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'bench' })).json<{
      device: { id: string };
    }>();
    const s0 = performance.now();
    await seedHandoffs(t, admin, dev.device.id, HANDOFFS);
    console.log(
      `seeded ${HANDOFFS.toLocaleString('en')} handoffs with payloads and audit entries in ${((performance.now() - s0) / 1000).toFixed(1)} s (${t.database.kind})`,
    );
    const source =
      t.database.url !== undefined
        ? { kind: 'postgres' as const, url: t.database.url, env: process.env }
        : { kind: 'pglite' as const, database: t.database };

    let file = '';
    let bytes = 0;
    const creates: number[] = [];
    for (let i = 0; i < RUNS; i++)
      creates.push(
        await timed(async () => {
          const r = await createBackup(source, keys, { kind: 'dir', path: dir, keep: 1 }, new Date());
          file = r.file;
          bytes = r.bytes;
        }),
      );
    const verifies: number[] = [];
    for (let i = 0; i < RUNS; i++) verifies.push(await timed(() => verifyBackup(file, keys)));
    const restores: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      if (t.database.url !== undefined) {
        const name = `ony_bench_${randomBytes(5).toString('hex')}`;
        await asServerAdmin(realDatabaseUrl!, `create database ${name}`);
        const url = new URL(t.database.url);
        url.pathname = `/${name}`;
        try {
          restores.push(
            await timed(() =>
              restorePostgres({ file, keys, ledger: [], url: url.toString(), env: process.env }),
            ),
          );
        } finally {
          await asServerAdmin(realDatabaseUrl!, `drop database ${name} with (force)`);
        }
      } else {
        const target = join(dir, `restore-${i}`);
        restores.push(
          await timed(async () => {
            const r = await restorePglite({ file, keys, ledger: [], dataDir: target });
            await r.database.close();
          }),
        );
        await rm(target, { recursive: true, force: true });
      }
    }
    const s = (xs: number[]) =>
      `${(median(xs) / 1000).toFixed(1)} s (runs: ${xs.map((x) => (x / 1000).toFixed(1)).join(', ')})`;
    console.log(
      `archive: ${mib(bytes)} MiB (${t.database.kind === 'pglite' ? 'PGlite data dir, gzip' : 'pg_dump -Fc'})`,
    );
    console.log(`create:  median ${s(creates)}`);
    console.log(`verify:  median ${s(verifies)}`);
    console.log(`restore: median ${s(restores)} (verify pass + restore + migrations)`);
  } finally {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  }
}
