/**
 * The runtime login cannot become the owner (issue #18 item 1.3, DESIGN.md §3 invariant 11).
 *
 * Real Postgres only: embedded PGlite has a single login (no other role can log in), so there is no
 * runtime login to confine there; the last test shows embedded mode still starts with no
 * configuration. Every role made here has a unique name and is dropped afterwards (test files run in
 * parallel on one server).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createContainer } from '../../src/container.js';
import { grantRuntime } from '../../src/db/migrator.js';
import { createMemoryStore } from '../../src/state/store.js';
import { createOrgWithAdmin, startTestServer, type TestServer } from '../helpers/app.js';
import { runInMemory } from '../helpers/cli.js';
import {
  asServerAdmin,
  freshDatabase,
  realDatabaseUrl,
  uniqueRoleName,
  urlAs,
  type TestDatabase,
} from '../helpers/db.js';
import { memoryLogger, waitFor } from '../helpers/jobs.js';

const serverUrl = realDatabaseUrl ?? '';
const masterKey = randomBytes(32).toString('base64');

/** Starts the container as `ony serve` does, on DATABASE_URL = url; answers its warnings. */
async function serveOn(url: string, env: Record<string, string> = {}): Promise<string[]> {
  const { logger, lines } = memoryLogger();
  const config = loadConfig({
    DATABASE_URL: url,
    ONY_MASTER_KEY: masterKey,
    ONY_PUBLIC_URL: 'https://ony.test',
    ONY_MIGRATE_ON_START: 'false',
    ...env,
  });
  const container = await createContainer(config, { store: createMemoryStore(), logger });
  await container.close();
  return lines().filter((l) => (JSON.parse(l) as { level: number }).level >= 40);
}

