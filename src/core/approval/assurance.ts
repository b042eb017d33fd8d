/**
 * Assurance levels (pure): how strong the proof behind one answer to a handoff was. Three facts go
 * in (the channel, with the web session's age; the step-up; the identity proof behind the session or
 * the channel link) and one ordered level comes out:
 *
 *   A1  a chat, SMS or voice answer alone; a web session without a second factor (or a stale one)
 *   A2  a TOTP step-up for this answer; or a *fresh* web session (signed in less than
 *       FRESH_SESSION_S ago) whose sign-in used a second factor: password + TOTP, or SSO whose
 *       `amr` shows multi-factor authentication
 *   A3  a passkey step-up bound to this handoff and option
 *
 * docs/assurance.md explains what each level proves and does not prove.
 */

/** The risk levels (as core/risk names them; repeated so the dashboard can import this file). */
type RiskLevel = 'low' | 'medium' | 'high' | 'critical';

export const ASSURANCE_LEVELS = ['A1', 'A2', 'A3'] as const;
export type AssuranceLevel = (typeof ASSURANCE_LEVELS)[number];

/** The step-up verified for this one answer (a passkey assertion is bound to the handoff and option). */
export const STEP_UPS = ['none', 'totp', 'passkey'] as const;
export type StepUp = (typeof STEP_UPS)[number];

/** The channels a human answers on. */
export const DECISION_CHANNELS = ['web', 'slack', 'telegram', 'sms', 'phone'] as const;
export type DecisionChannel = (typeof DECISION_CHANNELS)[number];
export const isDecisionChannel = (c: string): c is DecisionChannel =>
  (DECISION_CHANNELS as readonly string[]).includes(c);

/**
 * What proved who answered: a web session's sign-in (password, password + TOTP, or SSO with the
 * provider's `amr`/`acr` claims), or the channel's own link (a linked chat account, a verified number).
 */
export const IDENTITY_PROOFS = ['password', 'password_mfa', 'sso', 'chat_link', 'phone_number'] as const;
export type IdentityProof = (typeof IDENTITY_PROOFS)[number];

/** A web session is "fresh" for A2 while younger than this (seconds since its sign-in): 15 minutes. */
export const FRESH_SESSION_S = 15 * 60;

export interface AssuranceFacts {
  readonly channel: DecisionChannel;
  /** Seconds since the web session signed in; null on every other channel. */
  readonly session_age_s: number | null;
  readonly step_up: StepUp;
  readonly identity: IdentityProof;
  /** SSO only: the ID token's `amr` (RFC 8176 method references) and `acr`, as sent; else null. */
  readonly amr: readonly string[] | null;
  readonly acr: string | null;
}

/** The facts and the level they give: what is stored on the approval, the decision and the audit entry. */
export interface Assurance extends AssuranceFacts {
  readonly level: AssuranceLevel;
}

const KNOWLEDGE = new Set(['pwd', 'pin', 'kba']);
const POSSESSION = new Set(['otp', 'hwk', 'swk', 'sms', 'tel', 'sc']);
const INHERENCE = new Set(['fpt', 'face', 'iris', 'retina', 'vbm']);

/**
 * Whether an ID token's `amr` shows multi-factor authentication: `mfa` itself, or methods from two
 * different factor classes (something known, held, or been; e.g. `pwd` + `otp`, or `hwk` + `face`).
 * `acr` values are provider-specific, so they are recorded but never read as proof.
 */
export function amrShowsMfa(amr: readonly string[] | null): boolean {
  if (amr === null) return false;
  if (amr.includes('mfa')) return true;
  const classes = [KNOWLEDGE, POSSESSION, INHERENCE].filter((c) => amr.some((m) => c.has(m)));
  return classes.length >= 2;
}

/** The level of one answer. */
export function assuranceLevel(f: AssuranceFacts): AssuranceLevel {
  if (f.step_up === 'passkey') return 'A3';
  if (f.step_up === 'totp') return 'A2';
  if (f.channel !== 'web' || f.session_age_s === null || f.session_age_s > FRESH_SESSION_S) return 'A1';
  if (f.identity === 'password_mfa') return 'A2';
  if (f.identity === 'sso' && amrShowsMfa(f.amr)) return 'A2';
  return 'A1';
}

export const assess = (f: AssuranceFacts): Assurance => ({ level: assuranceLevel(f), ...f });

export const atLeast = (level: AssuranceLevel, min: AssuranceLevel): boolean =>
  ASSURANCE_LEVELS.indexOf(level) >= ASSURANCE_LEVELS.indexOf(min);

const max = (a: AssuranceLevel, b: AssuranceLevel): AssuranceLevel => (atLeast(a, b) ? a : b);

/**
 * The minimum an approving answer must reach: the one snapshotted on the handoff from its policy,
 * raised to A2 for an SMS answer to a critical handoff (SMS alone never approves critical, whatever
 * the policy says).
 */
export function requiredAssurance(
  min: AssuranceLevel,
  riskLevel: RiskLevel,
  channel: DecisionChannel,
): AssuranceLevel {
  return channel === 'sms' && riskLevel === 'critical' ? max(min, 'A2') : min;
}

const STEP_UP_LABEL: Record<StepUp, string | null> = { none: null, totp: 'TOTP', passkey: 'passkey' };
const IDENTITY_LABEL: Record<IdentityProof, string> = {
  password: 'password',
  password_mfa: 'password + TOTP',
  sso: 'SSO',
  chat_link: 'linked account',
  phone_number: 'verified number',
};

/** One line for people: "A2 · web · TOTP", "A1 · slack · linked account", "A2 · web · SSO (mfa)". */
export function describeAssurance(a: Assurance): string {
  const step = STEP_UP_LABEL[a.step_up];
  const identity =
    a.identity === 'sso' && a.amr !== null && a.amr.length > 0
      ? `SSO (${a.amr.join(', ')})`
      : IDENTITY_LABEL[a.identity];
  return [a.level, a.channel, step ?? identity].join(' · ');
}

/**
 * What a refused answer is told: the level it reached, the one needed, and how to step up from
 * where the person is. Channels add the dashboard link where they can show one.
 */
export function stepUpAdvice(a: Assurance, required: AssuranceLevel, totpEnrolled: boolean): string {
  const head = `Approving this needs assurance ${required}; this answer was ${a.level} (${describeAssurance(a)}).`;
  if (required === 'A3') return `${head} Approve it in the ony dashboard with a passkey.`;
  if (a.channel === 'web')
    return totpEnrolled
      ? `${head} Send your TOTP code with the decision (\`totp\`) or approve with a passkey (\`passkey\`), or sign in again with a second factor.`
      : `${head} Enrol TOTP on your account page and send its code with the decision, or approve with a passkey (\`passkey\`), or sign in again with a second factor or single sign-on with MFA.`;
  return totpEnrolled
    ? `${head} Answer with your TOTP code, or decide in the ony dashboard.`
    : `${head} Enrol TOTP in ony to approve from here, or decide in the ony dashboard after signing in with a second factor.`;
}
