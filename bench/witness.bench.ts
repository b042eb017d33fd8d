/**
 * What a witness push costs (docs/audit.md, "Witnesses"), measured side by side in one run:
 *  1. median and p95 ms of one push of a signed checkpoint: an HTTPS-style witness on loopback that
 *     verifies the Ed25519 signature (test/fakes/witness.ts), and s3rver through the AWS SDK (one
 *     PutObject for the seq, one for latest);
 *  2. audit appends per second for one org under 16 writers, alone and while pushes run
 *     back to back in the same process (pushes run in job workers, never inside an append).
 * Embedded PGlite always; Postgres too when DATABASE_URL is set.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { signCheckpoint, signingKeyFromSeed, verifierKey } from '../src/core/audit-chain/checkpoint.js';
import { auditEvents } from '../src/core/audit-chain/events.js';
import { withTenant, type Database } from '../src/db/client.js';
import { appendAudit, getHead, initAuditHead } from '../src/features/audit/audit.repository.js';
import { httpsWitness, s3Witness, type Witness } from '../src/features/audit/witness-clients.js';
import { startTestWitness } from '../test/fakes/witness.js';
import { freshPglite, freshPostgres, realDatabaseUrl } from '../test/helpers/db.js';
import { median, percentile } from './stats.js';

const WRITERS = 16;
const PUSHES = 200;

async function pushTimes(w: Witness, note: (seq: number) => string, orgId: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 1; i <= PUSHES; i++) {
    const n = note(i);
    const start = process.hrtime.bigint();
    await w.push({ orgId, seq: i, note: n, latest: true });
    out.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return out;
}

async function appendRate(database: Database, perWriter: number): Promise<number> {
  const db = database.db;
  const orgId = randomUUID();
  await withTenant(db, orgId, async (tx) => {
    await tx.db
      .insertInto('orgs')
      .values({ id: orgId, name: 'bench', slug: `w-${orgId.slice(0, 8)}` })
      .execute();
    await initAuditHead(tx);
  });
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; i < perWriter; i++)
        await withTenant(db, orgId, (tx) =>
          appendAudit(
            tx,
            auditEvents.deviceCreated(
              { type: 'member', id: orgId },
              { id: randomUUID(), name: `r${w}-${i}` },
            ),
            new Date(),
          ),
        );
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const head = await withTenant(db, orgId, (tx) => getHead(tx));
  return head!.seq / seconds;
}

export async function run(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'ony-witness-bench-'));
  const key = signingKeyFromSeed('bench/ony-audit', Buffer.alloc(32, 4));
  const orgId = randomUUID();
  const note = (seq: number) =>
    signCheckpoint({ orgId, seq, hash: 'ab'.repeat(32), at: new Date().toISOString() }, key);

  const fake = await startTestWitness(join(root, 'https'));
  fake.trust([verifierKey(key.name, key.publicKey)]);
  const s3server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(root, 's3'),
    configureBuckets: [{ name: 'bench', configs: [] }],
  });
  const { port } = await s3server.run();
  const https = httpsWitness({ url: `${fake.url}/add-checkpoint` });
  const s3 = await s3Witness({
    bucket: 'bench',
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    prefix: 'ony-audit/',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  try {
    for (const w of [https, s3]) {
      await pushTimes(w, note, orgId); // warm-up (connections, JIT)
      const t = await pushTimes(w, note, orgId);
      console.log(
        `push to ${w.kind === 'https' ? 'https witness (loopback, verifies the signature)' : 's3rver (2 PutObject)'}: ` +
          `median ${median(t).toFixed(2)} ms, p95 ${percentile(t, 0.95).toFixed(2)} ms over ${PUSHES}`,
      );
    }
    if (fake.received.some((r) => r.status !== 200)) throw new Error('the witness refused a push');

    const targets: [string, () => Promise<Database>][] = [['pglite', freshPglite]];
    if (realDatabaseUrl) targets.push(['postgres', () => freshPostgres(realDatabaseUrl!)]);
    for (const [label, open] of targets) {
      const database = await open();
      try {
        const perWriter = label === 'pglite' ? 25 : 60;
        await appendRate(database, 5); // warm-up
        const alone: number[] = [];
        const pushing: number[] = [];
        for (let round = 0; round < 3; round++) {
          alone.push(await appendRate(database, perWriter));
          let stop = false;
          let pushes = 0;
          let failed = 0;
          const background = (async () => {
            for (let i = 1; !stop; i++) {
              for (const w of [https, s3])
                await w.push({ orgId, seq: i, note: note(i), latest: true }).then(
                  () => pushes++,
                  () => failed++, // the job queue would retry it
                );
            }
          })();
          const started = Date.now();
          pushing.push(await appendRate(database, perWriter));
          const ms = Date.now() - started;
          stop = true;
          await background;
          console.log(
            `  round ${round + 1}: ${pushes} pushes (${failed} failed) ran during ${ms} ms of appends`,
          );
        }
        console.log(
          `${label}: appends/s alone ${median(alone).toFixed(0)}, with pushes running ${median(pushing).toFixed(0)} ` +
            `(${((median(pushing) / median(alone) - 1) * 100).toFixed(1)}%), ${WRITERS} writers, median of 3`,
        );
      } finally {
        await database.close();
      }
    }
  } finally {
    await fake.close();
    await s3server.close();
    await rm(root, { recursive: true, force: true });
  }
}
