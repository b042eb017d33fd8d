/** GSM 03.38 (GSM-7): which characters an SMS can carry in one 7-bit septet, which take two. */
import { trimPartialEscape } from '../hidden-characters.js';

const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const EXTENDED = '^{}\\[~]|€';
const BASIC_SET = new Set(BASIC);
const EXTENDED_SET = new Set(EXTENDED);

const TRANSLITERATIONS: Readonly<Record<string, string>> = {
  '‘': "'",
  '’': "'",
  '‚': "'",
  '“': '"',
  '”': '"',
  '„': '"',
  '–': '-',
  '—': '-',
  '−': '-',
  '…': '...',
  '•': '*',
  '·': '-',
  '→': '->',
  '←': '<-',
  '×': 'x',
  '\t': ' ',
  '`': "'",
};

/** Septets the character takes in GSM-7 (0 when it cannot be sent as GSM-7). */
export function gsm7Septets(ch: string): number {
  if (BASIC_SET.has(ch)) return 1;
  if (EXTENDED_SET.has(ch)) return 2;
  return 0;
}

export function gsm7Length(text: string): number {
  let n = 0;
  for (const ch of text) n += gsm7Septets(ch);
  return n;
}

/** Rewrites text into GSM-7 only: common punctuation transliterated, accents dropped, the rest `?`. */
export function toGsm7(text: string): string {
  let out = '';
  for (const ch of text) {
    if (gsm7Septets(ch) > 0) {
      out += ch;
      continue;
    }
    const mapped = TRANSLITERATIONS[ch];
    if (mapped !== undefined) {
      out += mapped;
      continue;
    }
    const stripped = ch.normalize('NFD').replace(/\p{M}+/gu, '');
    out += stripped.length > 0 && [...stripped].every((c) => gsm7Septets(c) > 0) ? stripped : '?';
  }
  return out;
}

/**
 * Cuts GSM-7 text to at most `max` septets, ending with `...` when cut; a hidden character's escape
 * (`<U+202E>`) is kept whole or left out, never cut in half.
 */
export function truncateGsm7(text: string, max: number): string {
  if (gsm7Length(text) <= max) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const n = gsm7Septets(ch);
    if (used + n > max - 3) break;
    out += ch;
    used += n;
  }
  return `${trimPartialEscape(out).trimEnd()}...`;
}
