/**
 * `ony audit` from the shell: export an org's chain, verify it offline against the published key,
 * and catch a tampered export or a wrong key, with no database for the offline part.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
  dir = await mkdtemp(join(tmpdir(), 'ony-audit-cli-'));
  const base = {
    ONY_LOG_LEVEL: 'silent',
    ONY_PUBLIC_URL: 'https://ony.test',
    ONY_AUDIT_SIGNING_KEY: Buffer.alloc(32, 9).toString('base64'),
  };
  if (realDatabaseUrl) {
    database = await freshDatabase();
    env = { ...base, DATABASE_URL: database.url, ONY_MASTER_KEY: Buffer.alloc(32, 1).toString('base64') };
  } else {
    env = { ...base, ONY_DATA_DIR: dir };
  }
});
afterAll(async () => {
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ony audit', () => {
  it('exports a chain that verifies offline under the published key, and catches tampering and a wrong key', async () => {
    const setup = await cli(
      ['setup', '--org-name', 'Audited', '--email', 'a@audited.test', '--name', 'A'],
      env,
      `${PASSWORD}\n`,
    );
    expect(setup.code, setup.stderr).toBe(0);
    const orgId = /\(([0-9a-f-]{36})\)/.exec(setup.stdout)![1]!;

    const online = await cli(['audit', 'verify', '--org', orgId], env);
    expect(online.code, online.stderr).toBe(0);
    expect(JSON.parse(online.stdout)).toMatchObject({ org_id: orgId, ok: true, entries: 2 });

    const note = await cli(['audit', 'checkpoint', '--org', orgId], env);
    expect(note.code).toBe(0);
    expect(note.stdout).toContain(`ony/audit/${orgId}\n2\n`);

    const exported = await cli(['audit', 'export', '--org', orgId], env);
    expect(exported.code).toBe(0);
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.type)).toEqual(['chain', 'checkpoint', 'entry', 'entry']);
    const file = join(dir, 'chain.jsonl');
    await writeFile(file, exported.stdout);

    // The verifier key as /.well-known/ony-audit-key publishes it.
    const { signingKeyFromSeed, verifierKey } = await import('../../src/core/audit-chain/checkpoint.js');
    const key = signingKeyFromSeed('ony.test/ony-audit', Buffer.alloc(32, 9));
    const pubkey = verifierKey(key.name, key.publicKey);

    const offline = await cli(['audit', 'verify', '--file', file, '--pubkey', pubkey], {});
    expect(offline.code, offline.stderr).toBe(0);
    expect(JSON.parse(offline.stdout)).toMatchObject({
      ok: true,
      entries: 2,
      checkpoints_verified: 1,
      signatures_checked: true,
    });

    const tampered = exported.stdout.replace('"slug\\":\\"audited\\"', '"slug\\":\\"forged\\"');
    expect(tampered).not.toBe(exported.stdout);
    await writeFile(file, tampered);
    const bad = await cli(['audit', 'verify', '--file', file, '--pubkey', pubkey], {});
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, bad_seq: 1, reason: 'hash_mismatch' });

    await writeFile(file, exported.stdout);
    const other = signingKeyFromSeed('ony.test/ony-audit', Buffer.alloc(32, 8));
    const wrongKey = await cli(
      ['audit', 'verify', '--file', file, '--pubkey', verifierKey(other.name, other.publicKey)],
      {},
    );
    expect(wrongKey.code).toBe(1);
    expect(JSON.parse(wrongKey.stdout).detail).toMatch(/checkpoint does not verify/);

    // Bad input: a missing file, a non-export, no org.
    expect((await cli(['audit', 'verify', '--file', join(dir, 'nope.jsonl')], {})).code).toBe(2);
    await writeFile(file, 'hello\n');
    const garbage = await cli(['audit', 'verify', '--file', file], {});
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toContain('not JSON');
    expect((await cli(['audit', 'verify'], {})).code).toBe(2);
    expect((await cli(['audit', 'export', '--org', 'not-a-uuid'], env)).code).toBe(2);
  }, 90_000);
});
