/**
 * Why an approver said no (pure): a closed list of reasons, so the agent, the audit chain and the
 * exports can act on a code, plus the approver's free text (the decision's `comment`, kept on the
 * handoff only: it may hold anything a human typed, so it never enters the audit chain).
 */
export const REJECTION_REASONS = [
  'too_risky',
  'wrong_target',
  'needs_context',
  'not_now',
  'policy',
  'other',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** What each code says, to the approver choosing it and to the agent reading it. */
export const REJECTION_REASON_TEXT: Readonly<Record<RejectionReason, string>> = {
  too_risky: 'too risky',
  wrong_target: 'wrong target',
  needs_context: 'needs more context',
  not_now: 'not now',
  policy: 'against our policy',
  other: 'other reason',
};

export const isRejectionReason = (v: unknown): v is RejectionReason =>
  typeof v === 'string' && (REJECTION_REASONS as readonly string[]).includes(v);
