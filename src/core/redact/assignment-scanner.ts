/**
 * `.env`, YAML, JSON, TOML, properties and code assignments to secret-named keys:
 * `DB_PASSWORD=…`, `"apiKey": "…"`, `client_secret: …`, `spring.datasource.password=…`,
 * and the Kubernetes `- name: DB_PASSWORD` / `value: …` pair.
 * Strongly named keys (password, token, secret…) redact any real-looking value; weakly named keys
 * (key, auth, signature, salt…) only high-entropy values (type `generic-high-entropy`).
 */
import { shannonEntropy } from './checksums.js';
import { classifySecretName, isPlaceholderValue } from './secret-names.js';
import type { RedactionFinding } from './secret-types.js';

/**
 * `key =`, `"key":`, `key =>`, `key :=`, and the Makefile / PHP forms `KEY ?=`, `KEY +=`, `KEY ::=`,
 * `$key .=`; the value is read by VALUE from where this ends.
 */
const KEY_AND_SEPARATOR =
  /(?<![A-Za-z0-9_.-])([A-Za-z_][A-Za-z0-9_.-]{0,79})(["']?)[ \t]{0,8}(:{1,3}=|[?+.]=|=>|=(?![=~>])|:(?![:=]))[ \t]{0,8}/g;

/** Cheap pre-check before the full key-name classification. */
const MAYBE_SECRET_NAME =
  /pass|pw|secret|token|key|auth|cred|sig|salt|hmac|cookie|session|dsn|seed|otp|sas|conn|priv/i;

/** A quoted (with escapes) or bare value; sticky, applied only after a secret-named key. */
const VALUE = new RegExp(
  String.raw`(?:"((?:[^"\\\n]|\\.){0,512})"|'((?:[^'\\\n]|\\.){0,512})'|` +
    '`([^`\\n]{0,512})`' +
    String.raw`|([^\s"'` +
    '`' +
    String.raw`,;)}\]]{1,512}))`,
  'yd',
);

/** A YAML block scalar indicator (`key: |`, `key: >-`): the value is on the next, indented line. */
const BLOCK_SCALAR = /^[|>][-+]?[0-9]?$/;

/** The first word of the next line after a block scalar indicator; sticky, read at the indicator's end. */
const NEXT_LINE_VALUE = /[ \t]{0,8}\r?\n[ \t]{1,40}([^\s]{1,512})/dy;

/** `<dbPassword>value</dbPassword>` (XML configuration, Maven settings, .NET app.config). */
const XML_ELEMENT =
  /<([A-Za-z_][A-Za-z0-9_.:-]{0,79})>[ \t]{0,8}(?:\r?\n[ \t]{0,40})?([^<>\s]{1,512})[ \t]{0,8}(?:\r?\n[ \t]{0,40})?<\/\1>/dg;

/** `- name: DB_PASSWORD` followed by `value: …` on the next line (Kubernetes env, Compose). */
const NAME_VALUE_PAIR = new RegExp(
  String.raw`(?<![A-Za-z0-9_])name:[ \t]{0,4}["']?([A-Za-z_][A-Za-z0-9_.\-]{0,79})["']?[ \t]{0,4}\r?\n[+\- ]?[ \t]{0,40}value:[ \t]{0,4}(?:"((?:[^"\\\n]|\\.){1,512})"|'([^'\n]{1,512})'|([^\s"']{1,512}))`,
  'gd',
);

const TYPE_KEYWORDS =
  /^(?:string|str|number|int|integer|float|bool|boolean|bytes|any|object|unknown|void|never|optional|char|text|varchar|secret|secretstr|password|token)(?:\[\])?[?!]?$/i;

function isUpperSnake(key: string): boolean {
  return /^[A-Z0-9_.-]+$/.test(key) && /[A-Z]/.test(key);
}

/** A value that is code, not data: member access, calls, indexing. */
function looksLikeCode(value: string): boolean {
  return (
    /[()[\]{}]/.test(value) ||
    /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(value) ||
    /^(?:await|new|this|self|function|lambda|async|typeof|require)\b/.test(value)
  );
}

function looksLikePathOrUrl(value: string): boolean {
  return /^(?:\.{0,2}\/|~\/|[A-Za-z]:\\|[a-z][a-z0-9+.-]*:\/\/)/.test(value);
}

function isHighEntropy(value: string): boolean {
  if (value.length < 16) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(value)).length;
  if (classes < 2) return false;
  // UUIDs are identifiers far more often than secrets under weak names (`key: <uuid>`).
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) return false;
  return shannonEntropy(value) >= 3.5;
}

