import { sql, type Selectable } from 'kysely';
import type { TenantTx } from '../../db/client.js';
import type { MembersTable, Role } from '../../db/schema.js';

export interface Member {
  readonly id: string;
  readonly orgId: string;
  readonly email: string;
  readonly name: string;
  readonly role: Role;
  readonly status: 'active' | 'deactivated';
  readonly phone: string | null;
  /** The number was proved with a code (calls and SMS reach only a verified number). */
  readonly phoneVerified: boolean;
  readonly totpEnabled: boolean;
  readonly createdAt: Date;
  readonly deactivatedAt: Date | null;
  /** The IANA timezone the dashboard shows times in; null = the browser's (migration 0024). */
  readonly timezone: string | null;
}

/** What login and TOTP checks need; never leaves the auth service. */
export interface MemberCredentials {
  readonly passwordHash: string | null;
  readonly totpSecretEnc: Buffer | null;
  readonly totpEnabled: boolean;
  readonly totpLastStep: number | null;
}

const toMember = (r: Selectable<MembersTable>): Member => ({
  id: r.id,
  orgId: r.org_id,
  email: r.email,
  name: r.name,
  role: r.role,
  status: r.status,
  phone: r.phone_e164,
  phoneVerified: r.phone_verified_at !== null,
  totpEnabled: r.totp_enabled_at !== null,
  createdAt: r.created_at,
  deactivatedAt: r.deactivated_at,
  timezone: r.timezone,
});

export async function insertMember(
  tx: TenantTx,
  m: { email: string; name: string; role: Role; passwordHash: string | null },
): Promise<Member> {
  const row = await tx.db
    .insertInto('members')
    .values({ org_id: tx.orgId, email: m.email, name: m.name, role: m.role, password_hash: m.passwordHash })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toMember(row);
}

export async function findMember(tx: TenantTx, id: string): Promise<Member | undefined> {
  const row = await tx.db.selectFrom('members').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toMember(row);
}

export async function findMemberByEmail(tx: TenantTx, email: string): Promise<Member | undefined> {
  const row = await tx.db.selectFrom('members').selectAll().where('email', '=', email).executeTakeFirst();
  return row && toMember(row);
}

export async function lockMember(tx: TenantTx, id: string): Promise<Member | undefined> {
  const row = await tx.db
    .selectFrom('members')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  return row && toMember(row);
}

export async function getCredentials(tx: TenantTx, id: string): Promise<MemberCredentials | undefined> {
  const row = await tx.db
    .selectFrom('members')
    .select(['password_hash', 'totp_secret_enc', 'totp_enabled_at', 'totp_last_step'])
    .where('id', '=', id)
    .executeTakeFirst();
  return (
    row && {
      passwordHash: row.password_hash,
      totpSecretEnc: row.totp_secret_enc,
      totpEnabled: row.totp_enabled_at !== null,
      totpLastStep: row.totp_last_step,
    }
  );
}

export async function listMembers(tx: TenantTx): Promise<Member[]> {
  const rows = await tx.db.selectFrom('members').selectAll().orderBy('created_at').orderBy('id').execute();
  return rows.map(toMember);
}

export async function countActiveAdmins(tx: TenantTx): Promise<number> {
  const row = await tx.db
    .selectFrom('members')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('role', '=', 'admin')
    .where('status', '=', 'active')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function updateMember(
  tx: TenantTx,
  id: string,
  patch: Partial<{
    name: string;
    role: Role;
    status: 'active' | 'deactivated';
    phone: string | null;
    passwordHash: string;
    totpSecretEnc: Buffer | null;
    totpEnabledAt: Date | null;
    totpLastStep: number | null;
    deactivatedAt: Date | null;
    timezone: string | null;
  }>,
  now: Date,
): Promise<void> {
  await tx.db
    .updateTable('members')
    .set({
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.role !== undefined && { role: patch.role }),
      ...(patch.timezone !== undefined && { timezone: patch.timezone }),
      ...(patch.status !== undefined && { status: patch.status }),
      ...(patch.phone !== undefined && {
        phone_e164: patch.phone,
        // A new number must be proved again (and its SMS opt-out starts afresh).
        phone_verified_at: sql<Date | null>`case when phone_e164 is distinct from ${patch.phone} then null else phone_verified_at end`,
        sms_opted_out_at: sql<Date | null>`case when phone_e164 is distinct from ${patch.phone} then null else sms_opted_out_at end`,
      }),
      ...(patch.passwordHash !== undefined && { password_hash: patch.passwordHash }),
      ...(patch.totpSecretEnc !== undefined && { totp_secret_enc: patch.totpSecretEnc }),
      ...(patch.totpEnabledAt !== undefined && { totp_enabled_at: patch.totpEnabledAt }),
      ...(patch.totpLastStep !== undefined && { totp_last_step: patch.totpLastStep }),
      ...(patch.deactivatedAt !== undefined && { deactivated_at: patch.deactivatedAt }),
      updated_at: now,
    })
    .where('id', '=', id)
    .execute();
}

/** Replaces the member's recovery codes with new hashes. */
export async function replaceRecoveryCodes(
  tx: TenantTx,
  memberId: string,
  hashes: readonly Buffer[],
): Promise<void> {
  await tx.db.deleteFrom('recovery_codes').where('member_id', '=', memberId).execute();
  if (hashes.length > 0) {
    await tx.db
      .insertInto('recovery_codes')
      .values(hashes.map((code_hash) => ({ org_id: tx.orgId, member_id: memberId, code_hash })))
      .execute();
  }
}

/** Marks an unused recovery code used; answers whether one was. */
export async function useRecoveryCode(
  tx: TenantTx,
  memberId: string,
  hash: Buffer,
  now: Date,
): Promise<boolean> {
  const result = await tx.db
    .updateTable('recovery_codes')
    .set({ used_at: now })
    .where('member_id', '=', memberId)
    .where('code_hash', '=', hash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Erases a member (migration 0010, ony_erase_member): name, email, phone, password, TOTP, recovery
 * codes, sessions, linked chat and SSO identities, mail tokens, sign-in devices and the invites to
 * their address go; the row stays, deactivated, as a pseudonymous id. False: no such member, or
 * already erased.
 */
export async function eraseMember(tx: TenantTx, id: string, now: Date): Promise<boolean> {
  const { rows } = await sql<{
    erased: boolean;
  }>`select ony_erase_member(${id}::uuid, ${now}) as erased`.execute(tx.db);
  return rows[0]?.erased === true;
}

/** Whether the member was erased (an erased row is only a pseudonym). */
export async function isErased(tx: TenantTx, id: string): Promise<boolean> {
  const row = await tx.db.selectFrom('members').select('erased_at').where('id', '=', id).executeTakeFirst();
  return row?.erased_at != null;
}
