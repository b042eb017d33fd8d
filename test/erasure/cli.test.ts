/**
 * `ony org erase --now` (typed confirmation) and `ony keys rotate` from the shell, on embedded
 * PGlite (a data dir) or the Postgres of DATABASE_URL. Each command opens its own container (and
 * PGlite its data dir), so these are slow under load: generous timeouts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKeyFrom } from '../../src/lib/crypto.js';
import { PASSWORD } from '../helpers/app.js';
import { runInMemory } from '../helpers/cli.js';
import { freshDatabase, realDatabaseUrl, type TestDatabase } from '../helpers/db.js';

const cli = (argv: string[], env: NodeJS.ProcessEnv, stdin = '') => runInMemory(argv, { env, stdin });

let dir: string;
let database: TestDatabase | undefined;
let env: NodeJS.ProcessEnv;
const base = { ONY_LOG_LEVEL: 'silent', ONY_PUBLIC_URL: 'https://ony.test' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ony-erase-cli-'));
  if (realDatabaseUrl) {
    database = await freshDatabase();
    env = {
      ...base,
      DATABASE_URL: database.runtimeUrl,
      ONY_MIGRATE_DATABASE_URL: database.url,
      ONY_MASTER_KEY: randomBytes(32).toString('base64'),
    };
  } else {
    env = { ...base, ONY_DATA_DIR: dir };
  }
});
afterAll(async () => {
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

async function setupOrg(name: string): Promise<string> {
  const r = await cli(
    ['setup', '--org-name', name, '--email', `a@${name.toLowerCase()}.test`, '--name', 'A'],
    env,
    `${PASSWORD}\n`,
  );
  expect(r.code, r.stderr).toBe(0);
  return /\(([0-9a-f-]{36})\)/.exec(r.stdout)![1]!;
}

describe('ony org erase', () => {
  it('erases only after the org name is typed back', async () => {
    const orgId = await setupOrg('Erasable');
    expect((await cli(['org', 'erase', '--org', orgId], env)).code).toBe(2); // --now is required
    expect((await cli(['org', 'erase', '--org', 'nope', '--now'], env)).code).toBe(2);

    const wrong = await cli(['org', 'erase', '--org', orgId, '--now'], env, 'erasable\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('nothing was erased');
    expect((await cli(['audit', 'verify', '--org', orgId], env)).code).toBe(0); // still there

    const ok = await cli(['org', 'erase', '--org', orgId, '--now'], env, 'Erasable\n');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/Type the organization's name to confirm/);
    expect(ok.stdout).toMatch(/erased .*tombstone: last seq \d+, last hash [0-9a-f]{64}/);

    const again = await cli(['org', 'erase', '--org', orgId, '--now'], env, 'Erasable\n');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no organization ${orgId}`);
  }, 180_000);
});

describe('ony keys rotate', () => {
  it('refuses a malformed key list without touching anything, then re-wraps with the newest key', async () => {
    await setupOrg('Rotating');
    const oldKey = env.ONY_MASTER_KEY ?? (await readFile(join(dir, 'master.key'), 'utf8')).trim();
    const newKey = randomBytes(32).toString('base64');
    const { ONY_MASTER_KEY: _drop, ...rest } = env;
    void _drop;

    const bad = await cli(['keys', 'rotate'], {
      ...rest,
      ONY_MASTER_KEYS: `${newKey},${oldKey.slice(0, 20)}`,
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('ONY_MASTER_KEYS entry 2 of 2 is not a 32-byte base64-encoded key');

    const missing = await cli(['keys', 'rotate'], { ...rest, ONY_MASTER_KEYS: newKey });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      `master key ${masterKeyFrom(Buffer.from(oldKey, 'base64')).id} is not configured`,
    );

    const ok = await cli(['keys', 'rotate'], { ...rest, ONY_MASTER_KEYS: `${newKey},${oldKey}` });
    expect(ok.code, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout) as { rewrapped: number; master_key_id: string };
    expect(report.rewrapped).toBeGreaterThanOrEqual(1);
    expect(report.master_key_id).toBe(masterKeyFrom(Buffer.from(newKey, 'base64')).id);

    // Only the new key now: every data key opens, and --data re-encrypts under fresh ones.
    const data = await cli(['keys', 'rotate', '--data'], { ...rest, ONY_MASTER_KEYS: newKey });
    expect(data.code, data.stderr).toBe(0);
    expect(JSON.parse(data.stdout)).toMatchObject({ rewrapped: 0 });
  }, 180_000);
});
