/**
 * /readyz at runtime (issue #20 §4): 503 with a reason while the database lacks a migration this
 * server expects, 200 again once it has it; a migration the database has and this server lacks (a
 * newer replica migrated past it) is no concern. The answer is cached for a few seconds (the test
 * clock moves past it), so a busy load balancer costs one catalog read per replica per period.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATION_CHECK_TTL_MS } from '../../src/features/readiness/readiness.js';
import { startTestServer, type TestServer } from '../helpers/app.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.close());

async function readyz() {
  const res = await t.app.inject({ url: '/readyz' });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
}

describe('/readyz and the migrations', () => {
  it('answers 503 with a reason while a migration is missing, and 200 once it is back', async () => {
    expect(await readyz()).toMatchObject({ status: 200, body: { status: 'ready' } });
    // As the owner: the database "loses" the newest migration (a restore of an older backup).
    const last = (
      await sql<{ name: string; sha256: string }>`
        select name, sha256 from ony_migrations order by name desc limit 1`.execute(t.database.db)
    ).rows[0]!;
    await sql`delete from ony_migrations where name = ${last.name}`.execute(t.database.db);

    // Within the cache period the answer stands; past it, the check runs again.
    expect((await readyz()).status).toBe(200);
    t.clock.advance(MIGRATION_CHECK_TTL_MS);
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      code: 'not_ready',
      detail: "the database lacks 1 of this server's migrations: run `ony migrate`",
    });
    // The public answer names no file; the log does, once.
    expect(JSON.stringify(down.body)).not.toContain(last.name);
    const logged = t.logs.filter(
      (l) => l.msg === `the database lacks migrations: run \`ony migrate\`; pending: ${last.name}`,
    );
    expect(logged).toHaveLength(1);
    t.clock.advance(MIGRATION_CHECK_TTL_MS);
    expect((await readyz()).status).toBe(503);
    expect(t.logs.filter((l) => String(l.msg).startsWith('the database lacks migrations'))).toHaveLength(1);

    await sql`insert into ony_migrations (name, sha256) values (${last.name}, ${last.sha256})`.execute(
      t.database.db,
    );
    t.clock.advance(MIGRATION_CHECK_TTL_MS);
    expect(await readyz()).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  it('stays ready when the database has a migration this server does not know (a newer replica)', async () => {
    await sql`insert into ony_migrations (name, sha256) values ('9999_from_a_newer_release.sql', 'x')`.execute(
      t.database.db,
    );
    try {
      t.clock.advance(MIGRATION_CHECK_TTL_MS);
      expect(await readyz()).toMatchObject({ status: 200, body: { status: 'ready' } });
    } finally {
      await sql`delete from ony_migrations where name = '9999_from_a_newer_release.sql'`.execute(
        t.database.db,
      );
    }
  });
});
