/**
 * Characters a human cannot see but a machine acts on (Trojan Source, CVE-2021-42574): bidi
 * controls, zero-width and other invisible format characters, C0/C1 controls other than tab, newline
 * and carriage return, Unicode tag characters, and letters of another script hidden inside a Latin
 * word (`rм -rf`, Cyrillic м). `findHiddenCharacters` reports them; `showHidden` rewrites them as
 * visible escapes (`⟨U+202E⟩`) so that what a human reads is what runs. Pure.
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

/** `⟨U+202E⟩`: the visible escape of a code point. */
export function escapeCodePoint(codePoint: number): string {
  return `⟨U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}⟩`;
}

/**
 * The text with every hidden character, and every look-alike letter inside a mixed-script word,
 * replaced by its visible escape. Tab, newline and carriage return are kept. Idempotent on its output.
 */
export function showHidden(text: string): string {
  const escaped = text.replace(ANY, (ch) => escapeCodePoint(ch.codePointAt(0)!));
  return escaped.replace(MIXED_WORD, (word) =>
    LATIN.test(word) && LOOKALIKE.test(word)
      ? word.replace(LOOKALIKE_G, (ch) => escapeCodePoint(ch.codePointAt(0)!))
      : word,
  );
}
