/**
 * Witnesses outside the database (issue #18 item 1.4, docs/audit.md "Witnesses"): signed checkpoints
 * go out on their own, every N entries, through the durable job queue, to an HTTPS witness (a signed
 * POST it checks under the published key) and to an S3-compatible bucket (s3rver, driven by the
 * real AWS SDK); a failed push is retried and counted and blocks no append; and a database owner who
 * cuts the tail, rewinds the head and deletes the checkpoint rows passes `verify` alone but not
 * `verify` against the witness.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { sql } from 'kysely';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { checkpointObjectKey, latestObjectKey } from '../../src/core/audit-chain/witness.js';
import { withTenant } from '../../src/db/client.js';
import { getHead } from '../../src/features/audit/audit.repository.js';
import { readWitnessed } from '../../src/features/audit/witness-read.js';
import { s3Witness } from '../../src/features/audit/witness-clients.js';
import { as, createOrgWithAdmin, startTestServer, type Actor, type TestServer } from '../helpers/app.js';
import { waitFor } from '../helpers/jobs.js';
import { startTestWitness, type TestWitness } from '../fakes/witness.js';

const BUCKET = 'ony-witness';
const PREFIX = 'audit/';
const EVERY = 5;

let root: string;
let t: TestServer;
let witness: TestWitness;
let s3server: S3rver;
let s3: S3Client;
let endpoint: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ony-witness-'));
  witness = await startTestWitness(join(root, 'https'));
  s3server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(root, 's3'),
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  const { port } = await s3server.run();
  endpoint = `http://127.0.0.1:${port}`;
  s3 = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  t = await startTestServer({
    ONY_AUDIT_WITNESS_URL: `${witness.url}/add-checkpoint`,
    ONY_AUDIT_WITNESS_ALLOW_HTTP: 'true',
    ONY_AUDIT_WITNESS_S3_BUCKET: BUCKET,
    ONY_AUDIT_WITNESS_S3_ENDPOINT: endpoint,
    ONY_AUDIT_WITNESS_S3_PREFIX: PREFIX,
    ONY_AUDIT_WITNESS_S3_ACCESS_KEY_ID: 'S3RVER',
    ONY_AUDIT_WITNESS_S3_SECRET_ACCESS_KEY: 'S3RVER',
    ONY_AUDIT_WITNESS_EVERY: String(EVERY),
    ONY_AUDIT_WITNESS_INTERVAL_MS: '0',
    ONY_AUDIT_WITNESS_POLL_MS: '200',
    ONY_AUDIT_WITNESS_RETRY_DELAY_SECONDS: '1',
  });
  // The witness trusts what ony publishes at /.well-known/ony-audit-key.
  const published = (await t.app.inject({ method: 'GET', url: '/.well-known/ony-audit-key' })).json<{
    keys: { verifier_key: string }[];
  }>();
  witness.trust(published.keys.map((k) => k.verifier_key));
}, 60_000);

afterAll(async () => {
  await t?.close();
  await witness?.close();
  s3?.destroy();
  await s3server?.close();
  await rm(root, { recursive: true, force: true });
});

const head = async (orgId: string) => (await withTenant(t.database.db, orgId, (tx) => getHead(tx)))!.seq;

const addDevices = async (a: Actor, n: number) => {
  for (let i = 0; i < n; i++) {
    const res = await as(t, a, 'POST', '/v1/admin/devices', { name: `d${i}` });
    expect(res.statusCode).toBe(201);
  }
};

/** Resolves once the server logged a successful push of (org, seq) to this witness. */
const pushed = (kind: 'https' | 's3', orgId: string, seq: number) =>
  waitFor(
    () =>
      t.logs.some(
        (l) =>
          l.msg === 'checkpoint pushed to witness' &&
          l.witness === kind &&
          l.orgId === orgId &&
          l.seq === seq,
      ),
    `the ${kind} push of ${orgId}@${seq}`,
    30_000,
  );

