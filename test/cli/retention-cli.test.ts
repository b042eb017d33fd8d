/** `ony retention run` from the shell: a report per org, --dry-run appends nothing, bad input exits non-zero. */
import { mkdtemp, rm } from 'node:fs/promises';
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
  dir = await mkdtemp(join(tmpdir(), 'ony-retention-cli-'));
  const base = { ONY_LOG_LEVEL: 'silent', ONY_PUBLIC_URL: 'https://ony.test' };
  if (realDatabaseUrl) {
    database = await freshDatabase();
    env = {
      ...base,
      DATABASE_URL: database.runtimeUrl,
      ONY_MIGRATE_DATABASE_URL: database.url,
      ONY_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
    };
  } else {
    env = { ...base, ONY_DATA_DIR: dir };
  }
});
afterAll(async () => {
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ony retention run', () => {
  it('reports per org; --dry-run appends nothing; a real run appends retention.swept', async () => {
    const setup = await cli(
      ['setup', '--org-name', 'Kept', '--email', 'a@kept.test', '--name', 'A'],
      env,
      `${PASSWORD}\n`,
    );
    expect(setup.code, setup.stderr).toBe(0);
    const orgId = /\(([0-9a-f-]{36})\)/.exec(setup.stdout)![1]!;
    const entries = async () =>
      (JSON.parse((await cli(['audit', 'verify', '--org', orgId], env)).stdout) as { entries: number })
        .entries;
    const before = await entries();

    const dry = await cli(['retention', 'run', '--org', orgId, '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ org_id: orgId, retention_days: 30, due: 0, batches: 0 });
    expect(await entries()).toBe(before);

    const real = await cli(['retention', 'run'], env);
    expect(real.code, real.stderr).toBe(0);
    expect(JSON.parse(real.stdout.trim().split('\n')[0]!)).toMatchObject({ org_id: orgId, removed: 0 });
    expect(await entries()).toBe(before + 1);
  }, 120_000);

  it('bad input exits non-zero and changes nothing', async () => {
    const notUuid = await cli(['retention', 'run', '--org', 'acme'], env);
    expect(notUuid.code).toBe(2);
    expect(notUuid.stderr).toContain('--org must be an org uuid');
    const unknownFlag = await cli(['retention', 'run', '--days', '3'], env);
    expect(unknownFlag.code).toBe(2);
    const unknownOrg = await cli(['retention', 'run', '--org', '00000000-0000-4000-8000-000000000000'], env);
    expect(unknownOrg.code).toBe(1);
    expect(unknownOrg.stderr).toContain('org not found');
  }, 60_000);
});
