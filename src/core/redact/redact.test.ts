import { describe, expect, it } from 'vitest';
import { SecretGenerator } from '../../../test/fixtures/redact-corpus.js';
import { crc32, hasValidPrefixedTokenChecksum, toBase62 } from './checksums.js';
import { redact, SECRET_TYPES } from './index.js';
import { classifySecretName, isPlaceholderValue } from './secret-names.js';

const gen = new SecretGenerator(42);

describe('checksums', () => {
  it('computes the IEEE CRC-32', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
  });
  it('encodes base62 with padding', () => {
    expect(toBase62(0, 6)).toBe('000000');
    expect(toBase62(61, 2)).toBe('0z');
    expect(toBase62(62, 2)).toBe('10');
  });
  it('accepts a GitHub token only with its checksum', () => {
    const token = gen.checksummed('ghp_');
    expect(hasValidPrefixedTokenChecksum(token)).toBe(true);
    const broken = token.slice(0, 10) + (token[10] === 'a' ? 'b' : 'a') + token.slice(11);
    expect(hasValidPrefixedTokenChecksum(broken)).toBe(false);
  });
});

describe('redact', () => {
  it('finds a private key block right behind a bogus BEGIN marker (first pass, not only the second)', () => {
    const body = 'FaUlyx70T2QeYojxBnl+wl4/OIqxtZ/w1GBMJaFz5+6LGlq019+awJy6QCPaAX89';
    const key = `-----BEGIN PGP PRIVATE KEY BLOCK-----\n${body}\n-----END PGP PRIVATE KEY BLOCK-----`;
    const out = redact(`token:  -----BEGIN  ${key}`);
    expect(out.text).not.toContain(body);
    expect(out.text).toContain('[REDACTED:pgp-private-key]');
    expect(redact(out.text).text).toBe(out.text);
  });

  it('covers at least 40 secret types', () => {
    expect(SECRET_TYPES.length).toBeGreaterThanOrEqual(40);
  });

  it('replaces a secret with its typed marker and reports input offsets', () => {
    const token = gen.checksummed('ghp_');
    const text = `push with ${token} now`;
    const result = redact(text);
    expect(result.text).toBe('push with [REDACTED:github-pat] now');
    expect(result.findings).toEqual([{ type: 'github-pat', start: 10, end: 10 + token.length }]);
    expect(text.slice(result.findings[0]!.start, result.findings[0]!.end)).toBe(token);
  });

  it('does not redact a GitHub-looking token whose checksum is wrong', () => {
    expect(redact(`ghp_${'a'.repeat(36)}`).findings).toEqual([]);
  });

  it('keeps key names and URL users visible, hides only the secret part', () => {
    expect(redact('postgres://app:hunter2x@db:5432/app').text).toBe(
      'postgres://app:[REDACTED:connection-string-password]@db:5432/app',
    );
    expect(redact('DB_PASSWORD=s3cr3t-value').text).toBe('DB_PASSWORD=[REDACTED:secret-assignment]');
  });

  it('redacts multi-line private keys, including truncated ones, and leaves public keys', () => {
    const key = gen.pem('RSA PRIVATE KEY', 5);
    const truncated = key.split('\n').slice(0, 3).join('\n');
    const pub = gen.pem('PUBLIC KEY', 2);
    const out = redact(`${key}\n\n${pub}\n\n${truncated}\n$ next`).text;
    expect(out).toBe(`[REDACTED:private-key]\n\n${pub}\n\n[REDACTED:private-key]\n$ next`);
  });

  it('redacts Kubernetes Secret data values but not ConfigMap data', () => {
    const secret =
      'apiVersion: v1\nkind: Secret\ndata:\n  a: YWJjZGVm\n  b: |\n    bXVsdGk=\n    bGluZQ==\nmetadata:\n  name: s\n';
    const out = redact(`${secret}---\nkind: ConfigMap\ndata:\n  c: plain\n`).text;
    expect(out).toContain('a: [REDACTED:kubernetes-secret-data]');
    expect(out).not.toContain('bXVsdGk=');
    expect(out).toContain('c: plain');
  });

  it('merges overlapping findings into one', () => {
    const jwt = gen.jwt();
    const result = redact(`Authorization: Bearer ${jwt}`);
    expect(result.findings).toHaveLength(1);
    expect(result.text).not.toContain(jwt);
  });

  it('is idempotent on its own output', () => {
    const text = `token=${gen.checksummed('gho_')} password: "${gen.mixed('abcdef0123', 12)}" ${gen.jwt()}`;
    const once = redact(text).text;
    expect(redact(once).text).toBe(once);
  });
});

describe('secret names', () => {
  it.each([
    ['DB_PASSWORD', 'strong'],
    ['apiKey', 'strong'],
    ['AWS_SECRET_ACCESS_KEY', 'strong'],
    ['SECRET_KEY_BASE', 'strong'],
    ['client_secret', 'strong'],
    ['PGPASSWORD', 'strong'],
    ['signing_key', 'strong'],
    ['key', 'weak'],
    ['signature', 'weak'],
    ['public_key', 'none'],
    ['max_tokens', 'none'],
    ['tokenizer', 'none'],
    ['secret_name', 'none'],
    ['password_file', 'none'],
    ['username', 'none'],
  ] as const)('%s is %s', (key, strength) => {
    expect(classifySecretName(key)).toBe(strength);
  });

  it.each([
    '${DB_PASSWORD}',
    '<your-token>',
    '***',
    'changeme',
    '{{ .Values.token }}',
    'process.env.TOKEN',
    '[REDACTED:jwt]',
    'xxxxxxxx',
  ])('%s is a placeholder', (value) => {
    expect(isPlaceholderValue(value)).toBe(true);
  });
});
