/**
 * Reads every text field as text a human will read: secrets (anything the redactor would hide) and
 * hidden characters (bidi controls, invisible and control characters, look-alike letters; Trojan
 * Source). Hidden characters in prose (title, summary, context) are medium; in the payload or the
 * target, which may run, they are high; ANSI colour codes alone in a payload (logs are full of them)
 * stay medium.
 */
import { findHiddenCharacters, escapeCodePoint } from '../../hidden-characters.js';
import { redact } from '../../redact/index.js';
import type { FindingSink } from '../findings.js';
import type { RiskInput } from '../types.js';

/** ANSI SGR sequences (`ESC[31m`): colour in logs, not a way to hide what runs. */
// eslint-disable-next-line no-control-regex -- ESC is what an ANSI colour code starts with
const ANSI_COLOUR = /\u001b\[[0-9;]{0,32}m/g;

export function textFields(input: RiskInput): Array<readonly [string, string, 'prose' | 'runs']> {
  const fields: Array<readonly [string, string, 'prose' | 'runs']> = [
    ['title', input.title, 'prose'],
    ['summary', input.summary, 'prose'],
  ];
  if (input.action.target !== undefined) fields.push(['target', input.action.target, 'runs']);
  for (const [key, value] of Object.entries(input.context ?? {}))
    if (typeof value === 'string') fields.push([`context.${key}`, value, 'prose']);
  if (input.payload !== undefined) fields.push(['payload', input.payload.content, 'runs']);
  return fields;
}

export function analyseText(input: RiskInput, out: FindingSink): void {
  for (const [where, text, role] of textFields(input)) {
    if (text.length === 0) continue;
    const secrets = redact(text).findings;
    if (secrets.length > 0)
      out.add('secret_in_payload', `${where}: ${[...new Set(secrets.map((f) => f.type))].join(', ')}`);
    const hidden = findHiddenCharacters(text, 8);
    if (hidden.length === 0) continue;
    const onlyColour =
      text.includes('\u001b') && findHiddenCharacters(text.replace(ANSI_COLOUR, ''), 1).length === 0;
    out.add(
      'hidden_characters',
      `${where}: ${[...new Set(hidden.map((h) => escapeCodePoint(h.codePoint)))].slice(0, 4).join(' ')}`,
      role === 'runs' && !onlyColour ? 'high' : 'medium',
    );
  }
}
