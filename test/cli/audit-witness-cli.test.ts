/**
 * `ony audit verify --witness` from the shell (issue #18 item 1.4): the checkpoints a witness kept
 * outside the database, as files (DIR/ORG_ID/<seq>.checkpoint) or from an HTTPS witness
 * (URL/ORG_ID/latest.checkpoint), catch the database owner's cut tail that `verify --org` alone
 * passes, with --org and with --file; and every bad --witness input is a clear error.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCheckpoint, signingKeyFromSeed, verifierKey } from '../../src/core/audit-chain/checkpoint.js';
import { checkpointObjectKey, latestObjectKey } from '../../src/core/audit-chain/witness.js';
import { openPglite } from '../../src/db/client.js';
import type { DB } from '../../src/db/schema.js';
import { loadConfig } from '../../src/config/index.js';
import { createContainer } from '../../src/container.js';
import { createLogger } from '../../src/lib/logger.js';
import { startTestWitness } from '../fakes/witness.js';
import { PASSWORD } from '../helpers/app.js';
import { runInMemory } from '../helpers/cli.js';
import { freshDatabase, realDatabaseUrl, type TestDatabase } from '../helpers/db.js';

const cli = (argv: string[], stdin = '') => runInMemory(argv, { env, stdin });
const SEED = Buffer.alloc(32, 9);

let dir: string;
let database: TestDatabase | undefined;
let env: NodeJS.ProcessEnv;
let server: Server;
let url: string;
let orgId: string;
let witnessDir: string;
let note: string;
let before: string;
let after: string;

/** As the database owner: triggers off, entries after `keep` deleted, head rewound, checkpoints deleted. */
async function cutTail(keep: number): Promise<void> {
  const run = async (db: Kysely<DB>) =>
    db.transaction().execute(async (tx) => {
      for (const table of ['audit_events', 'audit_checkpoints'])
        await sql.raw(`alter table ${table} disable trigger append_only`).execute(tx);
      await sql.raw(`delete from audit_events where org_id = '${orgId}' and seq > ${keep}`).execute(tx);
      await sql
        .raw(
          `update audit_heads set seq = ${keep}, hash = (select hash from audit_events where org_id = '${orgId}' and seq = ${keep}) where org_id = '${orgId}'`,
        )
        .execute(tx);
      await sql.raw(`delete from audit_checkpoints where org_id = '${orgId}'`).execute(tx);
      for (const table of ['audit_events', 'audit_checkpoints'])
        await sql.raw(`alter table ${table} enable always trigger append_only`).execute(tx);
    });
  if (database) return run(database.db);
  const pglite = await openPglite(join(dir, 'pglite'));
  try {
    await run(pglite.db);
  } finally {
    await pglite.close();
  }
}