const object = async (key: string) =>
  (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();

/** Copies the org's objects of the bucket into a directory, as `aws s3 sync` would. */
async function syncBucket(orgId: string): Promise<string> {
  const dir = await mkdtemp(join(root, 'sync-'));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}${orgId}/` }));
  await mkdir(join(dir, orgId));
  for (const o of listed.Contents ?? [])
    await writeFile(join(dir, o.Key!.slice(PREFIX.length)), await object(o.Key!));
  return dir;
}

/** As the database owner: triggers off, tail cut, head rewound, checkpoint rows deleted. */
async function cutTail(orgId: string, keep: number): Promise<void> {
  await t.database.db.transaction().execute(async (tx) => {
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
}

describe('automatic checkpoints go to the witnesses', () => {
  it(`every ${EVERY} entries, to the https witness (a POST it verifies) and to the bucket`, async () => {
    const a = await createOrgWithAdmin(t, 'wit-every');
    await addDevices(a, EVERY - 1 - (await head(a.orgId)));
    expect(await head(a.orgId)).toBe(EVERY - 1);
    // A tick now finds nothing due for this org: EVERY entries have not passed yet.
    await t.container.witness.tick();
    expect(await t.container.audit.listCheckpoints(a.orgId)).toEqual([]);

    await addDevices(a, 1);
    const got = await witness.accepted((c) => c.orgId === a.orgId);
    expect(got.checkpoint).toMatchObject({ orgId: a.orgId, seq: EVERY });
    expect(got.contentType).toBe('text/plain; charset=utf-8');
    const [stored] = await t.container.audit.listCheckpoints(a.orgId);
    expect(got.note).toBe(stored!.note);

    await pushed('s3', a.orgId, EVERY);
    expect(await object(checkpointObjectKey(PREFIX, a.orgId, EVERY))).toBe(stored!.note);
    expect(await object(latestObjectKey(PREFIX, a.orgId))).toBe(stored!.note);
    expect(checkpointObjectKey(PREFIX, a.orgId, EVERY)).toBe(`audit/${a.orgId}/000000000005.checkpoint`);
  });

  it('a failed push is retried by the queue and counted; appends go on meanwhile', async () => {
    const a = await createOrgWithAdmin(t, 'wit-retry');
    witness.failNext(1);
    const cp = await as(t, a, 'POST', '/v1/admin/audit/checkpoints');
    expect(cp.statusCode).toBe(201);
    const seq = cp.json<{ seq: number }>().seq;
    await waitFor(() => witness.received.some((r) => r.status === 503), 'the failed attempt');
    // The witness being down blocks no change: audited writes still commit at once.
    await addDevices(a, 2);
    const ok = await witness.accepted((c) => c.orgId === a.orgId && c.seq === seq);
    expect(witness.received.findIndex((r) => r.status === 503)).toBeLessThan(witness.received.indexOf(ok));
    const metrics = await t.container.metrics.render();
    expect(metrics).toMatch(/ony_audit_witness_pushes_total\{witness="https",outcome="failed"\} [1-9]/);
    expect(metrics).toMatch(/ony_audit_witness_pushes_total\{witness="https",outcome="ok"\} [1-9]/);
    expect(
      t.logs.some((l) => l.msg === 'witness push failed; the job queue retries it' && l.seq === seq),
    ).toBe(true);
  });
});

describe('the S3 witness uses what is configured', () => {
  // s3rver checks the access key id of a SigV4 request but not the signature itself.
  const push = { orgId: '7c9e6679-7425-40de-944b-e07fc1f90ae7', seq: 1, note: 'n', latest: true };
  const config = {
    bucket: BUCKET,
    region: 'us-east-1',
    endpoint: '',
    prefix: PREFIX,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  };
  it("an unknown access key or bucket is a failed push, with the store's reason", async () => {
    const wrongKey = await s3Witness({
      ...config,
      endpoint,
      credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'x' },
    });
    await expect(wrongKey.push(push)).rejects.toThrow(
      /s3 witness refused the checkpoint: InvalidAccessKeyId 403/,
    );
    const noBucket = await s3Witness({ ...config, endpoint, bucket: 'no-such-bucket' });
    await expect(noBucket.push(push)).rejects.toThrow(/NoSuchBucket 404/);
  });
});

describe('the witness catches what the database alone cannot', () => {
  it('an owner who cuts the tail, rewinds the head and deletes the checkpoints passes verify, not verify --witness', async () => {
    const a = await createOrgWithAdmin(t, 'wit-cut');
    await addDevices(a, 2);
    const cp = await as(t, a, 'POST', '/v1/admin/audit/checkpoints');
    const seq = cp.json<{ seq: number }>().seq;
    expect(seq).toBeLessThan(EVERY); // only this checkpoint, none from the tick
    await witness.accepted((c) => c.orgId === a.orgId && c.seq === seq);
    await pushed('s3', a.orgId, seq);

    await cutTail(a.orgId, seq - 2);
    // The database alone is consistent again: the chain, the head and (no) checkpoints agree.
    expect(await t.container.audit.verify(a.orgId)).toMatchObject({ ok: true, headSeq: seq - 2 });

    const failure = {
      ok: false,
      reason: 'head_mismatch',
      badSeq: seq - 1,
      checkpointSeq: seq,
      detail: `the witnessed checkpoint at seq ${seq} is beyond the chain's end at seq ${seq - 2}: its tail was cut`,
    };
    for (const source of [witness.dir, witness.url, await syncBucket(a.orgId)]) {
      const { notes } = await readWitnessed(source, a.orgId);
      expect(await t.container.audit.verify(a.orgId, { notes }), source).toMatchObject(failure);
    }
  });
});

