/**
 * Payload retention (issue #10, docs/privacy.md): pure rules, no I/O and no clock.
 * A decided, expired or cancelled handoff keeps its encrypted payload for the org's window, counted
 * from the handoff's creation; then the sweep deletes the payload row and stamps the handoff.
 * Pending handoffs are never swept. A window of 0 days means the payload is never stored at all.
 */
export const DEFAULT_PAYLOAD_RETENTION_DAYS = 30;
export const MAX_PAYLOAD_RETENTION_DAYS = 365;
/** Rows deleted per transaction: small enough that no lock is held for long. */
export const DEFAULT_SWEEP_BATCH = 500;

const DAY_MS = 86_400_000;

/** A valid window: a whole number of days from 0 to 365. */
export function isValidRetentionDays(days: unknown): days is number {
  return (
    typeof days === 'number' && Number.isInteger(days) && days >= 0 && days <= MAX_PAYLOAD_RETENTION_DAYS
  );
}

/** Payloads of handoffs created before this instant are due. */
export function retentionCutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - days * DAY_MS);
}

/** Whether a payload may be stored at all under this window. */
export const storesPayloads = (days: number): boolean => days > 0;

/**
 * What the API and dashboard say about a handoff's payload: none was sent, it is held, or it is gone
 * (removed by the sweep, or never stored because the org keeps none).
 */
export function payloadState(h: {
  readonly hasPayload: boolean;
  readonly payloadRemovedAt: Date | null;
  readonly createdAt: Date;
}): { status: 'none' | 'stored' | 'removed' | 'not_stored'; removed_at: string | null; note: string | null } {
  if (!h.hasPayload) return { status: 'none', removed_at: null, note: null };
  if (h.payloadRemovedAt === null) return { status: 'stored', removed_at: null, note: null };
  if (h.payloadRemovedAt.getTime() === h.createdAt.getTime()) {
    return {
      status: 'not_stored',
      removed_at: h.payloadRemovedAt.toISOString(),
      note: 'payload not stored: this organization keeps no payloads (retention 0 days)',
    };
  }
  return {
    status: 'removed',
    removed_at: h.payloadRemovedAt.toISOString(),
    note: `payload removed by retention on ${h.payloadRemovedAt.toISOString().slice(0, 10)}`,
  };
}
