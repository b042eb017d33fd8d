/**
 * The audit chain's operations: verify (streaming, with signed checkpoints), sign checkpoints,
 * export for offline verification, and the paginated read for the dashboard. Appends happen in
 * the callers' own transactions through appendAudit.
 */
import type { Kysely } from 'kysely';
import { signCheckpoint, verifierKey, type SigningKey } from '../../core/audit-chain/checkpoint.js';
import { genesisHash } from '../../core/audit-chain/entry.js';
import { verifyChain, type ChainReport, type StoredEntry } from '../../core/audit-chain/verify.js';
import { withApp, withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { sql } from 'kysely';
import {
  entriesAfter,
  getHead,
  insertCheckpoint,
  listAudit,
  listCheckpoints,
  type AuditFilter,
  type AuditRow,
  type StoredCheckpoint,
} from './audit.repository.js';

const PAGE = 5000;

export interface AuditDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly signingKey: SigningKey;
}

export function createAuditService({ db, clock, signingKey }: AuditDeps) {
  /** Pages of entries up to maxSeq, each page in its own short transaction (no long lock on PGlite). */
  async function* pages(orgId: string, maxSeq: number): AsyncGenerator<StoredEntry[]> {
    let after = 0;
    while (after < maxSeq) {
      const page = await withTenant(db, orgId, (tx) => entriesAfter(tx, after, PAGE));
      const inRange = page.filter((e) => e.seq <= maxSeq);
      if (inRange.length === 0) return;
      yield inRange;
      after = inRange[inRange.length - 1]!.seq;
      if (page.length < PAGE) return;
    }
  }

  return {
    publicKey: () => ({
      name: signingKey.name,
      verifierKey: verifierKey(signingKey.name, signingKey.publicKey),
    }),

    async verify(orgId: string): Promise<ChainReport> {
      const [head, checkpoints] = await withTenant(
        db,
        orgId,
        async (tx) => [await getHead(tx), await listCheckpoints(tx)] as const,
      );
      if (head === undefined) throw new Error(`org ${orgId} has no audit chain`);
      return verifyChain({
        orgId,
        pages: pages(orgId, head.seq),
        head,
        checkpoints: checkpoints.filter((c) => c.keyName === signingKey.name).map((c) => c.note),
        keys: [signingKey],
      });
    },

    /** Signs the current head (idempotent per seq). */
    async checkpoint(orgId: string): Promise<StoredCheckpoint> {
      return withTenant(db, orgId, async (tx) => {
        const head = await getHead(tx);
        if (head === undefined) throw new Error(`org ${orgId} has no audit chain`);
        const at = clock.now();
        const note = signCheckpoint(
          { orgId, seq: head.seq, hash: head.hash, at: at.toISOString() },
          signingKey,
        );
        const c = { seq: head.seq, hash: head.hash, at, keyName: signingKey.name, note };
        await insertCheckpoint(tx, c);
        return (await listCheckpoints(tx)).find((x) => x.seq === head.seq) ?? c;
      });
    },

    /** Checkpoints every org whose chain moved since its last checkpoint; answers how many. */
    async checkpointAll(): Promise<number> {
      const orgs = await withApp(
        db,
        async (tx) =>
          (await sql<{ org_id: string }>`select org_id from ony_audit_orgs_needing_checkpoint()`.execute(tx))
            .rows,
      );
      for (const { org_id } of orgs) await this.checkpoint(org_id);
      return orgs.length;
    },

    listCheckpoints(orgId: string): Promise<StoredCheckpoint[]> {
      return withTenant(db, orgId, (tx) => listCheckpoints(tx));
    },

    list(orgId: string, filter: AuditFilter, limit: number): Promise<AuditRow[]> {
      return withTenant(db, orgId, (tx) => listAudit(tx, filter, limit));
    },

    /**
     * The chain as JSON lines for `ony audit verify --file`: a header, the checkpoints (so a streaming
     * verifier knows which hashes to hold), then every entry with its exact canonical text.
     */
    async *exportLines(orgId: string): AsyncGenerator<string> {
      const [head, checkpoints] = await withTenant(
        db,
        orgId,
        async (tx) => [await getHead(tx), await listCheckpoints(tx)] as const,
      );
      if (head === undefined) throw new Error(`org ${orgId} has no audit chain`);
      yield JSON.stringify({
        type: 'chain',
        format: 1,
        org_id: orgId,
        genesis: genesisHash(orgId),
        head_seq: head.seq,
        head_hash: head.hash,
      });
      for (const c of checkpoints)
        yield JSON.stringify({
          type: 'checkpoint',
          seq: c.seq,
          hash: c.hash,
          key_name: c.keyName,
          note: c.note,
        });
      for await (const page of pages(orgId, head.seq)) {
        for (const e of page) {
          yield JSON.stringify({
            type: 'entry',
            seq: e.seq,
            prev_hash: e.prevHash,
            hash: e.hash,
            canonical: e.canonical,
          });
        }
      }
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
