/**
 * A channel adapter (DESIGN.md §5.2): sends a gist to people, updates what it sent once the handoff
 * is decided, reports its health, and never touches the database; the service records what it
 * answers (message refs). Each adapter declares the fields it transmits, so a test can assert that
 * nothing else leaves (DESIGN.md §3.3) and the docs can list them.
 *
 * Inbound traffic (button clicks, bot commands) is verified and parsed by each provider's webhook
 * route or listener, which then calls the one `ChannelActions` service: adapters decide nothing.
 */
import type { Gist } from '../core/gist/index.js';
import type { SkipReason } from '../core/policy/attempt-outcome.js';

/** Everything an adapter may transmit; there is no field for the payload or the raw command. */
export interface OutboundMessage {
  /** Opaque id, for button values and callback data (never shown as text). */
  readonly handoffId: string;
  readonly shortCode: string;
  readonly actionType: string;
  readonly riskLevel: string;
  /** Redacted and bounded. */
  readonly title: string;
  readonly gist: Gist;
  /**
   * The optional summarizer's summary of the redacted payload (docs/summarizer.md): checked plain
   * text, 1-3 sentences, at most 300 characters. Null: none (off, failed or refused), the gist
   * alone is read. An adapter that shows it labels it (`MODEL_SUMMARY_LABEL`) and keeps the gist.
   */
  readonly summary: string | null;
  /** The answers an approver may pick (labels redacted and bounded); `deny` denies. */
  readonly options: readonly { readonly id: string; readonly label: string }[];
  /** Where a human can decide (the dashboard's page of the handoff). */
  readonly link: string;
}

export type TransmittedField = keyof OutboundMessage;

/** A member the step targets, with their verified identity on this channel (null: not linked). */
export interface Recipient {
  readonly memberId: string;
  readonly name: string;
  /** Slack `<team id>:<user id>`, Telegram chat id, phone number… as the channel links it. */
  readonly address: string | null;
}

export interface SentMessage {
  /** Who it went to (null: a shared place, like a Slack channel). */
  readonly memberId: string | null;
  /** The provider's handle of the message, opaque to the service (e.g. `C123:1700000000.000100`). */
  readonly ref: string;
}

export interface SendResult {
  /** What was posted, to be updated in place after the decision. */
  readonly messages: readonly SentMessage[];
  /** Recipients the adapter skipped on purpose, with the reason (none: everyone was sent to). */
  readonly skipped?: readonly { readonly memberId: string; readonly reason: SkipReason }[];
}

/** What an updated message says once the handoff left pending. */
export interface DecisionNotice {
  readonly handoffId: string;
  readonly shortCode: string;
  readonly actionType: string;
  readonly riskLevel: string;
  /** Redacted and bounded. */
  readonly title: string;
  readonly outcome: 'approved' | 'denied' | 'expired' | 'cancelled';
  /** The option chosen, when a person or the policy decided. */
  readonly option: string | null;
  /** The decider's display name (null: expiry, the agent, or the org's policy). */
  readonly by: string | null;
  /** The channel it was decided through (`slack`, `web`, `phone`…), null for expiry. */
  readonly via: string | null;
  readonly at: Date;
}

export interface ChannelHealth {
  readonly ok: boolean;
  /** One line for operators; never a credential. */
  readonly detail: string;
}

export interface ChannelAdapter {
  readonly name: string;
  readonly transmits: readonly TransmittedField[];
  /**
   * `directOnly`: reach only the recipients themselves, never a shared place such as a Slack channel
   * (the admin's "send test" of a channel).
   */
  send(
    message: OutboundMessage,
    recipients: readonly Recipient[],
    options?: { readonly directOnly?: boolean } & OrgContext,
  ): Promise<SendResult>;
  /** Rewrites a sent message to show the outcome (buttons removed). */
  update(ref: string, notice: DecisionNotice, options?: OrgContext): Promise<void>;
  health(options?: OrgContext): Promise<ChannelHealth>;
}

/** Why an inbound action from a channel was refused: each maps to a clear reply to the person. */
/** What an approver is told when the database cannot be reached (refusal `unavailable`). */
export const UNAVAILABLE_REPLY =
  'ony could not record your answer just now (its database is unavailable). Nothing changed; try again in a minute.';

export type InboundRefusal =
  | 'not_linked'
  | 'not_allowed'
  | 'not_found'
  | 'expired'
  | 'already_decided'
  | 'unknown_option'
  | 'totp_required'
  | 'totp_invalid'
  | 'totp_not_enrolled'
  /** The answer's assurance is below the handoff's minimum (docs/assurance.md); the message says how to step up. */
  | 'assurance_required'
  | 'invalid_code'
  /** The database could not be reached: nothing was recorded, and the same answer can be sent again. */
  | 'unavailable';

export type InboundDecision =
  | {
      readonly ok: true;
      readonly outcome: 'decided' | 'recorded' | 'replay';
      readonly status: 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';
      readonly memberName: string;
    }
  | { readonly ok: false; readonly reason: InboundRefusal; readonly message: string };

export type InboundLink =
  | { readonly ok: true; readonly memberName: string; readonly orgName: string }
  | { readonly ok: false; readonly reason: InboundRefusal; readonly message: string };

/**
 * What a verified inbound channel event may ask of ony. `identity` is the channel's own id of the
 * person, exactly as `Recipient.address` spells it.
 */
export interface ChannelActions {
  /** Decide through the one decision path, as the member linked to `identity`. */
  decide(
    channel: string,
    identity: string,
    handoffId: string,
    vote: {
      readonly option: string;
      readonly totpCode?: string | undefined;
      /** Approving needs the TOTP code whatever the policy says (an SMS approval of high risk). */
      readonly forceStepUp?: boolean;
    },
    /** The org the request was routed to (its own installation): only that org's link and handoffs count. */
    scope?: InboundScope,
  ): Promise<InboundDecision>;
  /** Links `identity` to the member who was given `code` (Telegram `/start <code>`). */
  linkWithCode(channel: string, code: string, identity: string, label: string): Promise<InboundLink>;
  /**
   * For an unlinked person: a one-time, expiring URL where a signed-in member connects `identity`
   * to their account (Slack's ephemeral "connect your account" message).
   */
  claimUrl(channel: string, identity: string, label: string, scope?: InboundScope): Promise<string>;
}

/** An inbound request routed to one org (a Slack team that org installed). */
export interface InboundScope {
  readonly orgId: string;
}

/** Which org an outbound call is for: an adapter with per-org credentials picks that org's. */
export interface OrgContext {
  readonly orgId?: string | undefined;
}
