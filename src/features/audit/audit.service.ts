/**
 * The audit chain's operations: verify (streaming, with signed checkpoints), sign checkpoints,
 * export for offline verification, and the paginated read for the dashboard. Appends happen in
 * the callers' own transactions through appendAudit.
 */
import type { Kysely } from 'kysely';
import type { KeyObject } from 'node:crypto';
import {
  keyId,
  openCheckpoint,
  publicKeyFromRaw,
  rawPublicKey,
  signCheckpoint,
  verifierKey,
  type SigningKey,
  type VerifierKey,
} from '../../core/audit-chain/checkpoint.js';
import { auditEvents, type Actor } from '../../core/audit-chain/events.js';
import {
  AUDIT_CSV_HEADER,
  auditCsvLine,
  csvLine,
  type ReadableNames,
} from '../../core/audit-chain/readable.js';
import { genesisHash } from '../../core/audit-chain/entry.js';
import { verifyChain, type ChainReport, type StoredEntry } from '../../core/audit-chain/verify.js';
import { withApp, withTenant, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { sql } from 'kysely';
import {
  checkpointKeyNames,
  entriesBetween,
  listSigningKeys,
  useSigningKey,
  getHead,
  insertCheckpoint,
  appendAudit,
  auditNames,
  listAudit,
  listCheckpoints,
  type AuditFilter,
  type AuditRow,
  type StoredCheckpoint,
} from './audit.repository.js';

const PAGE = 5000;
const CSV_PAGE = 500;

/** The checkpoint key pair and how it is named (docs/audit.md, "The signing key's name"). */
export interface AuditKeyConfig {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** ONY_AUDIT_KEY_NAME; undefined keeps the name stored with the key. */
  readonly name: string | undefined;
  /** The name on first use, when nothing is stored or configured. */
  readonly defaultName: string;
}

/** A key as /.well-known/ony-audit-key publishes it: one row per period the key signed in. */
export interface PublishedKey {
  readonly name: string;
  readonly keyId: string;
  readonly verifierKey: string;
  readonly validFrom: Date;
  /** When the next key took over; null for the current one. */
  readonly validUntil: Date | null;
}

export interface AuditDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly signing: AuditKeyConfig;
  /**
   * Called in the transaction that stores a checkpoint (also when that seq was already signed):
   * sends it on to the witnesses (enqueueWitnessPushes), committing or rolling back with it.
   */
  readonly publish?: ((tx: TenantTx, seq: number) => Promise<void>) | undefined;
}

