/**
 * Multi-line private keys: PEM (`-----BEGIN … PRIVATE KEY-----`), OpenSSH and PGP private key blocks,
 * whether raw, prefixed by diff markers (`+`), or JSON-escaped with literal `\n` (GCP service-account
 * files). A block without its END line (truncated output) is redacted up to where the base64 stops.
 * Public keys and certificates are left alone.
 *
 * Linear: BEGIN and END markers are each found in one pass; each BEGIN is paired with the next END
 * by a moving pointer, and scanning resumes after every redacted block.
 */
import type { RedactionFinding, SecretType } from './secret-types.js';

const BEGIN = /-----BEGIN ([A-Z0-9 ]{1,64})-----/g;
const END = /-----END ([A-Z0-9 ]{1,64})-----/g;
const TRUNCATED_BODY = /(?:[A-Za-z0-9+/=\r\n\t ]|\\[nr])*/y;
const GCP_CONTEXT = /"private_key"[ \t]{0,4}:[ \t]{0,4}"$/;

interface Marker {
  readonly start: number;
  readonly end: number;
  readonly label: string;
}

function markers(text: string, pattern: RegExp): Marker[] {
  const out: Marker[] = [];
  const re = new RegExp(pattern.source, 'g');
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    out.push({ start: m.index, end: m.index + m[0].length, label: m[1]! });
    // Resume right after this marker's start, not its end: a bogus marker such as
    // `-----BEGIN  -----BEGIN PGP PRIVATE KEY BLOCK-----` must not swallow the real one behind it.
    // Still linear: every match starts with a literal `-----` and its label is at most 64 characters.
    re.lastIndex = m.index + 1;
  }
  return out;
}

function typeFor(label: string, text: string, start: number): SecretType {
  if (label.includes('OPENSSH')) return 'openssh-private-key';
  if (label.includes('PGP')) return 'pgp-private-key';
  if (GCP_CONTEXT.test(text.slice(Math.max(0, start - 40), start))) return 'gcp-service-account-key';
  return 'private-key';
}

export function scanPrivateKeyBlocks(text: string): RedactionFinding[] {
  if (!text.includes('-----BEGIN ')) return [];
  const begins = markers(text, BEGIN);
  const ends = markers(text, END);
  const findings: RedactionFinding[] = [];
  let endIndex = 0;
  let resumeAt = 0;
  for (let i = 0; i < begins.length; i++) {
    const begin = begins[i]!;
    if (begin.start < resumeAt || !begin.label.includes('PRIVATE KEY')) continue;
    while (endIndex < ends.length && ends[endIndex]!.start < begin.end) endIndex++;
    const end = ends[endIndex];
    const nextBegin = begins[i + 1];
    let stop: number;
    if (end !== undefined && (nextBegin === undefined || end.start < nextBegin.start)) {
      stop = end.end;
    } else {
      TRUNCATED_BODY.lastIndex = begin.end;
      TRUNCATED_BODY.exec(text);
      stop = TRUNCATED_BODY.lastIndex;
      while (stop > begin.end && /\s/.test(text[stop - 1]!)) stop--;
    }
    findings.push({ type: typeFor(begin.label, text, begin.start), start: begin.start, end: stop });
    resumeAt = stop;
  }
  return findings;
}
