import { describe, expect, it } from 'vitest';
import {
  concurrentIndexName,
  isNoTransaction,
  planMigrations,
  splitStatements,
  type MigrationFile,
} from './plan.js';

const file = (name: string, sql: string, sha256 = `sha-${name}`): MigrationFile => ({ name, sql, sha256 });

describe('migration plan', () => {
  it('splits statements at top-level semicolons only, dropping comments', () => {
    const text = `-- ony:no-transaction
SET ROLE ony_owner; /* a; comment */
create index concurrently if not exists "a;b" on t (v) where s <> 'x;''y';
-- a comment; with a semicolon
create function f() returns int language sql as $body$ select 1; $body$;
select $$;$$`;
    expect(splitStatements(text)).toEqual([
      'SET ROLE ony_owner',
      `create index concurrently if not exists "a;b" on t (v) where s <> 'x;''y'`,
      'create function f() returns int language sql as $body$ select 1; $body$',
      'select $$;$$',
    ]);
    expect(() => splitStatements("select 'open")).toThrow(/unterminated ' quote/);
    expect(() => splitStatements('select 1 /* open')).toThrow(/unterminated \/\* comment/);
  });

  it('reads the marker on the first line only', () => {
    expect(isNoTransaction('-- ony:no-transaction\ncreate index …')).toBe(true);
    expect(isNoTransaction('  -- ONY:No-Transaction  \r\n')).toBe(true);
    expect(isNoTransaction('-- header\n-- ony:no-transaction\n')).toBe(false);
  });

  it('names the index a concurrent build makes', () => {
    expect(concurrentIndexName('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS x_y ON t (v)')).toBe('x_y');
    expect(concurrentIndexName('create index concurrently if not exists "Odd ""x""" on t (v)')).toBe(
      '"Odd ""x"""',
    );
    expect(concurrentIndexName('create index x on t (v)')).toBeUndefined();
  });

  it('batches consecutive transactional migrations and puts each marked one alone, in order', () => {
    const all = [
      file('0001_a.sql', 'create table a ();'),
      file('0002_b.sql', 'create table b ();'),
      file('0003_c.sql', '-- ony:no-transaction\ncreate index concurrently if not exists c on b (x);'),
      file('0004_d.sql', '-- ony:no-transaction\nselect 1;'),
      file('0005_e.sql', 'create table e ();'),
    ];
    const plan = planMigrations(all, new Map([['0001_a.sql', 'sha-0001_a.sql']]));
    expect(plan.changed).toEqual([]);
    expect(plan.pending.map((m) => m.name)).toEqual(['0002_b.sql', '0003_c.sql', '0004_d.sql', '0005_e.sql']);
    expect(
      plan.steps.map((s) =>
        s.kind === 'transaction' ? s.migrations.map((m) => m.name) : [`alone ${s.migration.name}`],
      ),
    ).toEqual([['0002_b.sql'], ['alone 0003_c.sql'], ['alone 0004_d.sql'], ['0005_e.sql']]);
    const alone = plan.steps[1]!;
    expect(alone.kind === 'alone' && alone.statements).toEqual([
      'create index concurrently if not exists c on b (x)',
    ]);
  });

  it('reports an applied migration whose file changed', () => {
    const plan = planMigrations(
      [file('0001_a.sql', 'x'), file('0002_b.sql', 'y')],
      new Map([['0001_a.sql', 'old']]),
    );
    expect(plan.changed).toEqual(['0001_a.sql']);
  });

  it('refuses a concurrent index build that a retry could not finish (no IF NOT EXISTS)', () => {
    const bad = file('0007_x.sql', '-- ony:no-transaction\ncreate unique index concurrently x on t (v);');
    expect(() => planMigrations([bad], new Map())).toThrow(
      /0007_x.sql: a concurrent index build must say IF NOT EXISTS/,
    );
  });
});