export function createAuditService({ db, clock, signing, publish }: AuditDeps) {
  const rawKey = rawPublicKey(signing.publicKey);
  let current: Promise<SigningKey> | undefined;

  /**
   * The key to sign with, under its stored name. On first use it records the key (and, once, the
   * older names this same key signed checkpoints under, so those keep verifying); the name never
   * comes from the listen address.
   */
  function signingKey(): Promise<SigningKey> {
    current ??= (async () => {
      const stored = await withApp(db, (tx) => listSigningKeys(tx));
      const latest = stored.at(-1);
      const wanted = signing.name ?? latest?.name;
      if (latest === undefined || latest.name !== wanted || !latest.publicKey.equals(rawKey)) {
        const legacy =
          stored.length > 0
            ? []
            : (await withApp(db, (tx) => checkpointKeyNames(tx)))
                .filter((l) => signedBy(l.note, { name: l.keyName, publicKey: signing.publicKey }))
                .sort((a, b) => a.firstAt.getTime() - b.firstAt.getTime())
                .map((l) => ({ name: l.keyName, from: l.firstAt }));
        await withApp(db, (tx) =>
          useSigningKey(tx, {
            name: signing.name,
            defaultName: signing.defaultName,
            publicKey: rawKey,
            now: clock.now(),
            legacy,
          }),
        );
      }
      const now = (await withApp(db, (tx) => listSigningKeys(tx))).at(-1);
      if (now === undefined) throw new Error('no audit signing key was recorded');
      return { name: now.name, privateKey: signing.privateKey, publicKey: signing.publicKey };
    })().catch((err: unknown) => {
      current = undefined;
      throw err;
    });
    return current;
  }

  /** Every key that ever signed checkpoints, as verifiers need them. */
  async function knownKeys(): Promise<VerifierKey[]> {
    let stored = await withApp(db, (tx) => listSigningKeys(tx));
    if (stored.length === 0) {
      await signingKey();
      stored = await withApp(db, (tx) => listSigningKeys(tx));
    }
    return stored.map((k) => ({ name: k.name, publicKey: publicKeyFromRaw(k.publicKey) }));
  }

  async function publishedKeys(): Promise<PublishedKey[]> {
    await signingKey();
    const stored = await withApp(db, (tx) => listSigningKeys(tx));
    return stored.map((k, i) => {
      const publicKey = publicKeyFromRaw(k.publicKey);
      return {
        name: k.name,
        keyId: keyId(k.name, publicKey).toString('hex'),
        verifierKey: verifierKey(k.name, publicKey),
        validFrom: k.validFrom,
        validUntil: stored[i + 1]?.validFrom ?? null,
      };
    });
  }

  /**
   * Pages of entries up to maxSeq by ranges of seq, each page in its own short transaction (no long
   * lock on PGlite). The next page is read while the caller works on this one, so verification costs
   * the larger of reading and hashing rather than their sum.
   */
  async function* pages(orgId: string, maxSeq: number): AsyncGenerator<StoredEntry[]> {
    const read = (after: number) => {
      const p = withTenant(db, orgId, (tx) => entriesBetween(tx, after, Math.min(after + PAGE, maxSeq)));
      // Marked handled now (it is awaited later): a failed read-ahead must not be an unhandled rejection.
      p.catch(() => undefined);
      return p;
    };
    let next: Promise<StoredEntry[]> | undefined = maxSeq > 0 ? read(0) : undefined;
    try {
      for (let after = 0; after < maxSeq; after += PAGE) {
        const page: StoredEntry[] = await next!;
        next = after + PAGE < maxSeq ? read(after + PAGE) : undefined;
        if (page.length > 0) yield page;
      }
    } finally {
      // The caller stopped early (a bad entry): settle the read in flight, whatever its outcome.
      await next?.catch(() => undefined);
    }
  }

  return {
    /** The current key (what old clients read) and every key ever used, with its period. */
    async publicKeys(): Promise<{ current: PublishedKey; all: PublishedKey[] }> {
      const all = await publishedKeys();
      return { current: all.at(-1)!, all };
    },

    /**
     * Verifies the org's chain; `witnessed` adds checkpoint notes kept by a witness outside the
     * database, checked under `keys` (default: every key the server published).
     */
    async verify(
      orgId: string,
      witness?: { readonly notes: readonly string[]; readonly keys?: readonly VerifierKey[] | undefined },
    ): Promise<ChainReport> {
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
        // Every checkpoint, whatever key signed it: one signed by a key never recorded fails.
        checkpoints: checkpoints.map((c) => c.note),
        keys: witness?.keys ?? (await knownKeys()),
        witnessed: witness?.notes,
      });
    },

    /** Signs the current head (idempotent per seq). */
    async checkpoint(orgId: string): Promise<StoredCheckpoint> {
      const key = await signingKey();
      return withTenant(db, orgId, async (tx) => {
        const head = await getHead(tx);
        if (head === undefined) throw new Error(`org ${orgId} has no audit chain`);
        const at = clock.now();
        const note = signCheckpoint({ orgId, seq: head.seq, hash: head.hash, at: at.toISOString() }, key);
        const c = { seq: head.seq, hash: head.hash, at, keyName: key.name, note };
        await insertCheckpoint(tx, c);
        await publish?.(tx, head.seq);
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

    /** A page with the names behind its ids (one look-up per kind for the page, same transaction). */
    listNamed(
      orgId: string,
      filter: AuditFilter,
      limit: number,
    ): Promise<{ rows: AuditRow[]; names: ReadableNames }> {
      return withTenant(db, orgId, async (tx) => {
        const rows = await listAudit(tx, filter, limit);
        return { rows, names: await auditNames(tx, rows) };
      });
    },

    /**
     * The filtered view as CSV lines (header first), newest first, read page by page. The export
     * itself is recorded in the chain before the first line leaves (as the org exports are).
     */
    async *exportCsv(orgId: string, actor: Actor, filter: AuditFilter): AsyncGenerator<string> {
      await withTenant(db, orgId, (tx) =>
        appendAudit(
          tx,
          auditEvents.auditExported(actor, {
            action: filter.action ?? null,
            actorId: filter.actorId ?? null,
            from: filter.from?.toISOString() ?? null,
            to: filter.to?.toISOString() ?? null,
          }),
          clock.now(),
        ),
      );
      yield csvLine(AUDIT_CSV_HEADER);
      let beforeSeq = filter.beforeSeq;
      for (;;) {
        const { rows, names } = await this.listNamed(orgId, { ...filter, beforeSeq }, CSV_PAGE);
        for (const r of rows) yield auditCsvLine(r, names);
        if (rows.length < CSV_PAGE) return;
        beforeSeq = rows[rows.length - 1]!.seq;
      }
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

function signedBy(note: string, key: VerifierKey): boolean {
  try {
    openCheckpoint(note, key);
    return true;
  } catch {
    return false;
  }
}
