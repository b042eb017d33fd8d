/**
 * Master key rotation (docs/keys.md, DESIGN.md §3.6). `rotate()` re-wraps every org data key that
 * an older master key wrapped with the newest one (ONY_MASTER_KEYS, newest first): no data is
 * re-encrypted. With `data`, each org also gets a fresh data key and every encrypted column is
 * re-encrypted under it, in batches of short transactions; a crash leaves the rotation marker, and
 * the next run resumes with the same fresh key. Runs as the owner role (operator command).
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { withOwner, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import { auditEvents } from '../../core/audit-chain/events.js';
import type { Clock } from '../../lib/clock.js';
import {
  dataKeyIdOf,
  decryptWithDataKey,
  encryptWithDataKey,
  unwrapDataKey,
  wrapDataKey,
  type MasterKeys,
} from '../../lib/crypto.js';
import { appendAudit } from '../audit/audit.repository.js';
import {
  blobsNotUnder,
  encryptedColumnsInCatalog,
  ENCRYPTED_COLUMNS,
  finishRotation,
  listOrgIds,
  masterKeyIdsInUse,
  orgKeys,
  replaceBlob,
  rewrapOrgKey,
  rotationInProgress,
  startRotation,
} from './keys.repository.js';

export interface KeysDeps {
  readonly db: Kysely<DB>;
  readonly masterKeys: MasterKeys;
  readonly clock: Clock;
}

export interface RotationReport {
  readonly orgs: number;
  /** Data keys now wrapped by the newest master key that were not before. */
  readonly rewrapped: number;
  /** Blobs re-encrypted under a fresh data key (--data). */
  readonly reencrypted: number;
  readonly masterKeyId: string;
}

export interface RotateOptions {
  readonly data?: boolean;
  readonly batchSize?: number;
  /** Called after each committed batch (progress, and a hook to stop a run mid-way). */
  readonly onBatch?: (e: { orgId: string; table: string; rows: number }) => void | Promise<void>;
}

export function createKeysService({ db, masterKeys, clock }: KeysDeps) {
  const current = masterKeys.current;

  /** Before anything is written: every master key in use is configured, every encrypted column known. */
  async function preflight(data: boolean): Promise<void> {
    await withOwner(db, async (tx) => {
      for (const id of await masterKeyIdsInUse(tx)) masterKeys.get(id); // throws, naming the id
      if (!data) return;
      const known = new Set(ENCRYPTED_COLUMNS.map((c) => `${c.table}.${c.column}`));
      const unknown = (await encryptedColumnsInCatalog(tx)).filter((c) => !known.has(c));
      if (unknown.length > 0)
        throw new Error(
          `encrypted column(s) ${unknown.join(', ')} are not in ENCRYPTED_COLUMNS (src/features/keys/keys.repository.ts); refusing to rotate data keys`,
        );
    });
  }

  async function rewrapOrg(orgId: string): Promise<number> {
    return withOwner(db, async (tx) => {
      let n = 0;
      for (const k of await orgKeys(tx, orgId, true)) {
        if (k.masterKeyId === current.id) continue;
        const plain = unwrapDataKey(masterKeys.get(k.masterKeyId), orgId, k.wrappedKey);
        await rewrapOrgKey(tx, orgId, k.id, current.id, wrapDataKey(current, orgId, plain));
        n++;
      }
      return n;
    });
  }

  async function reencryptOrg(orgId: string, opts: RotateOptions): Promise<number> {
    const batchSize = opts.batchSize ?? 200;
    const toKeyId = await withOwner(db, async (tx) => {
      const inProgress = await rotationInProgress(tx, orgId);
      if (inProgress !== undefined) return inProgress;
      return startRotation(
        tx,
        orgId,
        { masterKeyId: current.id, wrapped: wrapDataKey(current, orgId, randomBytes(32)) },
        clock.now(),
      );
    });
    const dataKeys = new Map<string, Buffer>();
    const dataKey = async (id: string): Promise<Buffer> => {
      const cached = dataKeys.get(id);
      if (cached !== undefined) return cached;
      await withOwner(db, async (tx) => {
        for (const k of await orgKeys(tx, orgId))
          dataKeys.set(k.id, unwrapDataKey(masterKeys.get(k.masterKeyId), orgId, k.wrappedKey));
      });
      const found = dataKeys.get(id);
      if (found === undefined) throw new Error(`org ${orgId} has no data key ${id}`);
      return found;
    };
    const toKey = await dataKey(toKeyId);
    let total = 0;
    for (const col of ENCRYPTED_COLUMNS) {
      let after: string | null = null;
      for (;;) {
        const done: { rows: number; last: string | null } = await withOwner(db, async (tx) => {
          const rows = await blobsNotUnder(tx, orgId, col, toKeyId, after, batchSize);
          for (const r of rows) {
            const aad = `${orgId}:${col.aad(r.key)}`;
            const plain = decryptWithDataKey(await dataKey(dataKeyIdOf(r.blob)), r.blob, aad);
            await replaceBlob(tx, orgId, col, r.key, r.blob, encryptWithDataKey(toKeyId, toKey, plain, aad));
          }
          return { rows: rows.length, last: rows.at(-1)?.key ?? null };
        });
        total += done.rows;
        if (done.rows > 0) await opts.onBatch?.({ orgId, table: col.table, rows: done.rows });
        if (done.rows < batchSize) break;
        after = done.last;
      }
    }
    await withOwner(db, async (tx) => {
      await finishRotation(tx, orgId);
      const tenant: TenantTx = { orgId, db: tx };
      await appendAudit(tenant, auditEvents.orgDataKeyRotated({ id: toKeyId }, total), clock.now());
    });
    return total;
  }

  return {
    async rotate(opts: RotateOptions = {}): Promise<RotationReport> {
      const data = opts.data === true;
      await preflight(data);
      const orgIds = await withOwner(db, (tx) => listOrgIds(tx));
      let rewrapped = 0;
      let reencrypted = 0;
      for (const orgId of orgIds) {
        rewrapped += await rewrapOrg(orgId);
        if (data) reencrypted += await reencryptOrg(orgId, opts);
      }
      return { orgs: orgIds.length, rewrapped, reencrypted, masterKeyId: current.id };
    },
  };
}

export type KeysService = ReturnType<typeof createKeysService>;
