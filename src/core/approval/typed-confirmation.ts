/**
 * The deliberate confirmation of a critical approval (pure): on the web, approving a critical
 * handoff needs its short code typed by the approver, on top of any step-up the assurance policy
 * asks for. It slows down the one click that matters most; it proves nothing about who clicked
 * (that is the step-up's job). Channels answer with the code already (SMS reply codes, Slack and
 * Telegram buttons under a message naming it), so only the web asks for it.
 */
import type { RiskLevel } from '../risk/index.js';
import type { DecisionChannel } from './assurance.js';

export type TypedConfirmation = 'not_needed' | 'ok' | 'missing' | 'wrong';

/** Case, surrounding spaces and the separators people type (`AB-CD 23`) do not matter. */
const normalise = (code: string) => code.replace(/[\s-]+/g, '').toUpperCase();

export function typedConfirmation(
  h: { readonly riskLevel: RiskLevel; readonly shortCode: string },
  vote: {
    readonly approving: boolean;
    readonly channel: DecisionChannel;
    readonly typed: string | undefined;
  },
): TypedConfirmation {
  if (!vote.approving || vote.channel !== 'web' || h.riskLevel !== 'critical') return 'not_needed';
  if (vote.typed === undefined || vote.typed.trim() === '') return 'missing';
  return normalise(vote.typed) === normalise(h.shortCode) ? 'ok' : 'wrong';
}
