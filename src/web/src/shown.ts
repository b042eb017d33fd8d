/**
 * Text that an agent wrote (title, summary, target, context, payload, option labels), and anything
 * else a person or a device named, as the dashboard shows it: bidi controls, invisible and control
 * characters and look-alike letters in Latin words become visible escapes (`⟨U+202E⟩`), so a
 * right-to-left override can never make `exe.gnp` read as `png.exe` (Trojan Source). The same
 * function as every other channel (src/core/hidden-characters.ts). Pure.
 */
import { showHidden } from '../../core/hidden-characters';

/** The text with its hidden characters shown, for places that take a string (titles, attributes). */
export function shown(text: string): string {
  return showHidden(text);
}

export interface ShownPart {
  readonly text: string;
  /** An escape (`⟨U+202E⟩`) that stands for a hidden character, marked so it stands out. */
  readonly escape: boolean;
}

/** `shown(text)` cut into plain runs and escapes, in order; joined, the parts are `shown(text)`. */
export function shownParts(text: string): ShownPart[] {
  const parts: ShownPart[] = [];
  for (const piece of shown(text).split(/(⟨U\+[0-9A-F]{4,6}⟩)/u)) {
    if (piece === '') continue;
    parts.push({ text: piece, escape: /^⟨U\+[0-9A-F]{4,6}⟩$/u.test(piece) });
  }
  return parts;
}
