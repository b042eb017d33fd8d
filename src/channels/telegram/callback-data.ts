/**
 * The `callback_data` of a decision button. Telegram allows 1-64 bytes, so the handoff id (a UUID)
 * travels as the base64url of its 16 bytes (22 characters) and the option id as it is (handoff
 * option ids match `^[a-z0-9_-]{1,32}$`): `d:<22>:<option>` is at most 57 bytes. Pure.
 *
 * The data is not a credential: whoever taps the button is checked by `ChannelActions.decide`
 * (linked identity, org, role, step-up). Decoding is strict so garbage never reaches the service.
 */
export const CALLBACK_DATA_MAX_BYTES = 64;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OPTION_RE = /^[a-z0-9_-]{1,32}$/;
const DATA_RE = /^d:([A-Za-z0-9_-]{22}):([a-z0-9_-]{1,32})$/;

export interface DecisionButton {
  readonly handoffId: string;
  readonly option: string;
}

export function encodeDecision(handoffId: string, option: string): string {
  if (!UUID_RE.test(handoffId)) throw new Error('handoff id must be a UUID');
  if (!OPTION_RE.test(option)) throw new Error('option id must match ^[a-z0-9_-]{1,32}$');
  const id = Buffer.from(handoffId.replace(/-/g, ''), 'hex').toString('base64url');
  return `d:${id}:${option}`;
}

/** The button a callback query names, or undefined when the data is not one of ours. */
export function decodeDecision(data: string): DecisionButton | undefined {
  const m = DATA_RE.exec(data);
  if (m === null) return undefined;
  const bytes = Buffer.from(m[1]!, 'base64url');
  // Only the canonical spelling: 22 characters that round-trip to the same 16 bytes.
  if (bytes.length !== 16 || bytes.toString('base64url') !== m[1]) return undefined;
  const hex = bytes.toString('hex');
  const handoffId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return { handoffId, option: m[2]! };
}
