import { sql } from 'kysely';
import type { TenantTx, Tx } from '../../db/client.js';
import type { Role } from '../../db/schema.js';

export interface SessionInfo {
  readonly id: string;
  readonly memberId: string;
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
  readonly idleExpiresAt: Date;
  readonly absoluteExpiresAt: Date;
  readonly revokedAt: Date | null;
  readonly userAgent: string | null;
}

export interface SessionWithMember extends SessionInfo {
  readonly memberRole: Role;
  readonly memberStatus: 'active' | 'deactivated';
}

type SessionRow = {
  id: string;
  member_id: string;
  created_at: Date;
  last_seen_at: Date;
  idle_expires_at: Date;
  absolute_expires_at: Date;
  revoked_at: Date | null;
  user_agent: string | null;
};

const toSession = (r: SessionRow): SessionInfo => ({
  id: r.id,
  memberId: r.member_id,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  idleExpiresAt: r.idle_expires_at,
  absoluteExpiresAt: r.absolute_expires_at,
  revokedAt: r.revoked_at,
  userAgent: r.user_agent,
});

/**
 * How a session was signed in (docs/assurance.md): a password, a password and a second factor (TOTP or
 * a recovery code), or single sign-on with the ID token's `amr`/`acr` claims as the provider sent them.
 */
export type SignInProof =
  | { readonly method: 'password' | 'password_mfa' }
  | { readonly method: 'sso'; readonly amr: readonly string[] | null; readonly acr: string | null };

export async function insertSession(
  tx: TenantTx,
  s: {
    memberId: string;
    tokenHash: Buffer;
    now: Date;
    idleExpiresAt: Date;
    absoluteExpiresAt: Date;
    userAgent: string | null;
    signIn: SignInProof;
  },
): Promise<string> {
  const row = await tx.db
    .insertInto('sessions')
    .values({
      org_id: tx.orgId,
      member_id: s.memberId,
      token_hash: s.tokenHash,
      created_at: s.now,
      last_seen_at: s.now,
      idle_expires_at: s.idleExpiresAt,
      absolute_expires_at: s.absoluteExpiresAt,
      user_agent: s.userAgent,
      auth_method: s.signIn.method,
      amr: s.signIn.method === 'sso' && s.signIn.amr !== null ? [...s.signIn.amr] : null,
      acr: s.signIn.method === 'sso' ? s.signIn.acr : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function findSessionWithMember(
  tx: TenantTx,
  id: string,
): Promise<SessionWithMember | undefined> {
  const r = await tx.db
    .selectFrom('sessions as s')
    .innerJoin('members as m', (j) => j.onRef('m.org_id', '=', 's.org_id').onRef('m.id', '=', 's.member_id'))
    .select([
      's.id',
      's.member_id',
      's.created_at',
      's.last_seen_at',
      's.idle_expires_at',
      's.absolute_expires_at',
      's.revoked_at',
      's.user_agent',
      'm.role',
      'm.status',
    ])
    .where('s.id', '=', id)
    .executeTakeFirst();
  return r && { ...toSession(r), memberRole: r.role, memberStatus: r.status };
}

/** A session's sign-in: when and how (for the assurance of a web answer); undefined if unknown. */
export async function findSessionSignIn(
  tx: TenantTx,
  id: string,
): Promise<{ readonly signedInAt: Date; readonly proof: SignInProof } | undefined> {
  const r = await tx.db
    .selectFrom('sessions')
    .select(['created_at', 'auth_method', 'amr', 'acr'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (r === undefined) return undefined;
  return {
    signedInAt: r.created_at,
    proof: r.auth_method === 'sso' ? { method: 'sso', amr: r.amr, acr: r.acr } : { method: r.auth_method },
  };
}

export async function touchSession(tx: TenantTx, id: string, now: Date, idleExpiresAt: Date): Promise<void> {
  await tx.db
    .updateTable('sessions')
    .set({ last_seen_at: now, idle_expires_at: idleExpiresAt })
    .where('id', '=', id)
    .execute();
}

export async function listSessions(tx: TenantTx, memberId: string, now: Date): Promise<SessionInfo[]> {
  const rows = await tx.db
    .selectFrom('sessions')
    .selectAll()
    .where('member_id', '=', memberId)
    .where('revoked_at', 'is', null)
    .where('idle_expires_at', '>', now)
    .where('absolute_expires_at', '>', now)
    .orderBy('last_seen_at', 'desc')
    .execute();
  return rows.map(toSession);
}

/** Revokes sessions of a member: one by id, all, or all but one. Answers how many. */
export async function revokeSessions(
  tx: TenantTx,
  memberId: string,
  now: Date,
  which: { only?: string; except?: string } = {},
): Promise<number> {
  let q = tx.db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('member_id', '=', memberId)
    .where('revoked_at', 'is', null);
  if (which.only !== undefined) q = q.where('id', '=', which.only);
  if (which.except !== undefined) q = q.where('id', '!=', which.except);
  const result = await q.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Every (org, member) whose sign-in email is `email`, across orgs: the one narrow definer look-up
 * that works without an org (`ony_find_login`). Run it in a withApp transaction.
 */
export async function findLoginCandidates(
  tx: Tx,
  email: string,
): Promise<{ org_id: string; member_id: string }[]> {
  return (
    await sql<{
      org_id: string;
      member_id: string;
    }>`select org_id, member_id from ony_find_login(${email})`.execute(tx)
  ).rows;
}
