/** Web Push subscriptions and members' notification levels (migration 0026). Kysely stays here. */
import { sql } from 'kysely';
import type { TenantTx } from '../../db/client.js';
import { isNotifyLevel, type NotifyLevel } from '../../core/push/notification.js';

export interface StoredSubscription {
  readonly id: string;
  readonly memberId: string;
  readonly endpoint: string;
  readonly keysEnc: Buffer;
}

export async function notifyLevelsOf(tx: TenantTx, memberId: string): Promise<NotifyLevel[] | undefined> {
  const row = await tx.db
    .selectFrom('members')
    .select('notify_levels')
    .where('id', '=', memberId)
    .executeTakeFirst();
  return row?.notify_levels.filter(isNotifyLevel);
}

export async function setNotifyLevels(
  tx: TenantTx,
  memberId: string,
  levels: readonly NotifyLevel[],
  now: Date,
): Promise<void> {
  await tx.db
    .updateTable('members')
    .set({ notify_levels: [...levels], updated_at: now })
    .where('id', '=', memberId)
    .execute();
}

export async function findSubscriptionByEndpoint(
  tx: TenantTx,
  endpoint: string,
): Promise<{ id: string; memberId: string } | undefined> {
  const row = await tx.db
    .selectFrom('push_subscriptions')
    .select(['id', 'member_id'])
    .where('endpoint', '=', endpoint)
    .executeTakeFirst();
  return row === undefined ? undefined : { id: row.id, memberId: row.member_id };
}

/** A new subscription's row id (its keys are encrypted with that id as associated data). */
export async function insertSubscription(
  tx: TenantTx,
  row: { id: string; memberId: string; endpoint: string; keysEnc: Buffer; at: Date },
): Promise<void> {
  await tx.db
    .insertInto('push_subscriptions')
    .values({
      org_id: tx.orgId,
      id: row.id,
      member_id: row.memberId,
      endpoint: row.endpoint,
      keys_enc: row.keysEnc,
      created_at: row.at,
    })
    .execute();
}

export async function deleteSubscriptions(tx: TenantTx, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await tx.db
    .deleteFrom('push_subscriptions')
    .where('id', 'in', [...ids])
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function deleteMemberSubscription(
  tx: TenantTx,
  memberId: string,
  endpoint: string,
): Promise<boolean> {
  const r = await tx.db
    .deleteFrom('push_subscriptions')
    .where('member_id', '=', memberId)
    .where('endpoint', '=', endpoint)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function countMemberSubscriptions(tx: TenantTx, memberId: string): Promise<number> {
  const r = await tx.db
    .selectFrom('push_subscriptions')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('member_id', '=', memberId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/**
 * The subscriptions to push a new handoff of `level` to: active members who may decide (member or
 * admin) and chose that level.
 */
export async function subscriptionsFor(tx: TenantTx, level: NotifyLevel): Promise<StoredSubscription[]> {
  const rows = await tx.db
    .selectFrom('push_subscriptions as s')
    .innerJoin('members as m', (j) => j.onRef('m.org_id', '=', 's.org_id').onRef('m.id', '=', 's.member_id'))
    .select(['s.id', 's.member_id', 's.endpoint', 's.keys_enc'])
    .where('m.status', '=', 'active')
    .where('m.erased_at', 'is', null)
    .where('m.role', 'in', ['member', 'admin'])
    .where(sql<boolean>`${level} = any(m.notify_levels)`)
    .orderBy('s.created_at')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    memberId: r.member_id,
    endpoint: r.endpoint,
    keysEnc: Buffer.from(r.keys_enc),
  }));
}

export async function markSent(tx: TenantTx, ids: readonly string[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await tx.db
    .updateTable('push_subscriptions')
    .set({ last_sent_at: at })
    .where('id', 'in', [...ids])
    .execute();
}
