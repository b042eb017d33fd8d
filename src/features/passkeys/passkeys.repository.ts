/** Passkeys and their challenges (migration 0019). Kysely stays here; callers get domain types. */
import type { Selectable } from 'kysely';
import type { TenantTx } from '../../db/client.js';
import type { PasskeyChallengesTable, PasskeysTable } from '../../db/schema.js';
import type { ChallengePurpose } from '../../core/passkeys/challenge.js';

export interface Passkey {
  readonly id: string;
  readonly memberId: string;
  /** The WebAuthn credential id (raw bytes). */
  readonly credentialId: Buffer;
  /** The COSE public key. */
  readonly publicKey: Buffer;
  readonly counter: number;
  readonly transports: readonly string[];
  readonly name: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
}

export interface PasskeyChallenge {
  readonly id: string;
  readonly memberId: string;
  readonly purpose: ChallengePurpose;
  readonly handoffId: string | null;
  readonly option: string | null;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
}

const toPasskey = (r: Selectable<PasskeysTable>): Passkey => ({
  id: r.id,
  memberId: r.member_id,
  credentialId: Buffer.from(r.credential_id),
  publicKey: Buffer.from(r.public_key),
  counter: Number(r.counter),
  transports: r.transports,
  name: r.name,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

const toChallenge = (r: Selectable<PasskeyChallengesTable>): PasskeyChallenge => ({
  id: r.id,
  memberId: r.member_id,
  purpose: r.purpose,
  handoffId: r.handoff_id,
  option: r.option,
  expiresAt: r.expires_at,
  usedAt: r.used_at,
});

export async function listPasskeys(tx: TenantTx, memberId: string): Promise<Passkey[]> {
  const rows = await tx.db
    .selectFrom('passkeys')
    .selectAll()
    .where('member_id', '=', memberId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toPasskey);
}

export async function countPasskeys(tx: TenantTx, memberId: string): Promise<number> {
  const row = await tx.db
    .selectFrom('passkeys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('member_id', '=', memberId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The member's passkey with this credential id, locked for the counter update; another member's is undefined. */
export async function lockPasskeyByCredential(
  tx: TenantTx,
  memberId: string,
  credentialId: Buffer,
): Promise<Passkey | undefined> {
  const row = await tx.db
    .selectFrom('passkeys')
    .selectAll()
    .where('member_id', '=', memberId)
    .where('credential_id', '=', credentialId)
    .forUpdate()
    .executeTakeFirst();
  return row && toPasskey(row);
}

export async function credentialExists(tx: TenantTx, credentialId: Buffer): Promise<boolean> {
  const row = await tx.db
    .selectFrom('passkeys')
    .select('id')
    .where('credential_id', '=', credentialId)
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertPasskey(
  tx: TenantTx,
  p: {
    memberId: string;
    credentialId: Buffer;
    publicKey: Buffer;
    counter: number;
    transports: readonly string[];
    name: string;
    now: Date;
  },
): Promise<Passkey> {
  const row = await tx.db
    .insertInto('passkeys')
    .values({
      org_id: tx.orgId,
      member_id: p.memberId,
      credential_id: p.credentialId,
      public_key: p.publicKey,
      counter: p.counter,
      transports: [...p.transports],
      name: p.name,
      created_at: p.now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toPasskey(row);
}

export async function recordPasskeyUse(tx: TenantTx, id: string, counter: number, now: Date): Promise<void> {
  await tx.db.updateTable('passkeys').set({ counter, last_used_at: now }).where('id', '=', id).execute();
}

/** Renames the member's own passkey; undefined when it is not theirs (or does not exist). */
export async function renamePasskey(
  tx: TenantTx,
  memberId: string,
  id: string,
  name: string,
): Promise<Passkey | undefined> {
  const row = await tx.db
    .updateTable('passkeys')
    .set({ name })
    .where('id', '=', id)
    .where('member_id', '=', memberId)
    .returningAll()
    .executeTakeFirst();
  return row && toPasskey(row);
}

/** Deletes one of the member's passkeys (`only`) or all of them; answers how many went. */
export async function deletePasskeys(tx: TenantTx, memberId: string, only?: string): Promise<number> {
  let q = tx.db.deleteFrom('passkeys').where('member_id', '=', memberId);
  if (only !== undefined) q = q.where('id', '=', only);
  const r = await q.executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function insertChallenge(
  tx: TenantTx,
  c: {
    memberId: string;
    purpose: ChallengePurpose;
    challengeHash: Buffer;
    handoffId?: string;
    option?: string;
    now: Date;
    expiresAt: Date;
  },
): Promise<void> {
  // The member's challenges that can no longer be answered go first: the table stays small.
  await tx.db
    .deleteFrom('passkey_challenges')
    .where('member_id', '=', c.memberId)
    .where((eb) => eb.or([eb('expires_at', '<=', c.now), eb('used_at', 'is not', null)]))
    .execute();
  await tx.db
    .insertInto('passkey_challenges')
    .values({
      org_id: tx.orgId,
      member_id: c.memberId,
      purpose: c.purpose,
      challenge_hash: c.challengeHash,
      handoff_id: c.handoffId ?? null,
      option: c.option ?? null,
      created_at: c.now,
      expires_at: c.expiresAt,
    })
    .execute();
}

/** The member's challenge with this hash and purpose, locked (whatever its state). */
export async function lockChallenge(
  tx: TenantTx,
  memberId: string,
  purpose: ChallengePurpose,
  challengeHash: Buffer,
): Promise<PasskeyChallenge | undefined> {
  const row = await tx.db
    .selectFrom('passkey_challenges')
    .selectAll()
    .where('member_id', '=', memberId)
    .where('purpose', '=', purpose)
    .where('challenge_hash', '=', challengeHash)
    .forUpdate()
    .executeTakeFirst();
  return row && toChallenge(row);
}

/** Marks a challenge used, once: false when it was already used. */
export async function consumeChallenge(tx: TenantTx, id: string, now: Date): Promise<boolean> {
  const r = await tx.db
    .updateTable('passkey_challenges')
    .set({ used_at: now })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function deleteChallenges(tx: TenantTx, memberId: string): Promise<void> {
  await tx.db.deleteFrom('passkey_challenges').where('member_id', '=', memberId).execute();
}
