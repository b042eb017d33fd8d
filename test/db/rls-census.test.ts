import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE, OWNER_ROLE, assertAppRoleIsConfined, withApp, withTenant } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrator.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(async () => database?.close());

describe('RLS census', () => {
  it('every table with org_id (and orgs) has RLS enabled, forced and a tenant policy on ony.org_id', async () => {
    const tables = (
      await sql<{ table_name: string }>`
        select c.table_name from information_schema.columns c
        join information_schema.tables t using (table_schema, table_name)
        where c.table_schema = 'public' and c.column_name = 'org_id' and t.table_type = 'BASE TABLE'
        union select 'orgs'`.execute(database.db)
    ).rows.map((r) => r.table_name);
    expect(tables.length).toBeGreaterThanOrEqual(7);
    for (const table of tables) {
      const rel = (
        await sql<{ relrowsecurity: boolean; relforcerowsecurity: boolean; owner: string }>`
          select relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner) as owner
          from pg_class where oid = ${table}::regclass`.execute(database.db)
      ).rows[0];
      expect(rel, table).toMatchObject({
        relrowsecurity: true,
        relforcerowsecurity: true,
        owner: OWNER_ROLE,
      });
      const policies = (
        await sql<{ qual: string; with_check: string | null; roles: string[] | string }>`
          select qual, with_check, roles from pg_policies where tablename = ${table} and policyname = 'tenant_isolation'`.execute(
          database.db,
        )
      ).rows;
      expect(policies, `${table} has a tenant_isolation policy`).toHaveLength(1);
      const policy = policies[0]!;
      const key = table === 'orgs' ? 'id' : 'org_id';
      for (const expr of [policy.qual, policy.with_check]) {
        expect(expr).toContain(
          `${key} = ( SELECT (NULLIF(current_setting('ony.org_id'::text, true), ''::text))::uuid`,
        );
      }
    }
  });

  it('the app role has no BYPASSRLS, is not superuser and owns nothing', async () => {
    const role = (
      await sql<{ rolsuper: boolean; rolbypassrls: boolean; rolcanlogin: boolean }>`
        select rolsuper, rolbypassrls, rolcanlogin from pg_roles where rolname = ${APP_ROLE}`.execute(
        database.db,
      )
    ).rows[0];
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false, rolcanlogin: false });
    const owned = (
      await sql<{
        n: number;
      }>`select count(*)::int as n from pg_class where relowner = (select oid from pg_roles where rolname = ${APP_ROLE})`.execute(
        database.db,
      )
    ).rows[0];
    expect(owned?.n).toBe(0);
    await expect(assertAppRoleIsConfined(database.db)).resolves.toBeUndefined();
  });

  it('org_id cannot be changed, even by a buggy update inside the tenant', async () => {
    const orgA = crypto.randomUUID();
    const orgB = crypto.randomUUID();
    for (const [id, slug] of [
      [orgA, `a-${orgA.slice(0, 8)}`],
      [orgB, `b-${orgB.slice(0, 8)}`],
    ] as const) {
      await withTenant(database.db, id, (tx) =>
        tx.db.insertInto('orgs').values({ id, name: slug, slug }).execute(),
      );
    }
    const memberId = await withTenant(
      database.db,
      orgA,
      async (tx) =>
        (
          await tx.db
            .insertInto('members')
            .values({ org_id: orgA, email: 'x@example.com', name: 'X', role: 'member' })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id,
    );
    await expect(
      withTenant(database.db, orgA, (tx) =>
        tx.db.updateTable('members').set({ org_id: orgB }).where('id', '=', memberId).execute(),
      ),
    ).rejects.toThrow();
    // Inserting a row for another org from inside org A is refused by the policy.
    await expect(
      withTenant(database.db, orgA, (tx) =>
        tx.db
          .insertInto('members')
          .values({ org_id: orgB, email: 'y@example.com', name: 'Y', role: 'member' })
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
    // Org B sees none of A's members; with no org set, nothing at all.
    const seenByB = await withTenant(database.db, orgB, (tx) =>
      tx.db.selectFrom('members').selectAll().execute(),
    );
    expect(seenByB).toHaveLength(0);
    const seenByNobody = await withApp(database.db, (tx) => tx.selectFrom('members').selectAll().execute());
    expect(seenByNobody).toHaveLength(0);
  });

  it('migrations are idempotent and refuse an edited, already-applied file', async () => {
    expect(await migrate(database.db)).toEqual([]);
    await expect(
      migrate(database.db, [{ name: '0001_roles.sql', sql: 'select 1', sha256: 'changed' }]),
    ).rejects.toThrow(/was changed/);
  });
});
