/**
 * The look-ups the Claude Code hook adds to handoffs: the handoff a tool call created (by its
 * tool_use_id), the live handoff a retried call joins (by its fingerprint), and using a decision once.
 */
import { sql } from 'kysely';
import type { TenantTx } from '../../db/client.js';
import { findHandoff, type Handoff } from '../handoffs/handoffs.repository.js';

/**
 * In one look-up, the handoff a tool call already has, else the one it may join:
 *  - `own`: the one it created (its tool_use_id was the Idempotency-Key), or the one whose decision it
 *    used after joining it;
 *  - `live`: the newest handoff of this device for the same action (fingerprint) that a retry may
 *    join: still pending, or decided and not yet used by a tool call, before its deadline.
 */
export async function findForToolCall(
  tx: TenantTx,
  deviceId: string,
  toolUseId: string,
  fingerprint: string,
  now: Date,
): Promise<{ own: Handoff } | { live: Handoff } | undefined> {
  const row = await tx.db
    .selectFrom('handoffs')
    .select(['id', 'idempotency_key', 'consumed_by'])
    .where('device_id', '=', deviceId)
    .where((eb) =>
      eb.or([
        eb('idempotency_key', '=', toolUseId),
        eb.and([
          eb('fingerprint', '=', fingerprint),
          eb.or([
            eb('consumed_by', '=', toolUseId),
            eb.and([
              eb('consumed_at', 'is', null),
              eb('status', 'in', ['pending', 'approved', 'denied']),
              eb('expires_at', '>', now),
            ]),
          ]),
        ]),
      ]),
    )
    // Its own handoff first, then the newest it may join.
    .orderBy(
      sql`(idempotency_key is not distinct from ${toolUseId} or consumed_by is not distinct from ${toolUseId})`,
      'desc',
    )
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const h = await findHandoff(tx, row.id);
  if (h === undefined) return undefined;
  return row.idempotency_key === toolUseId || row.consumed_by === toolUseId ? { own: h } : { live: h };
}

/**
 * Uses a decided handoff's decision for one tool call, exactly once. Answers `used` when this call
 * took it, else which call had (or `null` when the handoff is not decided).
 */
export async function consumeDecision(
  tx: TenantTx,
  id: string,
  toolUseId: string,
  now: Date,
): Promise<{ used: true } | { used: false; by: string | null }> {
  const r = await tx.db
    .updateTable('handoffs')
    .set({ consumed_at: now, consumed_by: toolUseId })
    .where('id', '=', id)
    .where('status', 'in', ['approved', 'denied'])
    .where('consumed_at', 'is', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 1) return { used: true };
  const row = await tx.db
    .selectFrom('handoffs')
    .select('consumed_by')
    .where('id', '=', id)
    .executeTakeFirst();
  return { used: false, by: row?.consumed_by ?? null };
}

/** The approver's display name. */
export async function memberName(tx: TenantTx, memberId: string): Promise<string | null> {
  const row = await tx.db.selectFrom('members').select('name').where('id', '=', memberId).executeTakeFirst();
  return row?.name ?? null;
}
