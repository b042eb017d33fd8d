/**
 * What the CLI prints of text that an agent (or an approver) wrote goes through here, so a terminal
 * never applies it: bidi controls (a right-to-left override that makes `exe.gnp` read `png.exe`),
 * invisible characters, look-alike letters in Latin words, and control characters (escape
 * sequences that would recolour, move the cursor or retitle the terminal) are shown as visible
 * escapes (`⟨U+202E⟩`). Pure.
 */
import { findHiddenCharacters, showHidden } from '../core/hidden-characters.js';

/** Text for a terminal: hidden characters shown as `⟨U+202E⟩`; tabs and newlines kept. */
export function forTerminal(text: string): string {
  return showHidden(text);
}

/** One line for a terminal: hidden characters shown, line breaks and tabs made spaces. */
export function oneLineForTerminal(text: string): string {
  return forTerminal(text)
    .replace(/[\t\n\r]+/g, ' ')
    .trim();
}

/**
 * JSON for a terminal: the same JSON value, with every hidden character inside its strings written
 * as a `\uXXXX` escape (a program reading it gets the exact text back; a person sees the escape).
 */
export function jsonForTerminal(value: unknown, indent?: number): string {
  const json = JSON.stringify(value, null, indent);
  let out = '';
  let last = 0;
  for (const h of findHiddenCharacters(json, Number.MAX_SAFE_INTEGER)) {
    const ch = String.fromCodePoint(h.codePoint);
    out += json.slice(last, h.index);
    for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
    last = h.index + ch.length;
  }
  return out + json.slice(last);
}