describe.skipIf(realDatabaseUrl === undefined)('the runtime database login (real Postgres only)', () => {
  let database: TestDatabase;
  const roles: string[] = [];
  /** A new login on the test database with these role options; dropped after the file. */
  async function newLogin(options: string, ...then: ((role: string) => string)[]): Promise<string> {
    const role = uniqueRoleName('ony_probe');
    const password = randomBytes(9).toString('hex');
    roles.unshift(role);
    await asServerAdmin(
      database.url!,
      `create role ${role} login password '${password}' ${options}`,
      ...then.map((f) => f(role)),
    );
    return urlAs(database.url!, role, password);
  }

  beforeAll(async () => {
    database = await freshDatabase();
  });
  afterAll(async () => {
    await database?.close();
    for (const role of roles) await asServerAdmin(serverUrl, `drop role if exists ${role}`);
  });

  it.each([
    ['a superuser', 'superuser', [], /is a superuser/],
    ['a BYPASSRLS login', 'bypassrls', [(r: string) => `grant ony_app to ${r}`], /has BYPASSRLS/],
    [
      'a CREATEROLE login',
      'createrole',
      [(r: string) => `grant ony_app to ${r}`],
      /has CREATEROLE \(it could grant itself ony_owner\)/,
    ],
    [
      'a login that reaches ony_owner through another role',
      '',
      [
        (r: string) => `create role ${r}_via nologin`,
        (r: string) => `grant ony_owner to ${r}_via`,
        (r: string) => `grant ${r}_via to ${r}`,
        (r: string) => `grant ony_app to ${r}`,
      ],
      /is a member of ony_owner \(it can SET ROLE ony_owner\)/,
    ],
    [
      'a login that can write every table (pg_write_all_data)',
      '',
      [(r: string) => `grant pg_write_all_data to ${r}`, (r: string) => `grant ony_app to ${r}`],
      /can SET ROLE to a privileged role \(pg_write_all_data\)/,
    ],
  ])('refuses %s, naming what is wrong and how to fix it', async (what, options, then, reason) => {
    const url = await newLogin(options, ...then);
    const role = new URL(url).username;
    if (what.includes('another role')) roles.unshift(`${role}_via`);
    const refused = serveOn(url);
    await expect(refused).rejects.toThrow(reason);
    await expect(refused).rejects.toThrow(/refusing to start: the database login "ony_probe_[0-9a-f]+"/);
    await expect(refused).rejects.toThrow(/ony migrate --grant-runtime/);
    await expect(refused).rejects.toThrow(/ONY_ALLOW_PRIVILEGED_DB_LOGIN=1/);
    // The override serves anyway, with a loud warning naming the problem.
    const warnings = await serveOn(url, { ONY_ALLOW_PRIVILEGED_DB_LOGIN: '1' });
    expect(warnings.join('\n')).toMatch(/ONY_ALLOW_PRIVILEGED_DB_LOGIN is set: serving on a privileged/);
    expect(warnings.join('\n')).toMatch(reason);
  });

  it('ony serve, run as a process on a superuser DATABASE_URL, exits 1 and says why', async () => {
    const root = new URL('../../', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts'), 'serve'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: database.url!,
        ONY_MASTER_KEY: masterKey,
        ONY_PORT: '0',
        ONY_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).toMatch(/ony: refusing to start: the database login "\w+" \(DATABASE_URL\) is a superuser/);
    expect(code).toBe(1);
  });

  it("refuses a login that owns one of ony's tables", async () => {
    const url = await newLogin('', (r) => `grant ony_app to ${r}`);
    const role = new URL(url).username;
    await sql`alter table audit_checkpoints owner to ${sql.id(role)}`.execute(database.db);
    try {
      await expect(serveOn(url)).rejects.toThrow(/owns ony's objects \(audit_checkpoints\)/);
      const warnings = await serveOn(url, { ONY_ALLOW_PRIVILEGED_DB_LOGIN: 'true' });
      expect(warnings.join('\n')).toMatch(/owns ony's objects/);
    } finally {
      await sql`alter table audit_checkpoints owner to ony_owner`.execute(database.db);
    }
  });

  it('refuses a confined login not yet granted the app role, saying how to grant it', async () => {
    const url = await newLogin('');
    const role = new URL(url).username;
    await expect(serveOn(url)).rejects.toThrow(
      new RegExp(`not a member of the app role ony_app; run \`ony migrate --grant-runtime ${role}\``),
    );
    await grantRuntime(database.db, role);
    expect(await serveOn(url)).toEqual([]);
  });

  it('the confined runtime login of the test suite starts without a warning', async () => {
    expect(await serveOn(database.runtimeUrl!)).toEqual([]);
  });

  it('ony migrate --grant-runtime refuses an unknown or privileged role and changes nothing', async () => {
    const env = { DATABASE_URL: database.runtimeUrl!, ONY_MASTER_KEY: masterKey, ONY_LOG_LEVEL: 'silent' };
    const unknown = await runInMemory(
      ['migrate', '--database-url', database.url!, '--grant-runtime', 'ony_no_such_role'],
      { env },
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('role "ony_no_such_role" does not exist');
    const superUrl = await newLogin('superuser');
    const superRole = new URL(superUrl).username;
    const privileged = await runInMemory(
      ['migrate', '--database-url', database.url!, '--grant-runtime', superRole],
      { env },
    );
    expect(privileged.code).toBe(1);
    expect(privileged.stderr).toContain('the runtime login must be confined');
    const member = await sql<{
      m: boolean;
    }>`select pg_has_role(${superRole}, 'ony_app', 'USAGE') as m`.execute(database.db);
    // A superuser passes every pg_has_role check; what matters is that no grant row was added.
    expect(member.rows[0]!.m).toBe(true);
    const granted = await sql<{ n: number }>`
      select count(*)::int as n from pg_auth_members m
      where m.member = ${superRole}::regrole and m.roleid = 'ony_app'::regrole`.execute(database.db);
    expect(granted.rows[0]!.n).toBe(0);
    const bad = await runInMemory(['migrate', '--database-url', 'mysql://x'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--database-url must be a postgres:// URL');
  });

  it('ony serve with ONY_MIGRATE_DATABASE_URL migrates with it, grants the runtime login, and runs jobs as it', async () => {
    const name = `ony_t_${randomBytes(6).toString('hex')}`;
    await asServerAdmin(serverUrl, `create database ${name}`);
    try {
      const ownerUrl = new URL(serverUrl);
      ownerUrl.pathname = `/${name}`;
      const role = uniqueRoleName('ony_probe');
      roles.unshift(role);
      await asServerAdmin(serverUrl, `create role ${role} login password 'pw'`);
      const runtimeUrl = urlAs(ownerUrl.toString(), role, 'pw');
      const { logger } = memoryLogger();
      const config = loadConfig({
        DATABASE_URL: runtimeUrl,
        ONY_MIGRATE_DATABASE_URL: ownerUrl.toString(),
        ONY_MASTER_KEY: masterKey,
        ONY_PUBLIC_URL: 'https://ony.test',
      });
      expect(config.migrateOnStart).toBe(true);
      const c = await createContainer(config, { store: createMemoryStore(), logger, jobPollingSeconds: 0.5 });
      try {
        await c.startWorkers();
        const seen: unknown[] = [];
        await c.jobs.work('test.confined', async (data) => void seen.push(data));
        await c.jobs.send('test.confined', { ok: 1 });
        await waitFor(() => seen.length === 1, 'the job on the runtime login');
        const owners = await sql<{ schema: string; owner: string }>`
          select nspname as schema, nspowner::regrole::text as owner from pg_namespace
          where nspname in ('public', 'pgboss') order by 1`.execute(c.database.db);
        expect(owners.rows).toEqual([
          { schema: 'pgboss', owner: role },
          { schema: 'public', owner: 'pg_database_owner' },
        ]);
        // The migration pool was closed: only the runtime login is connected from here.
        const logins = await sql<{ u: string }>`
          select distinct usename::text as u from pg_stat_activity where datname = current_database()`.execute(
          c.database.db,
        );
        expect(logins.rows.map((r) => r.u)).toEqual([role]);
      } finally {
        await c.close();
      }
    } finally {
      await asServerAdmin(serverUrl, `drop database if exists ${name} with (force)`);
    }
  });

  it('hands a pg-boss schema installed by another login over to the runtime login', async () => {
    const name = `ony_t_${randomBytes(6).toString('hex')}`;
    await asServerAdmin(serverUrl, `create database ${name}`);
    try {
      const ownerUrl = new URL(serverUrl);
      ownerUrl.pathname = `/${name}`;
      // Before the split: one privileged login migrated, served and installed pg-boss.
      const { logger } = memoryLogger();
      const before = await createContainer(
        loadConfig({
          DATABASE_URL: ownerUrl.toString(),
          ONY_MIGRATE_ON_START: 'true',
          ONY_ALLOW_PRIVILEGED_DB_LOGIN: '1',
          ONY_MASTER_KEY: masterKey,
          ONY_PUBLIC_URL: 'https://ony.test',
        }),
        { store: createMemoryStore(), logger },
      );
      await before.startWorkers();
      await before.close();
      const role = uniqueRoleName('ony_probe');
      roles.unshift(role);
      await asServerAdmin(serverUrl, `create role ${role} login password 'pw'`);
      const r = await runInMemory(['migrate', '--grant-runtime', role], {
        env: { DATABASE_URL: ownerUrl.toString(), ONY_MASTER_KEY: masterKey },
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const after = await createContainer(
        loadConfig({
          DATABASE_URL: urlAs(ownerUrl.toString(), role, 'pw'),
          ONY_MASTER_KEY: masterKey,
          ONY_PUBLIC_URL: 'https://ony.test',
        }),
        { store: createMemoryStore(), logger, jobPollingSeconds: 0.5 },
      );
      try {
        await after.startWorkers();
        const seen: unknown[] = [];
        await after.jobs.work('test.handover', async (data) => void seen.push(data));
        await after.jobs.send('test.handover', { ok: 1 });
        await waitFor(() => seen.length === 1, 'the job after the handover');
      } finally {
        await after.close();
      }
    } finally {
      await asServerAdmin(serverUrl, `drop database if exists ${name} with (force)`);
    }
  });
});

describe.skipIf(realDatabaseUrl === undefined)('a stolen runtime credential (real Postgres only)', () => {
  let t: TestServer;
  let orgId: string;
  let memberId: string;
  let runtime: pg.Client;
  beforeAll(async () => {
    t = await startTestServer();
    ({ orgId, memberId } = await createOrgWithAdmin(t, 'probe'));
    await t.container.audit.checkpoint(orgId);
    runtime = new pg.Client({ connectionString: t.database.runtimeUrl });
    await runtime.connect();
  });
  afterAll(async () => {
    await runtime?.end();
    await t?.close();
  });

  /** One statement as the runtime login, in its own transaction, as the app role when asked. */
  async function attempt(statement: string, asApp = true): Promise<unknown> {
    await runtime.query('begin');
    try {
      if (asApp)
        await runtime.query(
          `select set_config('role', 'ony_app', true), set_config('ony.org_id', '${orgId}', true)`,
        );
      return await runtime.query(statement);
    } finally {
      await runtime.query('rollback');
    }
  }

  it('is the login the server runs on', async () => {
    const login = await sql<{ u: string }>`select session_user::text as u`.execute(t.container.database.db);
    expect(login.rows[0]!.u).toBe(t.database.login);
  });

  it('cannot SET ROLE ony_owner, nor skip triggers with session_replication_role', async () => {
    await expect(attempt('set role ony_owner', false)).rejects.toThrow(/permission denied to set role/);
    await expect(attempt("select set_config('role', 'ony_owner', true)", false)).rejects.toThrow(
      /permission denied to set role/,
    );
    await expect(attempt('set session_replication_role = replica', false)).rejects.toThrow(
      /permission denied/,
    );
  });

  it('cannot disable the append-only trigger', async () => {
    for (const asApp of [true, false]) {
      await expect(attempt('alter table audit_events disable trigger append_only', asApp)).rejects.toThrow(
        /must be owner/,
      );
      await expect(attempt('alter table audit_events disable trigger all', asApp)).rejects.toThrow(
        /must be owner/,
      );
    }
  });

  it('cannot UPDATE, DELETE or TRUNCATE audit rows', async () => {
    for (const asApp of [true, false]) {
      await expect(
        attempt(`delete from audit_events where org_id = '${orgId}' and seq > 1`, asApp),
      ).rejects.toThrow(/permission denied/);
      await expect(
        attempt(`update audit_events set canonical = '{}' where org_id = '${orgId}'`, asApp),
      ).rejects.toThrow(/permission denied/);
      await expect(attempt('truncate audit_events', asApp)).rejects.toThrow(/permission denied/);
    }
  });

  it('cannot rewind audit_heads nor delete the checkpoint row', async () => {
    for (const asApp of [true, false]) {
      await expect(
        attempt(`update audit_heads set seq = 1, hash = '\\x00' where org_id = '${orgId}'`, asApp),
      ).rejects.toThrow(/permission denied/);
      await expect(attempt(`delete from audit_checkpoints where org_id = '${orgId}'`, asApp)).rejects.toThrow(
        /permission denied/,
      );
      await expect(attempt('truncate audit_checkpoints', asApp)).rejects.toThrow(/permission denied/);
    }
  });

  it('cannot run the owner-only eraser, nor erase an org without a scheduled erasure', async () => {
    await expect(attempt(`select ony_erase_org('${orgId}')`)).rejects.toThrow(/permission denied/);
    await expect(attempt(`select ony_erase_scheduled_org('${orgId}', gen_random_uuid())`)).rejects.toThrow(
      /has no scheduled erasure/,
    );
  });

  it('cannot schedule an org erasure in the past, nor move one forward, to erase an org early', async () => {
    const insert = (requestedAt: string, eraseAt: string) =>
      `insert into org_erasures (org_id, requested_by, requested_at, erase_at)
       values ('${orgId}', '${memberId}', ${requestedAt}, ${eraseAt}) returning id`;
    await expect(attempt(insert("now() - interval '40 days'", "now() - interval '1 day'"))).rejects.toThrow(
      /an org erasure is requested now/,
    );
    await runtime.query('begin');
    try {
      await runtime.query(
        `select set_config('role', 'ony_app', true), set_config('ony.org_id', '${orgId}', true)`,
      );
      const id = (await runtime.query<{ id: string }>(insert('now()', "now() + interval '30 days'"))).rows[0]!
        .id;
      await runtime.query('savepoint s');
      await expect(
        runtime.query(`update org_erasures set erase_at = now() - interval '1 day' where id = '${id}'`),
      ).rejects.toThrow(/permission denied/);
      await runtime.query('rollback to savepoint s');
      await expect(runtime.query(`select ony_erase_scheduled_org('${orgId}', '${id}')`)).rejects.toThrow(
        /is not due/,
      );
    } finally {
      await runtime.query('rollback');
    }
  });

  it('leaves the chain whole: every probe above changed nothing', async () => {
    const r = await t.container.audit.verify(orgId);
    expect(r).toMatchObject({ ok: true });
    const rows = await sql<{ n: number }>`
      select (select count(*) from audit_checkpoints where org_id = ${orgId})::int as n`.execute(
      t.database.db,
    );
    expect(rows.rows[0]!.n).toBe(1);
  });
});

describe.skipIf(realDatabaseUrl !== undefined)('embedded mode', () => {
  it('starts with no database configuration and no login check (PGlite has a single login)', async () => {
    const { logger, lines } = memoryLogger();
    const database = await freshDatabase();
    const c = await createContainer(loadConfig({ ONY_MASTER_KEY: masterKey }), {
      database,
      store: createMemoryStore(),
      logger,
    });
    await c.close();
    expect(lines().join('\n')).not.toContain('ONY_ALLOW_PRIVILEGED_DB_LOGIN');
    // A fresh migrated database and a whole container, like a beforeAll: the hook's bound, not 30 s.
  }, 60_000);

  it('ony migrate --grant-runtime needs Postgres, and says so', async () => {
    const r = await runInMemory(['migrate', '--grant-runtime', 'ony_runtime'], {
      env: { ONY_DATA_DIR: '/nonexistent/ony-never-created' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--grant-runtime needs Postgres; embedded mode has one login');
  });
});
