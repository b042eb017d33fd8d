/**
 * The approval state machine (pure): given a handoff's state and one vote, what happens. Exactly
 * once is enforced by the caller holding the handoff row lock; this decides the outcome.
 *
 *   pending --deny (any one approver)-----------------------> denied
 *   pending --approving option, quorum reached---------------> approved
 *   pending --approving option, quorum not reached-----------> pending (approval recorded)
 *   pending --now >= expires_at--------------------------------> expired (counts as a deny)
 *   pending --agent cancels------------------------------------> cancelled
 *   decided --same option by the same member-------------------> replay (answer the decision)
 *   decided --anything else------------------------------------> conflict (409)
 */

export const HANDOFF_STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'] as const;
export type HandoffStatus = (typeof HANDOFF_STATUSES)[number];

export interface HandoffOption {
  readonly id: string;
  readonly label: string;
}

export const DEFAULT_OPTIONS: readonly HandoffOption[] = [
  { id: 'approve', label: 'Approve' },
  { id: 'deny', label: 'Deny' },
];

/** `deny` denies; every other option is a way of approving (custom options are approvals with a choice). */
export const isDenyOption = (option: string): boolean => option === 'deny';

export interface ApprovalState {
  readonly status: HandoffStatus;
  readonly expiresAt: Date;
  readonly options: readonly HandoffOption[];
  readonly requiredApprovals: number;
  /** Members who already approved (quorum in progress), with their option. */
  readonly approvals: readonly { readonly memberId: string; readonly option: string }[];
  readonly decision: { readonly option: string; readonly memberId: string | null } | null;
}

export interface Vote {
  readonly memberId: string;
  readonly option: string;
  readonly now: Date;
}

export type VoteResult =
  | { readonly kind: 'decided'; readonly status: 'approved' | 'denied' }
  | { readonly kind: 'recorded'; readonly received: number; readonly required: number }
  | { readonly kind: 'replay' }
  | { readonly kind: 'expired' }
  | { readonly kind: 'conflict'; readonly reason: string }
  | { readonly kind: 'unknown_option' };

export function applyVote(state: ApprovalState, vote: Vote): VoteResult {
  if (!state.options.some((o) => o.id === vote.option)) return { kind: 'unknown_option' };
  if (state.status !== 'pending') {
    const sameAsDecision =
      state.decision !== null &&
      state.decision.option === vote.option &&
      state.decision.memberId === vote.memberId;
    const sameAsApproval = state.approvals.some(
      (a) => a.memberId === vote.memberId && a.option === vote.option,
    );
    if (sameAsDecision || (state.status === 'approved' && sameAsApproval)) return { kind: 'replay' };
    if (state.status === 'expired')
      return { kind: 'conflict', reason: 'the handoff expired before a decision' };
    if (state.status === 'cancelled') return { kind: 'conflict', reason: 'the agent cancelled the handoff' };
    return { kind: 'conflict', reason: `the handoff was already ${state.status}` };
  }
  if (vote.now.getTime() >= state.expiresAt.getTime()) return { kind: 'expired' };
  if (isDenyOption(vote.option)) return { kind: 'decided', status: 'denied' };
  const mine = state.approvals.find((a) => a.memberId === vote.memberId);
  if (mine !== undefined) {
    if (mine.option === vote.option) return { kind: 'replay' };
    return { kind: 'conflict', reason: 'you already approved with another option' };
  }
  const received = state.approvals.length + 1;
  if (received >= state.requiredApprovals) return { kind: 'decided', status: 'approved' };
  return { kind: 'recorded', received, required: state.requiredApprovals };
}
