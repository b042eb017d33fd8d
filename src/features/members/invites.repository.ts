import type { TenantTx } from '../../db/client.js';
import type { Role } from '../../db/schema.js';

export interface Invite {
  readonly id: string;
  readonly email: string;
  readonly role: Role;
  readonly invitedBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly acceptedAt: Date | null;
  readonly revokedAt: Date | null;
}

type Row = {
  id: string;
  email: string;
  role: Role;
  invited_by: string;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
};
const toInvite = (r: Row): Invite => ({
  id: r.id,
  email: r.email,
  role: r.role,
  invitedBy: r.invited_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  acceptedAt: r.accepted_at,
  revokedAt: r.revoked_at,
});
const COLUMNS = [
  'id',
  'email',
  'role',
  'invited_by',
  'created_at',
  'expires_at',
  'accepted_at',
  'revoked_at',
] as const;

export async function insertInvite(
  tx: TenantTx,
  i: { email: string; role: Role; tokenHash: Buffer; invitedBy: string; now: Date; expiresAt: Date },
): Promise<Invite> {
  const row = await tx.db
    .insertInto('invites')
    .values({
      org_id: tx.orgId,
      email: i.email,
      role: i.role,
      token_hash: i.tokenHash,
      invited_by: i.invitedBy,
      created_at: i.now,
      expires_at: i.expiresAt,
    })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return toInvite(row);
}

export async function lockInvite(tx: TenantTx, id: string): Promise<Invite | undefined> {
  const row = await tx.db
    .selectFrom('invites')
    .select(COLUMNS)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  return row && toInvite(row);
}

export async function listOpenInvites(tx: TenantTx, now: Date): Promise<Invite[]> {
  const rows = await tx.db
    .selectFrom('invites')
    .select(COLUMNS)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at')
    .execute();
  return rows.map(toInvite);
}

export async function markInvite(
  tx: TenantTx,
  id: string,
  patch: { acceptedAt?: Date; revokedAt?: Date },
): Promise<void> {
  await tx.db
    .updateTable('invites')
    .set({
      ...(patch.acceptedAt && { accepted_at: patch.acceptedAt }),
      ...(patch.revokedAt && { revoked_at: patch.revokedAt }),
    })
    .where('id', '=', id)
    .execute();
}
