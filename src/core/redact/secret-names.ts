/**
 * Deciding whether a key name (`DB_PASSWORD`, `apiKey`, `spring.datasource.password`) names a
 * secret, and whether a value is a placeholder rather than a secret (`${TOKEN}`, `<password>`, `***`).
 */

export type SecretNameStrength = 'strong' | 'weak' | 'none';

/** Splits `someAPIKey_value.v2` into `['some', 'api', 'key', 'value', 'v2']`. */
export function splitKeyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/** A single word that on its own names a secret (substring match, so `pgpassword` counts). */
const STRONG_SUBSTRINGS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'accesskey',
  'privatekey',
  'secretkey',
  'credential',
  'authorization',
] as const;

/** Exact words that name a secret. */
const STRONG_WORDS = new Set(['pwd', 'pass', 'pw', 'creds', 'dbpass', 'authkey', 'masterkey', 'signingkey']);

/** Words that look secret-ish by substring but are not (`max_tokens`, `tokenizer`). */
const NOT_SECRET_WORDS = new Set([
  'tokenizer',
  'tokenize',
  'tokenized',
  'tokens',
  'tokenizers',
  'secretary',
  'passwordless',
  'secrets',
]);

/** `<qualifier>_key` pairs that name a secret key. */
const KEY_QUALIFIERS = new Set([
  'api',
  'access',
  'secret',
  'private',
  'auth',
  'signing',
  'encryption',
  'encrypt',
  'master',
  'client',
  'app',
  'account',
  'service',
  'license',
  'webhook',
  'storage',
  'shared',
  'session',
  'admin',
  'root',
  'deploy',
  'cipher',
  'crypt',
  'crypto',
  'jwt',
  'hmac',
  'aes',
  'bot',
  'consumer',
  'subscription',
  'primary',
  'secondary',
  'sas',
  'live',
  'prod',
  'write',
  'read',
  'ingest',
  'license',
  'server',
  'sign',
]);

/** Trailing words allowed after the secret word (`SECRET_KEY_BASE`, `api_key_value`). */
const ALLOWED_SUFFIXES = new Set([
  'value',
  'base',
  'b64',
  'base64',
  'hex',
  'raw',
  'plain',
  'str',
  'string',
  'v1',
  'v2',
  'v3',
  '1',
  '2',
  '3',
]);

/** Words before the secret word that make it not a secret (`public_key`, `max_tokens`). */
const DISQUALIFYING_PREFIXES = new Set([
  'public',
  'pub',
  'publishable',
  'max',
  'min',
  'num',
  'count',
  'csrf_param',
]);

/** Weak words: a secret only when the value is also high-entropy. */
const WEAK_WORDS = new Set([
  'key',
  'auth',
  'private',
  'signature',
  'sig',
  'salt',
  'hmac',
  'cookie',
  'session',
  'dsn',
  'seed',
  'otp',
  'cred',
  'license',
  'sas',
  'conn',
]);

function isStrongWord(word: string): boolean {
  if (NOT_SECRET_WORDS.has(word)) return false;
  if (STRONG_WORDS.has(word)) return true;
  return STRONG_SUBSTRINGS.some((s) => word.includes(s));
}

/**
 * `strong`: the key certainly names a secret (password, token, api key, client secret…).
 * `weak`: it may (key, auth, signature, salt…): redact only high-entropy values.
 */
export function classifySecretName(key: string): SecretNameStrength {
  const cached = classificationCache.get(key);
  if (cached !== undefined) return cached;
  const strength = classifyUncached(key);
  // A bounded memo: same answer either way, so this keeps the function pure in effect.
  if (classificationCache.size >= 4096) classificationCache.clear();
  classificationCache.set(key, strength);
  return strength;
}

const classificationCache = new Map<string, SecretNameStrength>();

function classifyUncached(key: string): SecretNameStrength {
  const words = splitKeyWords(key);
  let end = words.length;
  while (end > 1 && ALLOWED_SUFFIXES.has(words[end - 1]!)) end--;
  const last = words[end - 1];
  if (last === undefined) return 'none';
  const before = words.slice(0, end - 1);
  if (before.some((w) => DISQUALIFYING_PREFIXES.has(w))) return 'none';
  if (isStrongWord(last)) return 'strong';
  if (last === 'key' && before.length > 0 && KEY_QUALIFIERS.has(before[before.length - 1]!)) return 'strong';
  if (last === 'key' && before.some((w) => isStrongWord(w))) return 'strong';
  if (WEAK_WORDS.has(last)) return 'weak';
  return 'none';
}

const PLACEHOLDER_WORDS = new Set([
  'null',
  'none',
  'nil',
  'undefined',
  'true',
  'false',
  'empty',
  'changeme',
  'change_me',
  'changeit',
  'redacted',
  'hidden',
  'secret',
  'password',
  'placeholder',
  'todo',
  'tbd',
  'dummy',
  'sample',
  'example',
  'required',
  'optional',
  'string',
  'str',
  'number',
  'int',
  'integer',
  'bool',
  'boolean',
  'bytes',
  'any',
  'object',
  'unknown',
  'void',
  'bearer',
  'basic',
  'token',
  'digest',
]);

/** True for template references, type names, masked or example values: not secrets. */
export function isPlaceholderValue(value: string): boolean {
  const v = value.trim();
  if (v.length === 0) return true;
  if (/^(?:\$\{|\$\(|\$[A-Za-z_]|\{\{|%\(|#\{|<[^<>]*>$|\[REDACTED|%[sdv]$|@Value\()/.test(v)) return true;
  if (
    /^(?:process\.env|import\.meta\.env|os\.environ|os\.getenv|getenv|env\(|ENV\[|secrets\.|System\.getenv|vault:|ref\+|!Ref|!Sub|arn:aws)/.test(
      v,
    )
  )
    return true;
  const lower = v.toLowerCase();
  if (PLACEHOLDER_WORDS.has(lower)) return true;
  if (/^(?:your|my|insert|enter|replace|put|add)[-_ ]?(?:own[-_ ]?)?[a-z_-]*$/.test(lower)) return true;
  if (/^(?:x+|\*+|\.+|-+|_+|#+|•+|0+)$/i.test(v)) return true;
  if (/^(.)\1*$/.test(v)) return true;
  if (/^(?:xxx|\*\*\*)/i.test(v) && /^[x*._-]+/i.test(v) && /(?:x{3}|\*{3})$/i.test(v)) return true;
  return false;
}
