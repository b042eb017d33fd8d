/**
 * The gist of an MCP tool call's arguments that approvers read in a handoff's summary (`ony gate`):
 * `path: "/srv/data/notes.txt", content: 412 chars (text), recursive: true`. Pure.
 *
 * Short scalars are shown quoted (cut to a few dozen characters); long or multi-line strings, objects
 * and arrays only by size and kind, so the summary never carries a document, a nested structure or a
 * payload. Values go through the redactor before they are shown (the server redacts the summary
 * again before every egress: this is the first of two locks), and an argument whose name looks secret
 * (token, password, secret, key, auth, cookie, credential…) is shown as `***` whatever its value.
 * Hidden characters (bidi controls, invisible and control characters, look-alike letters) are
 * escaped before anything is cut, and a cut never ends inside an escape, as in the server's gist.
 */
import { showHidden, trimPartialEscape } from '../hidden-characters.js';
import { redact } from '../redact/index.js';
import { classifySecretName, splitKeyWords } from '../redact/secret-names.js';

export const ARGUMENTS_GIST_LIMITS = {
  /** Arguments shown at most; the rest are counted ("and 3 more"). */
  maxArguments: 8,
  /** A string value is shown (cut to `valueMaxChars`) up to this length, else only its size. */
  shownStringMaxChars: 200,
  valueMaxChars: 60,
  nameMaxChars: 40,
  /** The whole gist: short enough to survive the chat gist's cut of the summary (600 characters). */
  maxChars: 400,
} as const;

/** Words the redactor's name rules may not call secret on their own, but an argument named so is hidden. */
const SECRET_WORDS = new Set(['key', 'auth', 'cookie', 'cookies', 'credential', 'credentials', 'pin', 'otp']);

/** True when the argument's name says its value is a secret: the value is never shown. */
export function isSecretArgumentName(name: string): boolean {
  return classifySecretName(name) !== 'none' || splitKeyWords(name).some((w) => SECRET_WORDS.has(w));
}

/** Redacted, hidden characters escaped, then cut to `max` characters (never inside an escape). */
function shown(text: string, max: number): string {
  const escaped = [...showHidden(redact(text).text)];
  return escaped.length <= max
    ? escaped.join('')
    : `${trimPartialEscape(escaped.slice(0, max - 1).join(''))}…`;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function valueGist(value: unknown): string {
  const L = ARGUMENTS_GIST_LIMITS;
  if (typeof value === 'string') {
    const length = [...value].length;
    const lines = value.split('\n').length;
    if (lines > 1) return `${plural(length, 'char', 'chars')}, ${plural(lines, 'line', 'lines')} (text)`;
    if (length > L.shownStringMaxChars) return `${plural(length, 'char', 'chars')} (text)`;
    // JSON quoting makes a quote inside the value unable to end it (no fake `", admin: true`).
    return JSON.stringify(shown(value, L.valueMaxChars));
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return shown(String(value), L.valueMaxChars);
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array of ${plural(value.length, 'item', 'items')}`;
  if (typeof value === 'object') return `object with ${plural(Object.keys(value).length, 'key', 'keys')}`;
  return typeof value;
}

/**
 * `name: value, …` for the arguments, at most `maxArguments` of them and `maxChars` in all, then
 * "and K more"; an empty string for no arguments.
 */
export function argumentsGist(args: Readonly<Record<string, unknown>>): string {
  const L = ARGUMENTS_GIST_LIMITS;
  const entries = Object.entries(args);
  const parts: string[] = [];
  let used = 0;
  for (const [name, value] of entries) {
    if (parts.length === L.maxArguments) break;
    const part = `${shown(name, L.nameMaxChars)}: ${isSecretArgumentName(name) ? '***' : valueGist(value)}`;
    const rest = entries.length - parts.length - 1;
    // Room for this part, its separator and, when arguments remain, the "and K more" after it.
    const room =
      used + (parts.length > 0 ? 2 : 0) + part.length + (rest > 0 ? ` and ${rest} more`.length : 0);
    if (room > L.maxChars) break;
    parts.push(part);
    used += (parts.length > 1 ? 2 : 0) + part.length;
  }
  const more = entries.length - parts.length;
  if (more === 0) return parts.join(', ');
  return parts.length === 0 ? `${more} arguments` : `${parts.join(', ')} and ${more} more`;
}
