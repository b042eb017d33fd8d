/**
 * `ony audit` from the shell: export an org's chain, verify it offline against the published key,
 * and catch a tampered export or a wrong key, with no database for the offline part.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInMemory, type CliResult } from '../helpers/cli.js';
import { freshDatabase, realDatabaseUrl, type TestDatabase } from '../helpers/db.js';
import { PASSWORD } from '../helpers/app.js';
import { signingKeyFromSeed, verifierKey } from '../../src/core/audit-chain/checkpoint.js';
import { chainHash } from '../../src/core/audit-chain/entry.js';

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

/** One org with two entries and a checkpoint at seq 2, exported; made once, shared by the tests. */
let prepared:
  | Promise<{ orgId: string; setup: CliResult; online: CliResult; note: CliResult; exported: CliResult }>
  | undefined;
const exportedOrg = () =>
  (prepared ??= (async () => {
    const setup = await cli(
      ['setup', '--org-name', 'Audited', '--email', 'a@audited.test', '--name', 'A'],
      env,
      `${PASSWORD}\n`,
    );
    const orgId = /\(([0-9a-f-]{36})\)/.exec(setup.stdout)?.[1] ?? '';
    const online = await cli(['audit', 'verify', '--org', orgId], env);
    const note = await cli(['audit', 'checkpoint', '--org', orgId], env);
    const exported = await cli(['audit', 'export', '--org', orgId], env);
    return { orgId, setup, online, note, exported };
  })());

/** The verifier key as /.well-known/ony-audit-key publishes it (for the seed in env). */
function publishedKey(): string {
  const key = signingKeyFromSeed('ony.test/ony-audit', Buffer.alloc(32, 9));
  return verifierKey(key.name, key.publicKey);
}

type ExportLine = Record<string, unknown> & { type: string };
const parseLines = (text: string): ExportLine[] =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ExportLine);
const writeLines = (file: string, lines: readonly ExportLine[]) =>
  writeFile(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);

describe('ony audit', () => {
  it('exports a chain that verifies offline under the published key, and catches tampering and a wrong key', async () => {
    const { setup, orgId, online, note, exported } = await exportedOrg();
    expect(setup.code, setup.stderr).toBe(0);
    expect(online.code, online.stderr).toBe(0);
    expect(JSON.parse(online.stdout)).toMatchObject({ org_id: orgId, ok: true, entries: 2 });
    expect(note.code).toBe(0);
    expect(note.stdout).toContain(`ony/audit/${orgId}\n2\n`);
    expect(exported.code).toBe(0);
    const lines = parseLines(exported.stdout);
    expect(lines.map((l) => l.type)).toEqual(['chain', 'checkpoint', 'entry', 'entry']);
    const file = join(dir, 'chain.jsonl');
    await writeFile(file, exported.stdout);
    const pubkey = publishedKey();
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
    expect(JSON.parse(wrongKey.stdout)).toMatchObject({ ok: false, bad_seq: 2, checkpoint_seq: 2 });
    expect(JSON.parse(wrongKey.stdout).detail).toMatch(/checkpoint at seq 2 does not verify/);

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

describe('the checkpoints inside an export are checked, with or without a key', () => {
  it('a cut tail with a rewritten header fails, naming the checkpoint beyond the end', async () => {
    const { exported } = await exportedOrg();
    const lines = parseLines(exported.stdout);
    const entries = lines.filter((l) => l.type === 'entry');
    // Drop entry 2 and make the header agree with entry 1: self-consistent, but the checkpoint attests seq 2.
    const cut = lines
      .filter((l) => !(l.type === 'entry' && l.seq === 2))
      .map((l) => (l.type === 'chain' ? { ...l, head_seq: 1, head_hash: entries[0]!.hash } : l));
    const file = join(dir, 'cut.jsonl');
    await writeLines(file, cut);
    const r = await cli(['audit', 'verify', '--file', file], {});
    expect(r.code, r.stdout).toBe(1);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ ok: false, bad_seq: 2, checkpoint_seq: 2, reason: 'head_mismatch' });
    expect(report.detail).toMatch(/checkpoint at seq 2 is beyond the chain's end at seq 1/);
  });

  it('a fully rehashed forgery with the original checkpoint fails', async () => {
    const { exported } = await exportedOrg();
    const lines = parseLines(exported.stdout);
    const header = lines[0]!;
    // Rewrite entry 1 and recompute every hash and link after it, as the database's owner could.
    let prev = String(header.genesis);
    const forged = lines.map((l) => {
      if (l.type !== 'entry') return l;
      const canonical = String(l.canonical)
        .replace('"slug":"audited"', '"slug":"forged"')
        .replace(/"prev_hash":"[0-9a-f]{64}"/, `"prev_hash":"${prev}"`);
      const hash = chainHash(prev, canonical);
      const out = { ...l, prev_hash: prev, hash, canonical };
      prev = hash;
      return out;
    });
    forged[0] = { ...header, head_hash: prev };
    const file = join(dir, 'forged.jsonl');
    await writeLines(file, forged);
    const r = await cli(['audit', 'verify', '--file', file], {});
    expect(r.code, r.stdout).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, bad_seq: 2, checkpoint_seq: 2 });
    expect(JSON.parse(r.stdout).detail).toMatch(/checkpoint at seq 2 attests another hash/);
    // Without the checkpoint the same forgery is self-consistent: the checkpoint is what catches it.
    await writeLines(
      file,
      forged.filter((l) => l.type !== 'checkpoint'),
    );
    expect((await cli(['audit', 'verify', '--file', file], {})).code).toBe(0);
  });

  it('a tampered signature names the checkpoint seq', async () => {
    const { exported } = await exportedOrg();
    const lines = parseLines(exported.stdout).map((l) => {
      if (l.type !== 'checkpoint') return l;
      const note = String(l.note);
      // Flip one base64 character inside the Ed25519 signature (after the 4-byte key id).
      const at = note.lastIndexOf(' ') + 20;
      const flipped = note[at] === 'A' ? 'B' : 'A';
      return { ...l, note: note.slice(0, at) + flipped + note.slice(at + 1) };
    });
    const file = join(dir, 'badsig.jsonl');
    await writeLines(file, lines);
    const r = await cli(['audit', 'verify', '--file', file, '--pubkey', publishedKey()], {});
    expect(r.code, r.stdout).toBe(1);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ ok: false, bad_seq: 2, checkpoint_seq: 2 });
    expect(report.detail).toMatch(
      /checkpoint at seq 2 does not verify: its signature by ony\.test\/ony-audit\+[0-9a-f]{8} is invalid/,
    );
  });
});

