/**
 * What tenancy costs: a simple tenant-scoped insert in withTenant (SET LOCAL ROLE + set_config, RLS
 * checked on insert) against the same insert in a plain transaction as the connecting role, on the
 * same database, rounds interleaved. Embedded PGlite always; Postgres too when DATABASE_URL is set.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { withTenant, type Database } from '../src/db/client.js';
import { freshPglite, freshPostgres, realDatabaseUrl } from '../test/helpers/db.js';
import { median, timeRounds } from './stats.js';

const ROUNDS = 15;
const PER_ROUND = 200;

async function seedOrg(database: Database): Promise<{ orgId: string; memberId: string }> {
  const orgId = randomUUID();
  const memberId = await withTenant(database.db, orgId, async (tx) => {
    await tx.db
      .insertInto('orgs')
      .values({ id: orgId, name: 'bench', slug: `bench-${orgId.slice(0, 8)}` })
      .execute();
    const m = await tx.db
      .insertInto('members')
      .values({ org_id: orgId, email: 'bench@bench.test', name: 'Bench', role: 'admin' })
      .returning('id')
      .executeTakeFirstOrThrow();
    return m.id;
  });
  return { orgId, memberId };
}

function invite(orgId: string, memberId: string) {
  return {
    org_id: orgId,
    email: 'x@bench.test',
    role: 'viewer' as const,
    token_hash: randomBytes(32),
    invited_by: memberId,
    expires_at: new Date(Date.now() + 86_400_000),
  };
}

async function measure(label: string, database: Database): Promise<void> {
  const { orgId, memberId } = await seedOrg(database);
  const plain = async () => {
    for (let i = 0; i < PER_ROUND; i++) {
      await database.db
        .transaction()
        .execute((tx) => tx.insertInto('invites').values(invite(orgId, memberId)).execute());
    }
  };
  const tenant = async () => {
    for (let i = 0; i < PER_ROUND; i++) {
      await withTenant(database.db, orgId, (tx) =>
        tx.db.insertInto('invites').values(invite(orgId, memberId)).execute(),
      );
    }
  };
  await plain(); // warm up both paths (plan caches, JIT)
  await tenant();
  const plainMs: number[] = [];
  const tenantMs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    plainMs.push(...(await timeRounds(1, plain)));
    tenantMs.push(...(await timeRounds(1, tenant)));
  }
  const p = (median(plainMs) / PER_ROUND) * 1000;
  const t = (median(tenantMs) / PER_ROUND) * 1000;
  console.log(
    `${label.padEnd(9)} plain tx insert ${p.toFixed(0).padStart(5)} µs   withTenant insert ${t.toFixed(0).padStart(5)} µs   ` +
      `ratio ${(t / p).toFixed(3)} (+${((t / p - 1) * 100).toFixed(1)}%)   [median of ${ROUNDS} rounds x ${PER_ROUND}]`,
  );
}

export async function run(): Promise<void> {
  for (const open of [freshPglite, ...(realDatabaseUrl ? [() => freshPostgres(realDatabaseUrl!)] : [])]) {
    const database = await open();
    try {
      await measure(database.kind, database);
    } finally {
      await database.close();
    }
  }
  if (realDatabaseUrl === undefined) {
    console.log(
      'postgres  skipped: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to measure it too',
    );
  }
}
