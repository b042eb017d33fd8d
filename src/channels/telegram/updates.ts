/**
 * Parses a Bot API `Update` (already verified as coming from Telegram) into the few events the bot
 * acts on. Pure and strict: anything it does not understand is `ignored`, a body that is not an
 * update at all is `undefined`. Identities are the Telegram user id as a decimal string (in a
 * private chat the chat id equals it).
 */
import { decodeDecision } from './callback-data.js';

export type ChatType = 'private' | 'group' | 'supergroup' | 'channel';

export type TelegramEvent =
  | {
      readonly kind: 'decision';
      readonly updateId: number;
      readonly callbackQueryId: string;
      readonly fromId: string;
      /** The message the button sits on (absent for very old or inline messages). */
      readonly chatId: string | null;
      readonly messageId: number | null;
      readonly handoffId: string;
      readonly option: string;
    }
  | { readonly kind: 'unknown_button'; readonly updateId: number; readonly callbackQueryId: string }
  | {
      readonly kind: 'start';
      readonly updateId: number;
      readonly chatId: string;
      readonly chatType: ChatType;
      readonly fromId: string;
      /** How the person is called on Telegram (@handle, else first name), for their list of links. */
      readonly label: string;
      readonly code: string | null;
    }
  | {
      readonly kind: 'text';
      readonly updateId: number;
      readonly chatId: string;
      readonly chatType: ChatType;
      readonly fromId: string;
      readonly messageId: number;
      readonly text: string;
    }
  | { readonly kind: 'ignored'; readonly updateId: number };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const CHAT_TYPES: readonly string[] = ['private', 'group', 'supergroup', 'channel'];

function userOf(v: unknown): { id: string; label: string } | undefined {
  if (!isObj(v) || !isId(v.id) || v.is_bot === true) return undefined;
  const label =
    typeof v.username === 'string' && v.username !== ''
      ? `@${v.username}`
      : typeof v.first_name === 'string'
        ? v.first_name
        : String(v.id);
  return { id: String(v.id), label: label.slice(0, 100) };
}

function chatOf(v: unknown): { id: string; type: ChatType } | undefined {
  if (!isObj(v) || !isId(v.id) || typeof v.type !== 'string' || !CHAT_TYPES.includes(v.type))
    return undefined;
  return { id: String(v.id), type: v.type as ChatType };
}

/** `/start CODE`, `/start@MyBot CODE` or the deep link's `/start CODE`. */
const START_RE = /^\/start(?:@[A-Za-z0-9_]{1,64})?(?:\s+(\S{1,64}))?\s*$/;

export function parseUpdate(body: unknown): TelegramEvent | undefined {
  if (!isObj(body) || !isId(body.update_id)) return undefined;
  const updateId = body.update_id;
  const ignored = { kind: 'ignored', updateId } as const;

  const cq = body.callback_query;
  if (isObj(cq)) {
    if (typeof cq.id !== 'string' || cq.id === '') return ignored;
    const from = userOf(cq.from);
    if (from === undefined) return ignored;
    const button = typeof cq.data === 'string' ? decodeDecision(cq.data) : undefined;
    if (button === undefined) return { kind: 'unknown_button', updateId, callbackQueryId: cq.id };
    const msg = isObj(cq.message) ? cq.message : undefined;
    const chat = msg !== undefined ? chatOf(msg.chat) : undefined;
    return {
      kind: 'decision',
      updateId,
      callbackQueryId: cq.id,
      fromId: from.id,
      chatId: chat?.id ?? null,
      messageId: msg !== undefined && isId(msg.message_id) ? msg.message_id : null,
      handoffId: button.handoffId,
      option: button.option,
    };
  }

  const msg = body.message;
  if (isObj(msg)) {
    const from = userOf(msg.from);
    const chat = chatOf(msg.chat);
    if (from === undefined || chat === undefined || !isId(msg.message_id) || typeof msg.text !== 'string')
      return ignored;
    const start = START_RE.exec(msg.text);
    if (start !== null) {
      return {
        kind: 'start',
        updateId,
        chatId: chat.id,
        chatType: chat.type,
        fromId: from.id,
        label: from.label,
        code: start[1] ?? null,
      };
    }
    return {
      kind: 'text',
      updateId,
      chatId: chat.id,
      chatType: chat.type,
      fromId: from.id,
      messageId: msg.message_id,
      text: msg.text.slice(0, 4096),
    };
  }
  return ignored;
}
