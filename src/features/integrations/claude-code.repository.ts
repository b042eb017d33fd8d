/**
 * The look-ups the Claude Code hook adds to handoffs: the handoff a tool call created (by its
 * tool_use_id), the live handoff a retried call joins (by its fingerprint), and using a decision once.
 */
import type { TenantTx } from '../../db/client.js';
import { findByIdempotencyKey, findHandoff, type Handoff } from '../handoffs/handoffs.repository.js';

/**
 * The handoff this tool call already has: the one it created (its tool_use_id was the
 * Idempotency-Key), or the one whose decision it used after joining it.
 */
export async function findByToolUse(
  tx: TenantTx,
  deviceId: string,
  toolUseId: string,
  fingerprint: string,
): Promise<Handoff | undefined> {
  const created = await findByIdempotencyKey(tx, deviceId, toolUseId);
  if (created !== undefined) return created.fingerprint !== null ? created : undefined;
  const row = await tx.db
    .selectFrom('handoffs')
    .select('id')
    .where('device_id', '=', deviceId)
    .where('fingerprint', '=', fingerprint)
    .where('consumed_by', '=', toolUseId)
    .executeTakeFirst();
  return row && findHandoff(tx, row.id);
}

/**
 * The newest handoff of this device for the same action that a retry may join: still pending, or
 * decided and not yet used by a tool call, before its deadline.
 */
export async function findLive(
  tx: TenantTx,
  deviceId: string,
  fingerprint: string,
  now: Date,
): Promise<Handoff | undefined> {
  const row = await tx.db
    .selectFrom('handoffs')
    .select('id')
    .where('device_id', '=', deviceId)
    .where('fingerprint', '=', fingerprint)
    .where('status', 'in', ['pending', 'approved', 'denied'])
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && findHandoff(tx, row.id);
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