/** A witness directory holding `notes` for the org, as the witness stores them. */
async function witnessWith(notes: Record<number, string>): Promise<string> {
  const w = await mkdtemp(join(dir, 'w-'));
  await mkdir(join(w, orgId));
  const seqs = Object.keys(notes).map(Number);
  for (const seq of seqs) await writeFile(join(w, checkpointObjectKey('', orgId, seq)), notes[seq]!);
  await writeFile(join(w, latestObjectKey('', orgId)), notes[Math.max(...seqs)]!);
  return w;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ony-witness-cli-'));
  const base = {
    ONY_LOG_LEVEL: 'silent',
    ONY_PUBLIC_URL: 'https://ony.test',
    ONY_AUDIT_SIGNING_KEY: SEED.toString('base64'),
  };
  if (realDatabaseUrl) {
    database = await freshDatabase();
    // The server's confined runtime login, and the owner credential for migrations (docs/deploy.md).
    env = {
      ...base,
      DATABASE_URL: database.runtimeUrl!,
      ONY_MIGRATE_DATABASE_URL: database.url!,
      ONY_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
    };
  } else {
    env = { ...base, ONY_DATA_DIR: dir };
  }
  const setup = await cli(
    ['setup', '--org-name', 'Witnessed', '--email', 'a@witnessed.test', '--name', 'A'],
    `${PASSWORD}\n`,
  );
  expect(setup.code, setup.stderr).toBe(0);
  orgId = /\(([0-9a-f-]{36})\)/.exec(setup.stdout)![1]!;
  const signed = await cli(['audit', 'checkpoint', '--org', orgId]);
  expect(signed.code, signed.stderr).toBe(0);
  note = signed.stdout;
  expect(note).toContain(`ony/audit/${orgId}\n2\n`);
  // The witness kept the checkpoint (as the https witness and the bucket store it).
  witnessDir = await witnessWith({ 2: note });
  before = (await cli(['audit', 'export', '--org', orgId])).stdout;
  await cutTail(1);
  after = (await cli(['audit', 'export', '--org', orgId])).stdout;
  await writeFile(join(dir, 'cut.jsonl'), after);
  await writeFile(join(dir, 'intact.jsonl'), before);
  // An HTTPS witness serving URL/<org>/latest.checkpoint from that directory (plain http on loopback).
  server = createServer((req, res) => {
    const path = decodeURIComponent(req.url ?? '/').replace(/^\/witness\//, '');
    if (!/^[0-9a-f-]{36}\/latest\.checkpoint$/.test(path)) return void res.writeHead(404).end();
    readFile(join(witnessDir, path)).then(
      (b) => res.writeHead(200).end(b),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/witness`;
}, 180_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

const pubkey = () => {
  const key = signingKeyFromSeed('ony.test/ony-audit', SEED);
  return verifierKey(key.name, key.publicKey);
};
const report = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

describe('ony audit verify --witness', () => {
  it('the owner cut the tail: --org alone passes, --org --witness DIR or URL fails naming the seq', async () => {
    const alone = await cli(['audit', 'verify', '--org', orgId]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(report(alone.stdout)).toMatchObject({ ok: true, head_seq: 1 });

    for (const source of [witnessDir, url]) {
      const r = await cli(['audit', 'verify', '--org', orgId, '--witness', source]);
      expect(r.code, r.stderr).toBe(1);
      expect(report(r.stdout)).toMatchObject({
        ok: false,
        bad_seq: 2,
        checkpoint_seq: 2,
        detail: expect.stringContaining('the witnessed checkpoint at seq 2 is beyond the chain'),
        witness: { source, checkpoints: 1 },
      });
    }
  });

  it('with --file: the cut export fails against the witness, the intact one passes', async () => {
    const cut = join(dir, 'cut.jsonl');
    const intact = join(dir, 'intact.jsonl');
    const bad = await cli(['audit', 'verify', '--file', cut, '--pubkey', pubkey(), '--witness', witnessDir]);
    expect(bad.code, bad.stderr).toBe(1);
    expect(report(bad.stdout)).toMatchObject({ ok: false, checkpoint_seq: 2, signatures_checked: true });
    const good = await cli(['audit', 'verify', '--file', intact, '--pubkey', pubkey(), '--witness', url]);
    expect(good.code, good.stderr).toBe(0);
    expect(report(good.stdout)).toMatchObject({
      ok: true,
      checkpoints_verified: 1,
      witness: { checkpoints: 1 },
    });
  });

  it('a witnessed checkpoint with a bad signature, or by an unknown key, fails naming its seq', async () => {
    const sig = note.trimEnd().split(' ').at(-1)!;
    const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
    const badSig = await witnessWith({ 2: note.replace(sig, flipped) });
    const r1 = await cli(['audit', 'verify', '--org', orgId, '--witness', badSig]);
    expect(r1.code, r1.stderr).toBe(1);
    expect(report(r1.stdout)).toMatchObject({
      ok: false,
      checkpoint_seq: 2,
      detail: expect.stringMatching(
        /^the witnessed checkpoint at seq 2 does not verify: its signature .* is invalid/,
      ),
    });

    const stranger = signingKeyFromSeed('ony.test/ony-audit', Buffer.alloc(32, 3));
    const body = note.slice(0, note.indexOf('\n\n') + 1);
    const [, , hashB64] = body.split('\n');
    const forged = signCheckpoint(
      { orgId, seq: 2, hash: Buffer.from(hashB64!, 'base64').toString('hex'), at: new Date().toISOString() },
      stranger,
    );
    const unknown = await witnessWith({ 2: forged });
    const r2 = await cli(['audit', 'verify', '--org', orgId, '--witness', unknown]);
    expect(r2.code, r2.stderr).toBe(1);
    expect(report(r2.stdout)).toMatchObject({
      checkpoint_seq: 2,
      detail: expect.stringContaining(
        'the witnessed checkpoint at seq 2 does not verify: it is signed by an unknown key',
      ),
    });
  });

  it('bad --witness inputs are clear errors (exit 2)', async () => {
    const empty = await mkdtemp(join(dir, 'empty-'));
    const cases: [string[], RegExp][] = [
      [['--org', orgId, '--witness', join(dir, 'missing')], /no such directory/],
      [['--org', orgId, '--witness', empty], /no checkpoint files for org/],
      [['--org', orgId, '--witness', `${url}/nothing-here`], /has no checkpoint for org/],
      [['--org', orgId, '--witness', 'http://127.0.0.1:1/w'], /could not be reached/],
      [['--org', orgId, '--witness', 'ftp://witness.example/x'], /give an https:\/\/ URL or a directory/],
      [['--org', orgId, '--witness', witnessDir, '--pubkey', 'nonsense'], /verifier key must look like/],
      [['--file', join(dir, 'cut.jsonl'), '--witness', witnessDir], /--witness with --file needs --pubkey/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['audit', 'verify', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stdout}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('ony audit checkpoint queues the push to the witness; the server delivers it', async () => {
    const witness = await startTestWitness(await mkdtemp(join(dir, 'https-')));
    witness.trust([pubkey()]);
    const withWitness = {
      ...env,
      ONY_AUDIT_WITNESS_URL: `${witness.url}/add-checkpoint`,
      ONY_AUDIT_WITNESS_ALLOW_HTTP: 'true',
      ONY_AUDIT_WITNESS_EVERY: '0',
      ONY_AUDIT_WITNESS_INTERVAL_MS: '0',
    };
    try {
      const signed = await runInMemory(['audit', 'checkpoint', '--org', orgId], { env: withWitness });
      expect(signed.code, signed.stderr).toBe(0);
      expect(witness.received).toEqual([]); // queued, not sent by the command itself
      const server = await createContainer(loadConfig(withWitness), {
        logger: createLogger('silent'),
        jobPollingSeconds: 0.5,
      });
      try {
        await server.startWorkers();
        const got = await witness.accepted((c) => c.orgId === orgId && c.seq === 1);
        expect(got.note).toBe(signed.stdout);
      } finally {
        await server.close();
      }
    } finally {
      await witness.close();
    }
  });
});
