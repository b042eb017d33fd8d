import { describe, expect, it } from 'vitest';
import { analyseSql } from './sql.js';

const reasons = (sql: string, strict = false) => analyseSql(sql, { strict }).map((f) => f.reason);

describe('SQL reading', () => {
  it('read-only statements are read_only_query; SELECTs that change state are not', () => {
    expect(reasons('SELECT * FROM users; EXPLAIN SELECT 1; SHOW TABLES')).toEqual([
      'read_only_query',
      'read_only_query',
      'read_only_query',
    ]);
    expect(reasons("SELECT setval('s', 1)")).toEqual(['data_modification']);
    expect(reasons("SELECT * INTO OUTFILE '/tmp/x' FROM users")).toEqual(['data_modification']);
    expect(reasons("COPY t TO PROGRAM 'curl x'")).toEqual(['remote_code_pipe']);
  });

  it('read-only grants are a viewer role; anything more is an access change', () => {
    expect(reasons('GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO analyst')).toEqual(['iam_readonly']);
    expect(reasons('GRANT SELECT ON t TO a WITH GRANT OPTION')).toEqual(['iam_change']);
    expect(reasons('GRANT ALL PRIVILEGES ON DATABASE app TO bob')).toEqual(['iam_change']);
  });

  it('in unlabelled text only SQL-shaped statements count, starting on any line', () => {
    expect(reasons('INFO update available\nupdate check done\nDelete from cache ok', true)).toEqual([]);
    expect(reasons('2026-12-07 starting\nDELETE FROM users', true)).toEqual(['unbounded_delete']);
    expect(reasons('TRUNCATE a, b RESTART IDENTITY CASCADE;', true)).toEqual(['unbounded_delete']);
    expect(reasons('CALL rebuild_index();\nVACUUM FULL orders;', true)).toEqual([
      'data_modification',
      'schema_change',
    ]);
    expect(reasons('hello world', true)).toEqual([]);
    expect(reasons('hello world')).toEqual(['unrecognized_sql']);
  });

  it('sensitive tables make a read medium', () => {
    const f = analyseSql('SELECT * FROM billing.cards c JOIN users u ON u.id = c.uid', {
      sensitive: (t) => t === 'billing.cards',
    });
    expect(f.map((x) => x.reason)).toEqual(['sensitive_table_read']);
  });
});
