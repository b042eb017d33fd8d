/**
 * What an escalation step's attempt records (pure): `sent` when anything went out, `skipped` when
 * nothing did because every recipient was skipped on purpose (the per-number limit, no reply code
 * free, no verified address), with the reason. When reasons differ, the one an admin can act on
 * first wins: a limit over a missing code over a missing address.
 */

/** Why a recipient got nothing from a step (closed enum; stored and audited as is). */
export type SkipReason =
  /** The number's per-15-minute call or SMS limit was reached (carriers flag busy numbers). */
  | 'rate_limited'
  /** No SMS reply code could be held for the number. */
  | 'no_reply_code'
  /** The member has no verified address on this channel (or opted out of SMS). */
  | 'no_address';
/** Every reason, in the order an admin can act on them (the first present names a step's skip). */
export const SKIP_REASONS: readonly SkipReason[] = ['rate_limited', 'no_reply_code', 'no_address'];

export interface AttemptOutcome {
  readonly outcome: 'sent' | 'skipped';
  /** Set when anyone was skipped (with `sent`: some recipients got nothing). */
  readonly skipReason: SkipReason | null;
  readonly skipped: number;
}

export function attemptOutcome(
  sent: number,
  skipped: readonly { readonly reason: SkipReason }[],
): AttemptOutcome {
  const reason = SKIP_REASONS.find((p) => skipped.some((s) => s.reason === p)) ?? null;
  return {
    outcome: sent === 0 && reason !== null ? 'skipped' : 'sent',
    skipReason: reason,
    skipped: skipped.length,
  };
}
