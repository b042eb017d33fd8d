/**
 * Parses what Slack sends us after the signature was verified (an interactivity payload, over HTTP
 * as the form field `payload=` or over Socket Mode as an envelope's `payload`) into the few things
 * ony acts on. Pure; anything malformed is `undefined` (answered 400), anything well-formed that is
 * not ours (the "Open in ony" link button, other apps' views) is `ignored`.
 */
import {
  LINK_ACTION_ID,
  TOTP_ACTION_ID,
  TOTP_BLOCK_ID,
  TOTP_CALLBACK_ID,
  VOTE_ACTION_PREFIX,
} from './render.js';

/** The person, as ony names them on Slack: `<team id>:<user id>`. */
export interface SlackPerson {
  readonly identity: string;
  readonly userId: string;
  /** Their Slack handle, for their list of links. */
  readonly label: string;
}

export type SlackInteraction =
  | {
      readonly kind: 'vote';
      readonly person: SlackPerson;
      readonly handoffId: string;
      readonly option: string;
      readonly triggerId: string;
      /** Where the button was (for ephemeral replies); null when Slack did not say. */
      readonly channelId: string | null;
    }
  | {
      readonly kind: 'totp';
      readonly person: SlackPerson;
      readonly handoffId: string;
      readonly option: string;
      readonly channelId: string | null;
      /** What was typed, untrusted. */
      readonly code: string;
    }
  | { readonly kind: 'ignored'; readonly why: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, max = 500): string | undefined =>
  typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
const SLACK_ID = /^[A-Z0-9]{2,40}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OPTION = /^[a-z0-9_-]{1,32}$/;

function personOf(p: Obj): SlackPerson | undefined {
  const user = isObj(p.user) ? p.user : undefined;
  const team = isObj(p.team) ? p.team : undefined;
  const userId = str(user?.id, 40);
  const teamId = str(user?.team_id, 40) ?? str(team?.id, 40);
  if (userId === undefined || teamId === undefined) return undefined;
  if (!SLACK_ID.test(userId) || !SLACK_ID.test(teamId)) return undefined;
  const label = str(user?.username, 100) ?? str(user?.name, 100) ?? userId;
  return { identity: `${teamId}:${userId}`, userId, label };
}

function voteOf(raw: string): { handoffId: string; option: string } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isObj(v) || typeof v.h !== 'string' || typeof v.o !== 'string') return undefined;
  if (!UUID.test(v.h) || !OPTION.test(v.o)) return undefined;
  return { handoffId: v.h.toLowerCase(), option: v.o };
}

export function parseInteraction(payload: unknown): SlackInteraction | undefined {
  if (!isObj(payload)) return undefined;
  const type = str(payload.type, 64);
  if (type === 'block_actions') {
    const person = personOf(payload);
    if (person === undefined || !Array.isArray(payload.actions) || payload.actions.length === 0)
      return undefined;
    const action: unknown = payload.actions[0];
    if (!isObj(action)) return undefined;
    const actionId = str(action.action_id, 255);
    if (actionId === undefined) return undefined;
    if (actionId === LINK_ACTION_ID) return { kind: 'ignored', why: 'link button' };
    if (!actionId.startsWith(VOTE_ACTION_PREFIX)) return { kind: 'ignored', why: 'not an ony action' };
    const vote = typeof action.value === 'string' ? voteOf(action.value) : undefined;
    const triggerId = str(payload.trigger_id, 200);
    if (vote === undefined || triggerId === undefined) return undefined;
    const container = isObj(payload.container) ? payload.container : undefined;
    const channel = isObj(payload.channel) ? payload.channel : undefined;
    const channelId = str(channel?.id, 40) ?? str(container?.channel_id, 40) ?? null;
    return { kind: 'vote', person, ...vote, triggerId, channelId };
  }
  if (type === 'view_submission') {
    const person = personOf(payload);
    const view = isObj(payload.view) ? payload.view : undefined;
    if (person === undefined || view === undefined) return undefined;
    if (view.callback_id !== TOTP_CALLBACK_ID) return { kind: 'ignored', why: 'not an ony view' };
    let meta: unknown;
    try {
      meta = JSON.parse(str(view.private_metadata, 3_000) ?? '');
    } catch {
      return undefined;
    }
    if (!isObj(meta)) return undefined;
    const vote = voteOf(JSON.stringify({ h: meta.h, o: meta.o }));
    if (vote === undefined) return undefined;
    const channelId = typeof meta.c === 'string' && SLACK_ID.test(meta.c) ? meta.c : null;
    const state = isObj(view.state) && isObj(view.state.values) ? view.state.values : undefined;
    const block = state !== undefined && isObj(state[TOTP_BLOCK_ID]) ? state[TOTP_BLOCK_ID] : undefined;
    const input = block !== undefined && isObj(block[TOTP_ACTION_ID]) ? block[TOTP_ACTION_ID] : undefined;
    const code = typeof input?.value === 'string' ? input.value.slice(0, 64) : '';
    return { kind: 'totp', person, ...vote, channelId, code };
  }
  if (type !== undefined) return { kind: 'ignored', why: `type ${type}` };
  return undefined;
}

/** The form body Slack POSTs: `payload=<url-encoded JSON>`. Undefined when it is not that. */
export function payloadFromForm(rawBody: string): unknown {
  const json = new URLSearchParams(rawBody).get('payload');
  if (json === null) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}
