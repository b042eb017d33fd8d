/**
 * The audit chain's cost, measured side by side in one run:
 *  1. appends for one org under 16 concurrent writers, against plain inserts of the same rows
 *     (same table shape, no chain: seq from a sequence, no head lock, no hash);
 *  2. verification rate against raw SHA-256 over the same bytes in the same process;
 *  3. verification of a 1,000,000-entry chain (in memory, streamed in pages).
 * Embedded PGlite always; Postgres too when DATABASE_URL is set.
 */
import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { auditEvents } from '../src/core/audit-chain/events.js';
import { genesisHash, sealEntry } from '../src/core/audit-chain/entry.js';
import { verifyChain, verifyEntries, type StoredEntry } from '../src/core/audit-chain/verify.js';
import { withTenant, type Database } from '../src/db/client.js';
import { appendAudit, initAuditHead } from '../src/features/audit/audit.repository.js';
import { freshPglite, freshPostgres, realDatabaseUrl } from '../test/helpers/db.js';
import { median } from './stats.js';

const WRITERS = 16;

function sampleEvent(i: number) {
  return auditEvents.deviceCreated(
    { type: 'member', id: randomUUID() },
    { id: randomUUID(), name: `runner-${i}` },
  );
}

async function appendThroughput(label: string, database: Database, perWriter: number): Promise<void> {
  const db = database.db;
  const orgId = randomUUID();
  await withTenant(db, orgId, async (tx) => {
    await tx.db
      .insertInto('orgs')
      .values({ id: orgId, name: 'bench', slug: `b-${orgId.slice(0, 8)}` })
      .execute();
    await initAuditHead(tx);
  });
  // The same table shape as audit_events (generated columns included), without the chain.
  await sql
    .raw(
      `create table if not exists audit_plain (like audit_events including defaults including generated); create sequence if not exists audit_plain_seq`,
    )
    .execute(db);
  await sql
    .raw(`grant select, insert on audit_plain to ony_app; grant usage on sequence audit_plain_seq to ony_app`)
    .execute(db);
  const prevHash = Buffer.from(genesisHash(orgId), 'hex');

  const chained = async () => {
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; i < perWriter; i++)
          await withTenant(db, orgId, (tx) => appendAudit(tx, sampleEvent(w * perWriter + i), new Date()));
      }),
    );
  };
  const plain = async () => {
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) {
          // The same row an append writes (canonical text and its hashes), minus the chain.
          const s = sealEntry(
            orgId,
            { seq: 0, hash: genesisHash(orgId) },
            sampleEvent(w * perWriter + i),
            new Date(),
          );
          await withTenant(db, orgId, (tx) =>
            sql`insert into audit_plain (org_id, seq, prev_hash, hash, canonical)
                values (${orgId}, nextval('audit_plain_seq'), ${prevHash}, ${Buffer.from(s.hash, 'hex')}, ${s.canonical})`.execute(
              tx.db,
            ),
          );
        }
      }),
    );
  };
  const rounds = 5;
  const c: number[] = [];
  const p: number[] = [];
  await plain();
  await chained();
  for (let r = 0; r < rounds; r++) {
    let t0 = performance.now();
    await plain();
    p.push(performance.now() - t0);
    t0 = performance.now();
    await chained();
    c.push(performance.now() - t0);
  }
  const n = WRITERS * perWriter;
  const chainedRate = n / (median(c) / 1000);
  const plainRate = n / (median(p) / 1000);
  console.log(
    `${label.padEnd(9)} appends, ${WRITERS} writers: chained ${chainedRate.toFixed(0).padStart(6)}/s   plain ${plainRate.toFixed(0).padStart(6)}/s   ` +
      `ratio ${(chainedRate / plainRate).toFixed(2)} (target >= 0.50)   [median of ${rounds} rounds x ${n}]`,
  );
  const report = await verifyChain({
    orgId,
    pages: (async function* () {
      let after = 0;
      for (;;) {
        const page = await withTenant(db, orgId, (tx) =>
          tx.db
            .selectFrom('audit_events')
            .select(['seq', 'prev_hash', 'hash', 'canonical'])
            .where('seq', '>', after)
            .orderBy('seq')
            .limit(5000)
            .execute(),
        );
        if (page.length === 0) return;
        yield page.map((r) => ({
          seq: Number(r.seq),
          prevHash: Buffer.from(r.prev_hash).toString('hex'),
          hash: Buffer.from(r.hash).toString('hex'),
          canonical: r.canonical,
        }));
        after = Number(page[page.length - 1]!.seq);
      }
    })(),
    checkpoints: [],
  });
  console.log(
    `${label.padEnd(9)} the chain those writers built verifies: ${report.ok} (${report.entries} entries, no gaps or forks)`,
  );
}

function buildChain(n: number, orgId: string): StoredEntry[] {
  const out: StoredEntry[] = new Array(n);
  let prev = { seq: 0, hash: genesisHash(orgId) };
  const at = new Date('2026-11-23T00:00:00Z');
  for (let i = 0; i < n; i++) {
    const s = sealEntry(orgId, prev, sampleEvent(i), at);
    out[i] = { seq: s.fields.seq, prevHash: s.fields.prev_hash, hash: s.hash, canonical: s.canonical };
    prev = { seq: s.fields.seq, hash: s.hash };
  }
  return out;
}

function verificationRate(): void {
  const orgId = randomUUID();
  const entries = buildChain(100_000, orgId);
  const bytes = entries.reduce((sum, e) => sum + Buffer.byteLength(e.canonical) + 32, 0);
  const v: number[] = [];
  const h: number[] = [];
  for (let r = 0; r < 7; r++) {
    let t0 = performance.now();
    for (const e of entries)
      createHash('sha256').update(Buffer.from(e.prevHash, 'hex')).update(e.canonical).digest('hex');
    h.push(performance.now() - t0);
    t0 = performance.now();
    const ok = verifyEntries(orgId, entries).ok;
    v.push(performance.now() - t0);
    if (!ok) throw new Error('bench chain does not verify');
  }
  const vr = entries.length / (median(v) / 1000);
  const hr = entries.length / (median(h) / 1000);
  console.log(
    `verify    ${vr.toFixed(0).padStart(8)} entries/s   raw SHA-256 of the same bytes ${hr.toFixed(0).padStart(8)}/s   ratio ${(vr / hr).toFixed(2)} (target >= 0.40)   ` +
      `[100,000 entries, ${(bytes / entries.length).toFixed(0)} B each, median of 7]`,
  );
}

async function verifyMillion(): Promise<void> {
  const orgId = randomUUID();
  const n = 1_000_000;
  const t0 = performance.now();
  const entries = buildChain(n, orgId);
  const built = performance.now() - t0;
  const t1 = performance.now();
  const report = await verifyChain({
    orgId,
    pages: (async function* () {
      for (let i = 0; i < n; i += 5000) yield entries.slice(i, i + 5000);
    })(),
    checkpoints: [],
  });
  const took = performance.now() - t1;
  console.log(
    `verify 1,000,000 entries: ${(took / 1000).toFixed(2)} s (ok: ${report.ok}); building them took ${(built / 1000).toFixed(1)} s`,
  );
}

export async function run(): Promise<void> {
  for (const open of [freshPglite, ...(realDatabaseUrl ? [() => freshPostgres(realDatabaseUrl!)] : [])]) {
    const database = await open();
    try {
      await appendThroughput(database.kind, database, database.kind === 'pglite' ? 25 : 50);
    } finally {
      await database.close();
    }
  }
  verificationRate();
  await verifyMillion();
}
