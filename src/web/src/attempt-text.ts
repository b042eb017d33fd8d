/** How the handoff's timeline words an escalation attempt (pure, so it is tested on its own). */
import type { HandoffDetail } from './types.js';

type Attempt = HandoffDetail['attempts'][number];

const SKIP_TEXT: Record<NonNullable<Attempt['skip_reason']>, string> = {
  rate_limited: 'the per-number limit was reached',
  no_reply_code: 'no SMS reply code was free',
  no_address: 'no verified address',
};

/** "Escalation step 2: sms — skipped (the per-number limit was reached)". */
export function attemptText(a: Attempt): string {
  const head = `Escalation step ${a.step + 1}: ${a.channel} — ${a.outcome}`;
  if (a.skip_reason === null) return head;
  const why = SKIP_TEXT[a.skip_reason];
  return a.outcome === 'skipped' ? `${head} (${why})` : `${head}; some recipients skipped (${why})`;
}
