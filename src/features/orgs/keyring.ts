/**
 * Per-org data keys (envelope encryption, DESIGN.md §3.6): each org has one active random data key,
 * stored wrapped by the newest master key with that key's id beside it, so a rotation can re-wrap
 * (docs/keys.md). Any configured master key unwraps; a data key wrapped by a master key that is
 * not configured fails with an error naming that key id. Unwrapped keys are cached in memory by id.
 */
import { randomBytes } from 'node:crypto';
import {
  dataKeyIdOf,
  decryptWithDataKey,
  encryptWithDataKey,
  unwrapDataKey,
  wrapDataKey,
  type MasterKeys,
} from '../../lib/crypto.js';
import type { TenantTx } from '../../db/client.js';

export interface Keyring {
  /** Creates the org's first data key (inside the org-creating transaction). */
  createOrgKey(tx: TenantTx): Promise<void>;
  encrypt(tx: TenantTx, plaintext: Buffer, aad: string): Promise<Buffer>;
  decrypt(tx: TenantTx, blob: Buffer, aad: string): Promise<Buffer>;
  /** Drops the org's cached keys (after its erasure or a data key rotation). */
  forget(orgId: string): void;
}

/** How long a replica keeps using an org's active data key before looking again (rotation). */
const ACTIVE_KEY_TTL_MS = 60_000;

export function createKeyring(masters: MasterKeys): Keyring {
  const cache = new Map<string, Buffer>();
  const active = new Map<string, { id: string; until: number }>();

  async function load(tx: TenantTx, wantedId?: string): Promise<{ id: string; key: Buffer }> {
    const current = active.get(tx.orgId);
    const keyId = wantedId ?? (current !== undefined && current.until > Date.now() ? current.id : undefined);
    const cached = keyId !== undefined ? cache.get(`${tx.orgId}:${keyId}`) : undefined;
    if (keyId !== undefined && cached !== undefined) return { id: keyId, key: cached };
    let query = tx.db.selectFrom('org_keys').select(['id', 'wrapped_key', 'master_key_id']);
    query = keyId !== undefined ? query.where('id', '=', keyId) : query.where('active', '=', true);
    const row = await query.executeTakeFirst();
    if (row === undefined) throw new Error('organization has no data key');
    const key = unwrapDataKey(masters.get(row.master_key_id), tx.orgId, Buffer.from(row.wrapped_key));
    cache.set(`${tx.orgId}:${row.id}`, key);
    if (wantedId === undefined) active.set(tx.orgId, { id: row.id, until: Date.now() + ACTIVE_KEY_TTL_MS });
    return { id: row.id, key };
  }

  return {
    async createOrgKey(tx) {
      const key = randomBytes(32);
      await tx.db
        .insertInto('org_keys')
        .values({
          org_id: tx.orgId,
          master_key_id: masters.current.id,
          wrapped_key: wrapDataKey(masters.current, tx.orgId, key),
        })
        .execute();
    },
    async encrypt(tx, plaintext, aad) {
      const { id, key } = await load(tx);
      return encryptWithDataKey(id, key, plaintext, `${tx.orgId}:${aad}`);
    },
    async decrypt(tx, blob, aad) {
      const { key } = await load(tx, dataKeyIdOf(blob));
      return decryptWithDataKey(key, blob, `${tx.orgId}:${aad}`);
    },
    forget(orgId) {
      active.delete(orgId);
      for (const k of cache.keys()) if (k.startsWith(`${orgId}:`)) cache.delete(k);
    },
  };
}
