/**
 * Characters a human cannot see but a machine acts on (Trojan Source, CVE-2021-42574): bidi
 * controls, zero-width and other invisible format characters, C0/C1 controls other than tab, newline
 * and carriage return, Unicode tag characters, and letters of another script hidden inside a Latin
 * word (`rм -rf`, Cyrillic м). `findHiddenCharacters` reports them; `showHidden` rewrites them as
 * visible escapes (`⟨U+202E⟩`) so that what a human reads is what runs. Pure.
 *
 * Three forms of escape, one per kind of surface (docs/handoffs.md "Hidden characters"):
 * - `visible` `⟨U+202E⟩`: screens (dashboard, Slack, Telegram, email, the CLI);
 * - `ascii` `<U+202E>`: SMS, where `⟨` and `⟩` are not GSM-7 and would arrive as `?`;
 * - `speech` ` (hidden character) ` / ` (look-alike letter) `: phone calls, where a code point read
 *   aloud says nothing and an invisible character says nothing at all.
 */

/* eslint-disable no-control-regex, no-misleading-character-class -- matching control and combining
   characters one by one is this module's whole purpose. */

export type HiddenKind = 'bidi' | 'invisible' | 'control' | 'confusable';

export interface HiddenCharacter {
  readonly kind: HiddenKind;
  /** The code point, e.g. 0x202e. */
  readonly codePoint: number;
  /** UTF-16 index in the text. */
  readonly index: number;
}

/** Bidi embeddings, overrides and isolates (U+202A–202E, U+2066–2069) and the implicit marks. */
const BIDI = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/;
/**
 * Zero-width and other invisible format characters: ZWSP/ZWNJ/ZWJ, word joiner and invisible
 * operators, BOM, soft hyphen, Mongolian vowel separator, combining grapheme joiner, Hangul fillers,
 * line/paragraph separators, tag characters (ASCII smuggling) and the supplementary variation selectors.
 */
const INVISIBLE =
  /[\u200B-\u200D\u2060-\u2064\uFEFF\u00AD\u180E\u034F\u115F\u1160\u3164\uFFA0\u2028\u2029\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/u;
/** C0 controls except tab, newline and carriage return; DEL; C1 controls. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

const ANY =
  /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u200B-\u200D\u2060-\u2064\uFEFF\u00AD\u180E\u034F\u115F\u1160\u3164\uFFA0\u2028\u2029\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/gu;

/** A word that mixes Latin letters with Cyrillic, Greek or Armenian ones (look-alikes of Latin). */
const MIXED_WORD = /[\p{L}\p{M}\p{N}_-]+/gu;
const LATIN = /\p{Script=Latin}/u;
const LOOKALIKE = /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}]/u;
const LOOKALIKE_G = /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}]/gu;

function kindOf(ch: string): HiddenKind {
  if (BIDI.test(ch)) return 'bidi';
  if (INVISIBLE.test(ch)) return 'invisible';
  if (CONTROL.test(ch)) return 'control';
  return 'invisible';
}

/** Every hidden character (at most `limit`, default 64), in text order. */
export function findHiddenCharacters(text: string, limit = 64): HiddenCharacter[] {
  const found: HiddenCharacter[] = [];
  for (const m of text.matchAll(ANY)) {
    found.push({ kind: kindOf(m[0]), codePoint: m[0].codePointAt(0)!, index: m.index });
    if (found.length >= limit) return found;
  }
  for (const w of text.matchAll(MIXED_WORD)) {
    if (!LATIN.test(w[0]) || !LOOKALIKE.test(w[0])) continue;
    for (const c of w[0].matchAll(LOOKALIKE_G)) {
      found.push({ kind: 'confusable', codePoint: c[0].codePointAt(0)!, index: w.index + c.index });
      if (found.length >= limit) break;
    }
    if (found.length >= limit) break;
  }
  return found.sort((a, b) => a.index - b.index);
}

/** True when the text holds anything `findHiddenCharacters` would report. */
export function hasHiddenCharacters(text: string): boolean {
  return findHiddenCharacters(text, 1).length > 0;
}

/** How an escape is written: see the module comment. */
export type EscapeForm = 'visible' | 'ascii' | 'speech';

const SPOKEN: Readonly<Record<'hidden' | 'confusable', string>> = {
  hidden: ' (hidden character) ',
  confusable: ' (look-alike letter) ',
};

/** `⟨U+202E⟩` (or `<U+202E>` in the ASCII form): the escape of a code point. */
export function escapeCodePoint(codePoint: number, form: Exclude<EscapeForm, 'speech'> = 'visible'): string {
  const hex = codePoint.toString(16).toUpperCase().padStart(4, '0');
  return form === 'ascii' ? `<U+${hex}>` : `⟨U+${hex}⟩`;
}

function escapeOf(ch: string, kind: 'hidden' | 'confusable', form: EscapeForm): string {
  return form === 'speech' ? SPOKEN[kind] : escapeCodePoint(ch.codePointAt(0)!, form);
}

/**
 * The text with every hidden character, and every look-alike letter inside a mixed-script word,
 * replaced by its escape (`visible` by default). Tab, newline and carriage return are kept.
 * Idempotent on its output.
 */
export function showHidden(text: string, form: EscapeForm = 'visible'): string {
  const escaped = text.replace(ANY, (ch) => escapeOf(ch, 'hidden', form));
  return escaped.replace(MIXED_WORD, (word) =>
    LATIN.test(word) && LOOKALIKE.test(word)
      ? word.replace(LOOKALIKE_G, (ch) => escapeOf(ch, 'confusable', form))
      : word,
  );
}

/** The start of an escape cut off at the end of a text: `⟨U+20`, `<U`, ` (hidden cha`. */
const PARTIAL_ESCAPE = /(?:[⟨<](?:U(?:\+[0-9A-F]{0,6})?)?|\([a-z -]{0,17})$/u;

/**
 * For code that cuts text to a length: the cut text without an escape cut in half at its end, so a
 * reader never gets `⟨U+20…` (which says nothing) where a hidden character was. Text that does not
 * end in the start of an escape comes back as it is.
 */
export function trimPartialEscape(text: string): string {
  const m = PARTIAL_ESCAPE.exec(text);
  if (m === null) return text;
  if (m[0].startsWith('(') && !Object.values(SPOKEN).some((w) => w.trim().startsWith(m[0]))) return text;
  return text.slice(0, m.index);
}
