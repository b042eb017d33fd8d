/**
 * Batch decisions (issue #22 §1): several pending handoffs decided with one confirmation, each
 * still through the one decision path with its own audit entry. Pure: which sets may be batched.
 *
 * Two handoffs are *equivalent* when they come from the same device, have the same action type and
 * the same normalised target (the command, path, host or resource the action is about). Without a
 * target, the normalised title stands in for it. Normalising is deliberately narrow: Unicode NFC,
 * trimmed, runs of white space made one space. Case is kept (paths and commands are case
 * sensitive) and hidden characters are kept, so a lookalike never joins a batch.
 */
// Self-contained (no imports): the dashboard bundles this file too, to offer only sets the
// server accepts.
type RiskLevel = 'low' | 'medium' | 'high' | 'critical';
type HandoffStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';

export const MAX_BATCH = 50;
export const BATCH_DECISIONS = ['approve', 'deny'] as const;
export type BatchDecision = (typeof BATCH_DECISIONS)[number];

export interface BatchCandidate {
  readonly id: string;
  readonly status: HandoffStatus;
  readonly riskLevel: RiskLevel;
  readonly deviceId: string;
  readonly actionType: string;
  readonly actionTarget: string | null;
  readonly title: string;
  readonly optionIds: readonly string[];
  readonly expiresAt: Date;
}

export const normaliseAction = (text: string): string => text.normalize('NFC').trim().replace(/\s+/g, ' ');

/** The equivalence key: equal keys, equivalent actions. */
export function equivalenceKey(
  h: Pick<BatchCandidate, 'deviceId' | 'actionType' | 'actionTarget' | 'title'>,
) {
  const what =
    h.actionTarget !== null && normaliseAction(h.actionTarget) !== ''
      ? ['target', normaliseAction(h.actionTarget)]
      : ['title', normaliseAction(h.title)];
  return JSON.stringify([h.deviceId, h.actionType, ...what]);
}

export type BatchRefusal =
  | { readonly code: 'empty' }
  | { readonly code: 'too_many'; readonly max: number }
  | { readonly code: 'duplicate'; readonly id: string }
  | { readonly code: 'critical'; readonly id: string }
  | { readonly code: 'not_pending'; readonly id: string; readonly status: HandoffStatus }
  | { readonly code: 'expired'; readonly id: string }
  | { readonly code: 'unknown_option'; readonly id: string }
  | { readonly code: 'not_equivalent'; readonly id: string };

/** Checks the ids alone (before reading anything): not empty, not too many, no duplicates. */
export function checkBatchIds(ids: readonly string[]): BatchRefusal | null {
  if (ids.length === 0) return { code: 'empty' };
  if (ids.length > MAX_BATCH) return { code: 'too_many', max: MAX_BATCH };
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) return { code: 'duplicate', id };
    seen.add(id);
  }
  return null;
}

/**
 * Whether these handoffs (every one found, in the caller's org) may be decided together with
 * `decision`; null when they may. The first refusal found is answered, in the order of `items`.
 */
export function checkBatch(
  items: readonly BatchCandidate[],
  decision: BatchDecision,
  now: Date,
): BatchRefusal | null {
  const ids = checkBatchIds(items.map((h) => h.id));
  if (ids !== null) return ids;
  const key = equivalenceKey(items[0]!);
  for (const h of items) {
    if (h.riskLevel === 'critical') return { code: 'critical', id: h.id };
    if (h.status !== 'pending') return { code: 'not_pending', id: h.id, status: h.status };
    if (h.expiresAt.getTime() <= now.getTime()) return { code: 'expired', id: h.id };
    if (!h.optionIds.includes(decision)) return { code: 'unknown_option', id: h.id };
    if (equivalenceKey(h) !== key) return { code: 'not_equivalent', id: h.id };
  }
  return null;
}

/** A refusal in words, for the problem's `detail`. */
export function batchRefusalText(r: BatchRefusal): string {
  switch (r.code) {
    case 'empty':
      return 'ids is empty: choose at least one handoff';
    case 'too_many':
      return `a batch holds at most ${r.max} handoffs`;
    case 'duplicate':
      return `handoff ${r.id} is listed twice`;
    case 'critical':
      return `handoff ${r.id} is critical: critical handoffs are decided one by one, on their own page`;
    case 'not_pending':
      return `handoff ${r.id} is already ${r.status}; nothing was decided`;
    case 'expired':
      return `handoff ${r.id} has expired; nothing was decided`;
    case 'unknown_option':
      return `handoff ${r.id} has custom options; decide it on its own page`;
    case 'not_equivalent':
      return `handoff ${r.id} is not the same action as the first (same device, action type and target); nothing was decided`;
  }
}