function acceptValue(
  key: string,
  separator: string,
  value: string,
  quoted: boolean,
): 'strong' | 'weak' | undefined {
  const strength = classifySecretName(key);
  if (strength === 'none') return undefined;
  if (isPlaceholderValue(value)) return undefined;
  if (value.toLowerCase() === key.toLowerCase()) return undefined;
  if (!quoted) {
    if (looksLikeCode(value) || looksLikePathOrUrl(value) || TYPE_KEYWORDS.test(value)) return undefined;
    // `password = other_variable` in code; .env keys are UPPER_SNAKE and YAML uses ':'.
    if (
      /^[A-Za-z_][A-Za-z0-9_]*$/.test(value) &&
      !/[0-9]/.test(value) &&
      separator !== ':' &&
      !isUpperSnake(key)
    ) {
      return undefined;
    }
    if (/^-?\d{1,6}(?:\.\d+)?$/.test(value)) return undefined; // max_tokens: 4096, ttl: 3600
  }
  if (strength === 'weak') return isHighEntropy(value) ? 'weak' : undefined;
  if (value.length < 3) return undefined;
  return 'strong';
}

function valueGroup(
  match: RegExpExecArray,
  first: number,
  last: number,
): { index: number; quoted: boolean } | undefined {
  for (let g = first; g <= last; g++) {
    if (match[g] !== undefined) return { index: g, quoted: g !== last };
  }
  return undefined;
}

export function scanAssignments(text: string): RedactionFinding[] {
  const findings: RedactionFinding[] = [];
  const keys = new RegExp(KEY_AND_SEPARATOR.source, 'g');
  const values = new RegExp(VALUE.source, 'yd');
  let match: RegExpExecArray | null;
  while ((match = keys.exec(text)) !== null) {
    // Only secret-named keys get their value read: every other `key = value` costs one key match.
    if (!MAYBE_SECRET_NAME.test(match[1]!) || classifySecretName(match[1]!) === 'none') continue;
    values.lastIndex = keys.lastIndex;
    const value = values.exec(text);
    if (value === null) continue;
    const group = valueGroup(value, 1, 4);
    if (group === undefined) continue;
    let span = value.indices![group.index]!;
    let valueText = value[group.index]!;
    if (!group.quoted && match[3] === ':' && BLOCK_SCALAR.test(valueText)) {
      const next = new RegExp(NEXT_LINE_VALUE.source, 'dy');
      next.lastIndex = span[1];
      const line = next.exec(text);
      if (line === null) continue;
      span = line.indices![1]!;
      valueText = line[1]!;
    }
    const verdict = acceptValue(match[1]!, match[3]!, valueText, group.quoted);
    if (verdict !== undefined) {
      findings.push({
        type: verdict === 'strong' ? 'secret-assignment' : 'generic-high-entropy',
        start: span[0],
        end: span[1],
      });
      keys.lastIndex = span[1];
    } else if (span[1] - span[0] > 128) {
      // A long rejected value is not rescanned for keys inside it: that keeps `sig=sig=sig=…`
      // linear with a small constant (each value is read at most once at full length).
      keys.lastIndex = span[1];
    }
  }
  const elements = new RegExp(XML_ELEMENT.source, XML_ELEMENT.flags);
  while ((match = elements.exec(text)) !== null) {
    // Only strong names: `<key>` in a plist names an entry, it does not hold a value.
    if (!MAYBE_SECRET_NAME.test(match[1]!) || classifySecretName(match[1]!) !== 'strong') continue;
    const verdict = acceptValue(match[1]!, ':', match[2]!, true);
    const span = match.indices![2]!;
    if (verdict !== undefined) {
      findings.push({
        type: verdict === 'strong' ? 'secret-assignment' : 'generic-high-entropy',
        start: span[0],
        end: span[1],
      });
    }
  }
  const pairs = new RegExp(NAME_VALUE_PAIR.source, NAME_VALUE_PAIR.flags);
  while ((match = pairs.exec(text)) !== null) {
    const group = valueGroup(match, 2, 4);
    if (group === undefined) continue;
    const verdict = acceptValue(match[1]!, ':', match[group.index]!, group.quoted);
    const span = match.indices![group.index]!;
    if (verdict !== undefined) {
      findings.push({
        type: verdict === 'strong' ? 'secret-assignment' : 'generic-high-entropy',
        start: span[0],
        end: span[1],
      });
    }
  }
  return findings;
}
