import { sql, type Kysely } from 'kysely';
import { withApp, type TenantTx } from '../../db/client.js';
import type { DB, PhoneCallsTable } from '../../db/schema.js';
import { sha256 } from '../../lib/crypto.js';

/** A call as the handoff's timeline shows it: the number masked, no content. */
export interface PhoneCall {
  readonly id: string;
  readonly handoffId: string | null;
  readonly memberId: string;
  readonly provider: PhoneCallsTable['provider'];
  readonly providerCallId: string;
  readonly phoneMasked: string;
  readonly status: PhoneCallsTable['status'];
  readonly durationS: number | null;
  readonly outcome: string;
  readonly endedAt: Date;
}

/** STOP (out = true) or START from a number, for every member who verified it. */
export async function setSmsOptOut(db: Kysely<DB>, phone: string, out: boolean, now: Date): Promise<number> {
  return withApp(db, async (tx) => {
    const r = await sql<{ n: number }>`select ony_set_sms_opt_out(${phone}, ${out}, ${now}) as n`.execute(tx);
    return Number(r.rows[0]?.n ?? 0);
  });
}

/** Marks the member's number verified, if it is still the number the code was sent to. */
export async function markPhoneVerified(
  tx: TenantTx,
  memberId: string,
  phone: string,
  now: Date,
): Promise<boolean> {
  const r = await tx.db
    .updateTable('members')
    .set({ phone_verified_at: now, sms_opted_out_at: null, updated_at: now })
    .where('id', '=', memberId)
    .where('phone_e164', '=', phone)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Another member of the org already verified this number. */
export async function phoneTakenInOrg(tx: TenantTx, memberId: string, phone: string): Promise<boolean> {
  const row = await tx.db
    .selectFrom('members')
    .select('id')
    .where('phone_e164', '=', phone)
    .where('phone_verified_at', 'is not', null)
    .where('id', '!=', memberId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Records a finished call once (a redelivered final status is a no-op). */
export async function insertPhoneCall(tx: TenantTx, c: Omit<PhoneCall, 'id'>): Promise<void> {
  await tx.db
    .insertInto('phone_calls')
    .values({
      org_id: tx.orgId,
      handoff_id: c.handoffId,
      member_id: c.memberId,
      provider: c.provider,
      provider_call_id: c.providerCallId,
      phone_masked: c.phoneMasked,
      status: c.status,
      duration_s: c.durationS,
      outcome: c.outcome,
      ended_at: c.endedAt,
    })
    .onConflict((oc) => oc.columns(['org_id', 'provider', 'provider_call_id']).doNothing())
    .execute();
}

export async function listPhoneCalls(tx: TenantTx, handoffId: string): Promise<PhoneCall[]> {
  const rows = await tx.db
    .selectFrom('phone_calls')
    .selectAll()
    .where('handoff_id', '=', handoffId)
    .orderBy('ended_at')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    handoffId: r.handoff_id,
    memberId: r.member_id,
    provider: r.provider,
    providerCallId: r.provider_call_id,
    phoneMasked: r.phone_masked,
    status: r.status,
    durationS: r.duration_s,
    outcome: r.outcome,
    endedAt: r.ended_at,
  }));
}

/** A number's next SMS reply code from its durable counter (never reused; docs/telephony.md). */
export async function nextSmsReplyCode(db: Kysely<DB>, phone: string): Promise<number> {
  return withApp(db, async (tx) => {
    const r = await sql<{ code: number }>`
      select ony_next_sms_reply_code(${sha256(`phone:${phone}`)}) as code`.execute(tx);
    const code = Number(r.rows[0]?.code);
    if (!Number.isInteger(code) || code < 1) throw new Error('no SMS reply code from the database');
    return code;
  });
}
