import type { TenantTx } from '../../db/client.js';

export interface Device {
  readonly id: string;
  readonly name: string;
  /** The token's first characters, to recognise it; never enough to use it. */
  readonly tokenHint: string;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly lastSeenAt: Date | null;
  readonly revokedAt: Date | null;
}

const COLUMNS = [
  'id',
  'name',
  'token_hint',
  'created_by',
  'created_at',
  'last_seen_at',
  'revoked_at',
] as const;
type Row = {
  id: string;
  name: string;
  token_hint: string;
  created_by: string;
  created_at: Date;
  last_seen_at: Date | null;
  revoked_at: Date | null;
};
const toDevice = (r: Row): Device => ({
  id: r.id,
  name: r.name,
  tokenHint: r.token_hint,
  createdBy: r.created_by,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  revokedAt: r.revoked_at,
});

export async function insertDevice(
  tx: TenantTx,
  d: {
    id: string;
    name: string;
    tokenHash: Buffer;
    tokenHint: string;
    createdBy: string;
    now: Date;
    webhookSecretEnc: Buffer;
  },
): Promise<Device> {
  const row = await tx.db
    .insertInto('devices')
    .values({
      org_id: tx.orgId,
      id: d.id,
      webhook_secret_enc: d.webhookSecretEnc,
      name: d.name,
      token_hash: d.tokenHash,
      token_hint: d.tokenHint,
      created_by: d.createdBy,
      created_at: d.now,
    })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return toDevice(row);
}

export async function listDevices(tx: TenantTx): Promise<Device[]> {
  return (
    await tx.db.selectFrom('devices').select(COLUMNS).orderBy('created_at').orderBy('id').execute()
  ).map(toDevice);
}

export async function findDevice(tx: TenantTx, id: string): Promise<Device | undefined> {
  const row = await tx.db.selectFrom('devices').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  return row && toDevice(row);
}

export async function updateDevice(
  tx: TenantTx,
  id: string,
  patch: { name?: string; revokedAt?: Date; lastSeenAt?: Date; webhookSecretEnc?: Buffer },
): Promise<void> {
  await tx.db
    .updateTable('devices')
    .set({
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.revokedAt !== undefined && { revoked_at: patch.revokedAt }),
      ...(patch.lastSeenAt !== undefined && { last_seen_at: patch.lastSeenAt }),
      ...(patch.webhookSecretEnc !== undefined && { webhook_secret_enc: patch.webhookSecretEnc }),
    })
    .where('id', '=', id)
    .execute();
}
