/**
 * Cryptographic helpers: random tokens, SHA-256 hashing of tokens, AES-256-GCM envelope
 * encryption (DESIGN.md §3.6). Pure functions over buffers; key storage lives in features/orgs.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const sha256 = (data: string | Buffer): Buffer => createHash('sha256').update(data).digest();
export const sha256Hex = (data: string | Buffer): string => sha256(data).toString('hex');

/** A high-entropy token with a readable prefix, e.g. `ony_dev_…` (32 random bytes, base64url). */
export const newToken = (prefix: string): string => `${prefix}${randomBytes(32).toString('base64url')}`;

/** Constant-time string comparison that does not leak length through early exit. */
export function safeEqual(a: string, b: string): boolean {
  const ha = sha256(a);
  const hb = sha256(b);
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export interface MasterKey {
  /** Short id stored beside every wrapped data key, so a rotation knows which master wrapped it. */
  readonly id: string;
  readonly key: Buffer;
}

export function masterKeyFrom(key: Buffer): MasterKey {
  if (key.length !== 32) throw new Error('master key must be 32 bytes');
  return { id: `mk_${sha256Hex(key).slice(0, 12)}`, key };
}

/**
 * Parses a master key list: base64 32-byte keys separated by commas, newest first. A key's id is
 * derived from the key itself (masterKeyFrom), so an id can never be paired with the wrong key.
 * Answers the keys, or what is wrong (naming the entry by position, never echoing key material).
 */
export function parseMasterKeys(text: string): Buffer[] | string {
  const parts = text.split(',').map((p) => p.trim());
  const keys: Buffer[] = [];
  for (const [i, part] of parts.entries()) {
    const key = Buffer.from(part, 'base64');
    if (part === '' || key.length !== 32 || key.toString('base64') !== part)
      return `entry ${i + 1} of ${parts.length} is not a 32-byte base64-encoded key`;
    if (keys.some((k) => k.equals(key))) return `entry ${i + 1} repeats an earlier key`;
    keys.push(key);
  }
  return keys;
}

/** The configured master keys: the newest wraps, any of them unwraps (docs/keys.md). */
export interface MasterKeys {
  readonly current: MasterKey;
  readonly all: readonly MasterKey[];
  /** The key with this id; throws MissingMasterKeyError naming it when it is not configured. */
  get(id: string): MasterKey;
}

export class MissingMasterKeyError extends Error {
  constructor(
    readonly keyId: string,
    readonly configured: readonly string[],
  ) {
    super(
      `master key ${keyId} is not configured (configured: ${configured.join(', ')}); add it to ONY_MASTER_KEYS (after the newest key) until \`ony keys rotate\` has re-wrapped every data key`,
    );
    this.name = 'MissingMasterKeyError';
  }
}

export function masterKeysFrom(keys: readonly (Buffer | MasterKey)[]): MasterKeys {
  const all = keys.map((k) => (Buffer.isBuffer(k) ? masterKeyFrom(k) : k));
  const current = all[0];
  if (current === undefined) throw new Error('at least one master key is required');
  const byId = new Map(all.map((k) => [k.id, k]));
  return {
    current,
    all,
    get(id) {
      const k = byId.get(id);
      if (k === undefined) throw new MissingMasterKeyError(id, [...byId.keys()]);
      return k;
    },
  };
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]);
}

function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error('ciphertext too short');
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}

/** Wraps a per-org data key under the master key; the org id is bound as associated data. */
export const wrapDataKey = (master: MasterKey, orgId: string, dataKey: Buffer): Buffer =>
  seal(master.key, dataKey, `ony:dek:${orgId}`);

export const unwrapDataKey = (master: MasterKey, orgId: string, wrapped: Buffer): Buffer =>
  open(master.key, wrapped, `ony:dek:${orgId}`);

const FORMAT_V1 = 1;

/**
 * Encrypts a secret with an org data key. Layout: version(1) | data key id (16, uuid bytes) |
 * iv(12) | tag(16) | ciphertext. `aad` binds the ciphertext to its row and purpose
 * (e.g. `totp:<member id>`), so a blob copied to another row does not decrypt.
 */
export function encryptWithDataKey(
  dataKeyId: string,
  dataKey: Buffer,
  plaintext: Buffer,
  aad: string,
): Buffer {
  const idBytes = Buffer.from(dataKeyId.replaceAll('-', ''), 'hex');
  if (idBytes.length !== 16) throw new Error('data key id must be a uuid');
  return Buffer.concat([Buffer.from([FORMAT_V1]), idBytes, seal(dataKey, plaintext, aad)]);
}

/** The data key id a blob was encrypted with (for rotation and lookup). */
export function dataKeyIdOf(blob: Buffer): string {
  if (blob[0] !== FORMAT_V1 || blob.length < 17) throw new Error('unknown ciphertext format');
  const h = blob.subarray(1, 17).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function decryptWithDataKey(dataKey: Buffer, blob: Buffer, aad: string): Buffer {
  if (blob[0] !== FORMAT_V1) throw new Error('unknown ciphertext format');
  return open(dataKey, blob.subarray(17), aad);
}