describe('bad witness configuration is a clear config error', () => {
  const base = { ONY_MASTER_KEY: Buffer.alloc(32, 1).toString('base64') };
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig({ ...base, ...env });
    } catch (err) {
      if (err instanceof ConfigError) return [...err.problems];
      throw err;
    }
    return [];
  };
  it.each([
    [{ ONY_AUDIT_WITNESS_URL: 'not a url' }, /ONY_AUDIT_WITNESS_URL must be an https URL/],
    [{ ONY_AUDIT_WITNESS_URL: 'http://witness.example' }, /must be https \(set ONY_AUDIT_WITNESS_ALLOW_HTTP/],
    [{ ONY_AUDIT_WITNESS_URL: 'https://u:p@witness.example' }, /must not carry credentials/],
    [{ ONY_AUDIT_WITNESS_EVERY: '-1' }, /ONY_AUDIT_WITNESS_EVERY must be an integer between 0/],
    [
      { ONY_AUDIT_WITNESS_INTERVAL_MS: '10' },
      /ONY_AUDIT_WITNESS_INTERVAL_MS must be 0 \(off\) or at least 1000/,
    ],
    [{ ONY_AUDIT_WITNESS_POLL_MS: 'often' }, /ONY_AUDIT_WITNESS_POLL_MS must be an integer/],
    [{ ONY_AUDIT_WITNESS_S3_BUCKET: 'Bad_Bucket' }, /ONY_AUDIT_WITNESS_S3_BUCKET must be an S3 bucket name/],
    [{ ONY_AUDIT_WITNESS_S3_PREFIX: 'x/' }, /set without ONY_AUDIT_WITNESS_S3_BUCKET/],
    [
      { ONY_AUDIT_WITNESS_S3_BUCKET: 'b-1', ONY_AUDIT_WITNESS_S3_ACCESS_KEY_ID: 'AKIA' },
      /set both ONY_AUDIT_WITNESS_S3_ACCESS_KEY_ID and ONY_AUDIT_WITNESS_S3_SECRET_ACCESS_KEY/,
    ],
    [
      { ONY_AUDIT_WITNESS_S3_BUCKET: 'b-1', ONY_AUDIT_WITNESS_S3_ENDPOINT: 'http://minio:9000' },
      /ONY_AUDIT_WITNESS_S3_ENDPOINT must be https/,
    ],
    [
      { ONY_AUDIT_WITNESS_S3_BUCKET: 'b-1', ONY_AUDIT_WITNESS_S3_PREFIX: '../x' },
      /ONY_AUDIT_WITNESS_S3_PREFIX must be a key prefix/,
    ],
  ])('%o', (env, message) => {
    expect(problems(env as Record<string, string>).join('\n')).toMatch(message);
  });

  it('good values parse into the witness settings', () => {
    const c = loadConfig({
      ...base,
      ONY_AUDIT_WITNESS_URL: 'https://witness.example/ony',
      ONY_AUDIT_WITNESS_S3_BUCKET: 'acme-audit',
      ONY_AUDIT_WITNESS_S3_REGION: 'eu-west-1',
      ONY_AUDIT_WITNESS_S3_PREFIX: 'ony',
      ONY_AUDIT_WITNESS_EVERY: '500',
    });
    expect(c.audit.witness).toMatchObject({
      intervalMs: 3_600_000,
      every: 500,
      https: { url: 'https://witness.example/ony' },
      s3: {
        bucket: 'acme-audit',
        region: 'eu-west-1',
        prefix: 'ony/',
        endpoint: undefined,
        forcePathStyle: false,
      },
    });
    expect(Object.isFrozen(c.audit.witness)).toBe(true);
  });
});