describe('the checkpoint key does not follow the listen address', () => {
  it("verify from a shell without the server's PORT still checks the checkpoints", async () => {
    const own = await mkdtemp(join(tmpdir(), 'ony-audit-port-'));
    const other = realDatabaseUrl ? await freshDatabase() : undefined;
    try {
      // No ONY_PUBLIC_URL: the old key name was derived from PORT.
      const base = {
        ONY_LOG_LEVEL: 'silent',
        ONY_AUDIT_SIGNING_KEY: Buffer.alloc(32, 7).toString('base64'),
        ...(other
          ? {
              DATABASE_URL: other.runtimeUrl,
              ONY_MIGRATE_DATABASE_URL: other.url,
              ONY_MASTER_KEY: Buffer.alloc(32, 2).toString('base64'),
            }
          : { ONY_DATA_DIR: own }),
      };
      const server = { ...base, PORT: '4123' };
      const setup = await cli(
        ['setup', '--org-name', 'Ported', '--email', 'p@ported.test', '--name', 'P'],
        server,
        `${PASSWORD}\n`,
      );
      expect(setup.code, setup.stderr).toBe(0);
      const orgId = /\(([0-9a-f-]{36})\)/.exec(setup.stdout)![1]!;
      expect((await cli(['audit', 'checkpoint', '--org', orgId], server)).code).toBe(0);

      const shell = await cli(['audit', 'verify', '--org', orgId], base);
      expect(shell.code, shell.stdout).toBe(0);
      expect(JSON.parse(shell.stdout)).toMatchObject({ ok: true, entries: 2, checkpoints_verified: 1 });

      // Offline, a key the checkpoint was not signed by is a reported failure, not a skip.
      const exported = await cli(['audit', 'export', '--org', orgId], base);
      const file = join(own, 'chain.jsonl');
      await writeFile(file, exported.stdout);
      const stranger = signingKeyFromSeed('elsewhere.example/ony-audit', Buffer.alloc(32, 3));
      const r = await cli(
        ['audit', 'verify', '--file', file, '--pubkey', verifierKey(stranger.name, stranger.publicKey)],
        {},
      );
      expect(r.code, r.stdout).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, checkpoint_seq: 2 });
      expect(JSON.parse(r.stdout).detail).toMatch(
        /checkpoint at seq 2 does not verify: it is signed by an unknown key/,
      );
    } finally {
      await other?.close();
      await rm(own, { recursive: true, force: true });
    }
  }, 90_000);
});
