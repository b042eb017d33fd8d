/**
 * A channel adapter (DESIGN.md §5.2): sends a gist to people and never touches the database; the
 * service records what it answers. Each adapter declares the fields it transmits, so a test can
 * assert that nothing else leaves (DESIGN.md §3.3) and the docs can list them.
 */
import type { Gist } from '../core/gist/index.js';

/** Everything an adapter may transmit; there is no field for the payload or the raw command. */
export interface OutboundMessage {
  readonly shortCode: string;
  readonly actionType: string;
  readonly riskLevel: string;
  /** Redacted and bounded. */
  readonly title: string;
  readonly gist: Gist;
  /** Where a human can decide (dashboard link). */
  readonly link: string;
}

export type TransmittedField = keyof OutboundMessage;

export interface SendResult {
  /** The provider's message id, if any (to update the message after the decision). */
  readonly messageId: string | null;
}

export interface ChannelAdapter {
  readonly name: string;
  readonly transmits: readonly TransmittedField[];
  send(
    message: OutboundMessage,
    recipients: readonly { readonly memberId: string; readonly name: string }[],
  ): Promise<SendResult>;
}
