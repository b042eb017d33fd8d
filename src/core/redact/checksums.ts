/** CRC-32 (IEEE 802.3, the zlib/PNG polynomial) and base62, used to verify token checksums. */

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of the string's char codes (callers pass ASCII only). */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]!;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Encodes a non-negative integer in base62, left-padded with '0' to `width` characters. */
export function toBase62(value: number, width: number): string {
  let out = '';
  let rest = Math.floor(value);
  while (rest > 0) {
    out = BASE62_ALPHABET[rest % 62]! + out;
    rest = Math.floor(rest / 62);
  }
  return out.padStart(width, '0');
}

/**
 * GitHub (ghp_, gho_, ghu_, ghs_, ghr_) and npm (npm_) tokens: a 4-character prefix, 30 random
 * base62 characters, then the CRC-32 of those 30 characters in 6 base62 characters.
 * See "Behind GitHub's new authentication token formats" (GitHub blog, 2021-04-05).
 */
export function hasValidPrefixedTokenChecksum(token: string): boolean {
  if (token.length !== 40) return false;
  const random = token.slice(4, 34);
  return toBase62(crc32(random), 6) === token.slice(34);
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Decodes standard or URL-safe base64 to a latin1 string; undefined when it is not base64. */
export function decodeBase64Loose(text: string): string | undefined {
  const normalized = text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(normalized) || normalized.length % 4 === 1) return undefined;
  return atob(normalized.padEnd(Math.ceil(normalized.length / 4) * 4, '='));
}
