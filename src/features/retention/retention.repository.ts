/** Payload retention: the org's window and the batched sweep of due payloads (docs/privacy.md). */
import { sql } from 'kysely';
import type { TenantTx, Tx } from '../../db/client.js';
import { DEFAULT_PAYLOAD_RETENTION_DAYS } from '../../core/retention/retention.js';

export async function getRetentionDays(tx: TenantTx): Promise<number> {
  const row = await tx.db.selectFrom('org_settings').select('payload_retention_days').executeTakeFirst();
  return row?.payload_retention_days ?? DEFAULT_PAYLOAD_RETENTION_DAYS;
}

/** Locks the org's settings row (creating it with defaults if missing) and sets the window. */
export async function setRetentionDays(tx: TenantTx, days: number, now: Date): Promise<void> {
  await tx.db
    .insertInto('org_settings')
    .values({ org_id: tx.orgId, payload_retention_days: days, updated_at: now })
    .onConflict((oc) => oc.column('org_id').doUpdateSet({ payload_retention_days: days, updated_at: now }))
    .execute();
}

/** Every org and its window (a definer look-up: the daily job's to-do list). */
export async function listRetentionOrgs(tx: Tx): Promise<{ orgId: string; days: number }[]> {
  const { rows } = await sql<{
    org_id: string;
    payload_retention_days: number;
  }>`select org_id, payload_retention_days from ony_retention_orgs()`.execute(tx);
  return rows.map((r) => ({ orgId: r.org_id, days: r.payload_retention_days }));
}

/** How many payloads are due (a dry run): decided, expired or cancelled handoffs older than the cutoff. */
export async function countDuePayloads(tx: TenantTx, cutoff: Date): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from handoffs
    where org_id = ${tx.orgId} and payload_sha256 is not null and payload_removed_at is null
      and created_at < ${cutoff} and status <> 'pending'`.execute(tx.db);
  return rows[0]?.n ?? 0;
}

/**
 * One batch: the oldest due handoffs (rows another transaction holds, e.g. a decision in flight, are
 * skipped, not waited for), their payload rows deleted and the handoffs stamped. The walk follows
 * the partial index handoffs_payload_retention, which swept rows leave. Answers payloads deleted
 * and handoffs stamped (the loop stops when fewer than `limit` were stamped).
 */
export async function sweepBatch(
  tx: TenantTx,
  cutoff: Date,
  now: Date,
  limit: number,
): Promise<{ removed: number; stamped: number }> {
  const { rows } = await sql<{ removed: number; stamped: number }>`
    with due as (
      select id from handoffs
      where org_id = ${tx.orgId} and payload_sha256 is not null and payload_removed_at is null
        and created_at < ${cutoff} and status <> 'pending'
      order by created_at, id
      limit ${limit}
      for update skip locked
    ), gone as (
      delete from handoff_payloads p using due
      where p.org_id = ${tx.orgId} and p.handoff_id = due.id
      returning p.handoff_id
    ), stamped as (
      update handoffs h set payload_removed_at = ${now} from due
      where h.org_id = ${tx.orgId} and h.id = due.id
      returning h.id
    )
    select (select count(*)::int from gone) as removed, (select count(*)::int from stamped) as stamped`.execute(
    tx.db,
  );
  return rows[0] ?? { removed: 0, stamped: 0 };
}
