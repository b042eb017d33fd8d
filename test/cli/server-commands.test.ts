import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInMemory } from '../helpers/cli.js';
import { freshDatabase, realDatabaseUrl, type TestDatabase } from '../helpers/db.js';
import { PASSWORD } from '../helpers/app.js';

const cli = (argv: string[], env: NodeJS.ProcessEnv, stdin = '') => runInMemory(argv, { env, stdin });

let dir: string;
let database: TestDatabase | undefined;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ony-cli-'));
  if (realDatabaseUrl) {
    database = await freshDatabase();
    env = {
      DATABASE_URL: database.runtimeUrl,
      ONY_MIGRATE_DATABASE_URL: database.url,
      ONY_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
      ONY_LOG_LEVEL: 'silent',
    };
  } else {
    env = { ONY_DATA_DIR: dir, ONY_LOG_LEVEL: 'silent' };
  }
});
afterAll(async () => {
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ony CLI (operator commands)', () => {
  it('prints help for every command, and refuses unknown ones', async () => {
    const top = await cli(['--help'], {});
    expect(top.code).toBe(0);
    for (const name of ['serve', 'migrate', 'setup', 'keygen']) {
      expect(top.stdout).toContain(name);
      const h = await cli([name, '--help'], {});
      expect(h.code, name).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^usage: ony ${name}`));
    }
    const unknown = await cli(['frobnicate'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it('keygen prints a 32-byte base64 key that the config accepts', async () => {
    const { code, stdout: out } = await cli(['keygen'], {});
    expect(code).toBe(0);
    expect(Buffer.from(out.trim(), 'base64')).toHaveLength(32);
  });

  it('reports bad configuration with what to do, and exits 2', async () => {
    const r = await cli(['migrate'], { DATABASE_URL: 'postgres://x@127.0.0.1:1/none' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ONY_MASTER_KEY is required');
    expect(r.stderr).toContain('ony keygen');
  });

  it('migrate, then setup creates an org and admin from a password on stdin; bad input changes nothing', async () => {
    const m = await cli(['migrate'], env);
    expect(m.code, m.stderr).toBe(0);
    expect((await cli(['migrate'], env)).stdout).toBe('database is up to date\n');

    const missing = await cli(['setup', '--org-name', 'Acme'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--org-name, --email and --name are required');

    const weak = await cli(
      ['setup', '--org-name', 'Acme', '--email', 'a@acme.test', '--name', 'A'],
      env,
      'short\n',
    );
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/password must be between 12/);

    const ok = await cli(
      ['setup', '--org-name', 'Acme Inc', '--email', 'a@acme.test', '--name', 'A'],
      env,
      `${PASSWORD}\n`,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^created organization acme-inc \([0-9a-f-]{36}\) with admin a@acme.test/);

    const again = await cli(
      ['setup', '--org-name', 'Acme Inc', '--email', 'b@acme.test', '--name', 'B'],
      env,
      `${PASSWORD}\n`,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('slug already exists');

    const token = await cli(['setup', '--token'], env);
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(/^ony_setup_[A-Za-z0-9_-]{43}\n$/);

    if (!realDatabaseUrl) {
      // Embedded mode made its own master key, readable by the owner only.
      expect((await stat(join(dir, 'master.key'))).mode & 0o777).toBe(0o600);
    }
  }, 60_000);
});
