/**
 * Key rotation rows (docs/keys.md), all as the owner role (operator commands): org data keys, the
 * rotation-in-progress marker, and the encrypted columns re-encrypted by `ony keys rotate --data`.
 */
import { sql } from 'kysely';
import type { Tx } from '../../db/client.js';

/**
 * Every column holding a blob encrypted with an org data key, with the row key and the associated
 * data the blob is bound to (keyring.ts prefixes the org id). A new encrypted column must be added
 * here: `ony keys rotate --data` refuses to run when the catalog has a `*_enc` column not listed.
 */
export const ENCRYPTED_COLUMNS = [
  { table: 'members', column: 'totp_secret_enc', key: 'id', aad: (k: string) => `totp:${k}` },
  { table: 'devices', column: 'webhook_secret_enc', key: 'id', aad: (k: string) => `webhook:${k}` },
  { table: 'handoff_payloads', column: 'content_enc', key: 'handoff_id', aad: (k: string) => `payload:${k}` },
  { table: 'sso_configs', column: 'client_secret_enc', key: 'org_id', aad: () => 'sso-client-secret' },
  {
    table: 'org_channel_credentials',
    column: 'config_enc',
    key: 'id',
    aad: (k: string) => `channel-credentials:${k}`,
  },
  { table: 'slack_installations', column: 'bot_token_enc', key: 'org_id', aad: () => 'slack-bot-token' },
  { table: 'push_subscriptions', column: 'keys_enc', key: 'id', aad: (k: string) => `push-keys:${k}` },
] as const;
export type EncryptedColumn = (typeof ENCRYPTED_COLUMNS)[number];

export interface OrgKeyRow {
  readonly id: string;
  readonly masterKeyId: string;
  readonly wrappedKey: Buffer;
  readonly active: boolean;
}

export async function listOrgIds(tx: Tx): Promise<string[]> {
  return (await tx.selectFrom('orgs').select('id').orderBy('id').execute()).map((r) => r.id);
}

export async function masterKeyIdsInUse(tx: Tx): Promise<string[]> {
  const rows = await tx.selectFrom('org_keys').select('master_key_id').distinct().execute();
  return rows.map((r) => r.master_key_id).sort();
}

/** `*_enc` bytea columns of the schema, as `table.column`. */
export async function encryptedColumnsInCatalog(tx: Tx): Promise<string[]> {
  const r = await sql<{ c: string }>`
    select table_name || '.' || column_name as c from information_schema.columns
    where table_schema = 'public' and data_type = 'bytea' and column_name like '%\\_enc'
    order by 1`.execute(tx);
  return r.rows.map((x) => x.c);
}

export async function orgKeys(tx: Tx, orgId: string, lock = false): Promise<OrgKeyRow[]> {
  let q = tx
    .selectFrom('org_keys')
    .select(['id', 'master_key_id', 'wrapped_key', 'active'])
    .where('org_id', '=', orgId)
    .orderBy('created_at');
  if (lock) q = q.forUpdate();
  return (await q.execute()).map((r) => ({
    id: r.id,
    masterKeyId: r.master_key_id,
    wrappedKey: Buffer.from(r.wrapped_key),
    active: r.active,
  }));
}

export async function rewrapOrgKey(
  tx: Tx,
  orgId: string,
  keyId: string,
  masterKeyId: string,
  wrapped: Buffer,
): Promise<void> {
  await tx
    .updateTable('org_keys')
    .set({ master_key_id: masterKeyId, wrapped_key: wrapped })
    .where('org_id', '=', orgId)
    .where('id', '=', keyId)
    .execute();
}

/** The fresh data key of a rotation in progress, if one is. */
export async function rotationInProgress(tx: Tx, orgId: string): Promise<string | undefined> {
  const row = await tx
    .selectFrom('org_key_rotations')
    .select('to_key_id')
    .where('org_id', '=', orgId)
    .forUpdate()
    .executeTakeFirst();
  return row?.to_key_id;
}

/** Makes a fresh data key the org's active one and records the rotation, in the caller's transaction. */
export async function startRotation(
  tx: Tx,
  orgId: string,
  key: { masterKeyId: string; wrapped: Buffer },
  now: Date,
): Promise<string> {
  await tx.updateTable('org_keys').set({ active: false }).where('org_id', '=', orgId).execute();
  const row = await tx
    .insertInto('org_keys')
    .values({ org_id: orgId, master_key_id: key.masterKeyId, wrapped_key: key.wrapped, active: true })
    .returning('id')
    .executeTakeFirstOrThrow();
  await tx
    .insertInto('org_key_rotations')
    .values({ org_id: orgId, to_key_id: row.id, started_at: now })
    .execute();
  return row.id;
}

export async function finishRotation(tx: Tx, orgId: string): Promise<void> {
  await tx.deleteFrom('org_key_rotations').where('org_id', '=', orgId).execute();
}

/**
 * One batch of blobs not yet under the data key `toKeyId` (its 16 id bytes follow the format byte),
 * after the row key `after`, locked for the caller's update.
 */
export async function blobsNotUnder(
  tx: Tx,
  orgId: string,
  col: EncryptedColumn,
  toKeyId: string,
  after: string | null,
  limit: number,
): Promise<{ key: string; blob: Buffer }[]> {
  const idBytes = Buffer.from(toKeyId.replaceAll('-', ''), 'hex');
  const r = await sql<{ k: string; blob: Buffer }>`
    select ${sql.ref(col.key)}::text as k, ${sql.ref(col.column)} as blob from ${sql.table(col.table)}
    where org_id = ${orgId} and ${sql.ref(col.column)} is not null
      and substring(${sql.ref(col.column)} from 2 for 16) <> ${idBytes}
      ${after !== null ? sql`and ${sql.ref(col.key)}::text > ${after}` : sql``}
    order by ${sql.ref(col.key)}::text
    limit ${limit}
    for update`.execute(tx);
  return r.rows.map((x) => ({ key: x.k, blob: Buffer.from(x.blob) }));
}

/** Replaces one blob, only if it is still the one that was read. */
export async function replaceBlob(
  tx: Tx,
  orgId: string,
  col: EncryptedColumn,
  key: string,
  before: Buffer,
  after: Buffer,
): Promise<void> {
  await sql`update ${sql.table(col.table)} set ${sql.ref(col.column)} = ${after}
    where org_id = ${orgId} and ${sql.ref(col.key)}::text = ${key} and ${sql.ref(col.column)} = ${before}`.execute(
    tx,
  );
}
