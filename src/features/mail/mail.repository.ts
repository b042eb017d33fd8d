import { sql, type Kysely, type Selectable } from 'kysely';
import { withApp, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { MailKind } from '../../core/mail/templates.js';
import type { MailErrorClass } from '../../channels/email/transport.js';

export type DeliveryStatus = 'queued' | 'sent' | 'failed';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['queued', 'sent', 'failed'];

/** The state of one mail: no subject, no body, the address masked. */
export interface MailDelivery {
  readonly id: string;
  readonly kind: MailKind;
  readonly memberId: string | null;
  readonly recipient: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly lastError: MailErrorClass | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly sentAt: Date | null;
}

type DeliveryRow = Selectable<DB['mail_deliveries']>;

const toDelivery = (r: DeliveryRow): MailDelivery => ({
  id: r.id,
  kind: r.kind as MailKind /* the column's CHECK lists exactly MAIL_KINDS */,
  memberId: r.member_id,
  recipient: r.recipient,
  status: r.status,
  attempts: r.attempts,
  maxAttempts: r.max_attempts,
  lastError: r.last_error as MailErrorClass | null /* CHECKed against MAIL_ERROR_CLASSES */,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  sentAt: r.sent_at,
});

export async function insertDelivery(
  tx: TenantTx,
  d: { kind: MailKind; memberId: string | null; recipient: string; maxAttempts: number; now: Date },
): Promise<MailDelivery> {
  const row = await tx.db
    .insertInto('mail_deliveries')
    .values({
      org_id: tx.orgId,
      kind: d.kind,
      member_id: d.memberId,
      recipient: d.recipient,
      status: 'queued',
      max_attempts: d.maxAttempts,
      created_at: d.now,
      updated_at: d.now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toDelivery(row);
}

export async function lockDelivery(tx: TenantTx, id: string): Promise<MailDelivery | undefined> {
  const row = await tx.db
    .selectFrom('mail_deliveries')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  return row && toDelivery(row);
}

/** Records one attempt's outcome (attempts + 1). */
export async function recordAttempt(
  tx: TenantTx,
  id: string,
  outcome: { status: DeliveryStatus; lastError: MailErrorClass | null; now: Date },
): Promise<void> {
  await tx.db
    .updateTable('mail_deliveries')
    .set((eb) => ({
      status: outcome.status,
      attempts: eb('attempts', '+', 1),
      last_error: outcome.lastError,
      updated_at: outcome.now,
      ...(outcome.status === 'sent' && { sent_at: outcome.now }),
    }))
    .where('id', '=', id)
    .execute();
}

export async function listDeliveries(
  tx: TenantTx,
  filter: { status?: DeliveryStatus | undefined; limit: number },
): Promise<MailDelivery[]> {
  let q = tx.db.selectFrom('mail_deliveries').selectAll();
  if (filter.status !== undefined) q = q.where('status', '=', filter.status);
  const rows = await q.orderBy('created_at', 'desc').orderBy('id').limit(filter.limit).execute();
  return rows.map(toDelivery);
}

// --- one-time tokens sent by mail ------------------------------------------------------------

export type TokenPurpose = 'password_reset' | 'email_change';

export interface MailToken {
  readonly id: string;
  readonly memberId: string;
  readonly purpose: TokenPurpose;
  readonly newEmail: string | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
}

const tokenColumns = [
  'id',
  'member_id',
  'purpose',
  'new_email',
  'created_at',
  'expires_at',
  'used_at',
] as const;
const toToken = (r: {
  id: string;
  member_id: string;
  purpose: TokenPurpose;
  new_email: string | null;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}): MailToken => ({
  id: r.id,
  memberId: r.member_id,
  purpose: r.purpose,
  newEmail: r.new_email,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at,
});

/** Ends a member's open tokens of one purpose (a newer one supersedes them). */
export async function retireOpenTokens(
  tx: TenantTx,
  memberId: string,
  purpose: TokenPurpose,
  now: Date,
): Promise<void> {
  await tx.db
    .updateTable('mail_tokens')
    .set({ used_at: now })
    .where('member_id', '=', memberId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute();
}

export async function insertToken(
  tx: TenantTx,
  t: {
    memberId: string;
    purpose: TokenPurpose;
    tokenHash: Buffer;
    newEmail: string | null;
    now: Date;
    expiresAt: Date;
  },
): Promise<MailToken> {
  const row = await tx.db
    .insertInto('mail_tokens')
    .values({
      org_id: tx.orgId,
      member_id: t.memberId,
      purpose: t.purpose,
      token_hash: t.tokenHash,
      new_email: t.newEmail,
      created_at: t.now,
      expires_at: t.expiresAt,
    })
    .returning(tokenColumns)
    .executeTakeFirstOrThrow();
  return toToken(row);
}

export async function lockToken(tx: TenantTx, id: string): Promise<MailToken | undefined> {
  const row = await tx.db
    .selectFrom('mail_tokens')
    .select(tokenColumns)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  return row && toToken(row);
}

/** A token of this org by its hash (the caller checks whose and whether it is still usable). */
export async function lockTokenByHash(
  tx: TenantTx,
  purpose: TokenPurpose,
  tokenHash: Buffer,
): Promise<MailToken | undefined> {
  const row = await tx.db
    .selectFrom('mail_tokens')
    .select(tokenColumns)
    .where('purpose', '=', purpose)
    .where('token_hash', '=', tokenHash)
    .forUpdate()
    .executeTakeFirst();
  return row && toToken(row);
}

export async function markTokenUsed(tx: TenantTx, id: string, now: Date): Promise<void> {
  await tx.db.updateTable('mail_tokens').set({ used_at: now }).where('id', '=', id).execute();
}

/** Finds a mailed token's org without a session (a narrow definer look-up: ids only). */
export async function resolveToken(
  db: Kysely<DB>,
  purpose: TokenPurpose,
  tokenHash: Buffer,
): Promise<{ orgId: string; tokenId: string } | undefined> {
  const row = await withApp(db, async (tx) =>
    (
      await sql<{
        org_id: string;
        token_id: string;
      }>`select org_id, token_id from ony_resolve_mail_token(${tokenHash}, ${purpose})`.execute(tx)
    ).rows.at(0),
  );
  return row && { orgId: row.org_id, tokenId: row.token_id };
}

export async function setMemberEmail(
  tx: TenantTx,
  memberId: string,
  email: string,
  now: Date,
): Promise<void> {
  await tx.db.updateTable('members').set({ email, updated_at: now }).where('id', '=', memberId).execute();
}

/** Active admins (for org-wide notices). */
export async function listActiveAdmins(tx: TenantTx): Promise<{ id: string; name: string; email: string }[]> {
  return tx.db
    .selectFrom('members')
    .select(['id', 'name', 'email'])
    .where('role', '=', 'admin')
    .where('status', '=', 'active')
    .orderBy('created_at')
    .execute();
}

// --- sign-in devices -------------------------------------------------------------------------

/**
 * Records a sign-in from a device class; answers whether the class is new for the member and how
 * many classes the member had before.
 */
export async function recordSignInDevice(
  tx: TenantTx,
  memberId: string,
  deviceHash: Buffer,
  now: Date,
): Promise<{ isNew: boolean; knownBefore: number }> {
  const seen = await tx.db
    .selectFrom('sign_in_devices')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('n'),
      eb.fn.count<number | string>('device_hash').filterWhere('device_hash', '=', deviceHash).as('same'),
    ])
    .where('member_id', '=', memberId)
    .executeTakeFirstOrThrow();
  const isNew = Number(seen.same) === 0;
  await tx.db
    .insertInto('sign_in_devices')
    .values({
      org_id: tx.orgId,
      member_id: memberId,
      device_hash: deviceHash,
      first_seen_at: now,
      last_seen_at: now,
    })
    .onConflict((oc) => oc.columns(['org_id', 'member_id', 'device_hash']).doUpdateSet({ last_seen_at: now }))
    .execute();
  return { isNew, knownBefore: Number(seen.n) };
}
