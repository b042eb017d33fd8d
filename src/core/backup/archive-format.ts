/**
 * The backup archive's framing (docs/backups.md, "The archive format"). Pure: no I/O, no clock.
 *
 *   magic "ONYBAK01" | u32 header length | header (JSON, plaintext, authenticated)
 *   then records: u32 sealed length | AES-256-GCM ciphertext and 16-byte tag
 *
 * Each record seals one chunk: a type byte (data or manifest) and up to CHUNK_BYTES of the dump.
 * The nonce is the chunk's index and a final-chunk flag, and every chunk's associated data is the
 * header's hash, so a chunk moved, dropped, swapped into another archive or appended after the
 * final one fails to open, and a missing final chunk (a truncated archive) is noticed. The chunk key
 * is derived per archive from the backup key and the header's random salt, so counters never
 * repeat a nonce under one key.
 */

export const MAGIC = Buffer.from('ONYBAK01', 'latin1');
export const CHUNK_BYTES = 64 * 1024;
export const TAG_BYTES = 16;
/** The largest sealed record a reader accepts (the manifest of many orgs can exceed a data chunk). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export const CHUNK_DATA = 0;
export const CHUNK_MANIFEST = 1;

export type BackupSource = 'pg_dump' | 'pglite';

export interface ArchiveHeader {
  readonly format: 'ony-backup';
  readonly version: 1;
  /** Which backup key sealed it (an id derived from the key, never the key). */
  readonly key_id: string;
  /** 32 random bytes, base64: the per-archive chunk key's HKDF salt. */
  readonly salt: string;
  readonly source: BackupSource;
}

export interface OrgHead {
  readonly org_id: string;
  readonly seq: number;
  /** The chain head's hash, hex. */
  readonly hash: string;
}

/** What travels in the final, authenticated chunk. */
export interface Manifest {
  readonly server_version: string;
  readonly last_migration: string | null;
  readonly created_at: string;
  readonly source: BackupSource;
  readonly orgs: readonly OrgHead[];
  /** The dump's plaintext length and SHA-256 (hex), checked on verify and restore. */
  readonly data: { readonly bytes: number; readonly sha256: string };
  readonly chunks: number;
}

export class ArchiveError extends Error {
  override readonly name = 'ArchiveError';
  constructor(
    readonly code: 'not_an_archive' | 'wrong_key' | 'tampered' | 'truncated' | 'checksum',
    message: string,
  ) {
    super(message);
  }
}

/** The GCM nonce of chunk `index`: its 64-bit index and whether it is the final chunk. */
export function chunkNonce(index: number, final: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(BigInt(index), 0);
  nonce.writeUInt32BE(final ? 1 : 0, 8);
  return nonce;
}

export function encodeHeader(header: ArchiveHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length, 0);
  return Buffer.concat([MAGIC, len, json]);
}

/** Parses the header JSON (the bytes after the magic and length), or throws not_an_archive. */
export function parseHeader(json: Buffer): ArchiveHeader {
  let h: Partial<ArchiveHeader>;
  try {
    h = JSON.parse(json.toString('utf8')) as Partial<ArchiveHeader>;
  } catch {
    throw new ArchiveError('not_an_archive', 'the archive header is not valid JSON');
  }
  if (h.format !== 'ony-backup' || h.version !== 1)
    throw new ArchiveError('not_an_archive', 'not an ony backup archive of a version this server reads (1)');
  if (
    typeof h.key_id !== 'string' ||
    typeof h.salt !== 'string' ||
    Buffer.from(h.salt, 'base64').length !== 32
  )
    throw new ArchiveError('not_an_archive', 'the archive header lacks its key id or salt');
  if (h.source !== 'pg_dump' && h.source !== 'pglite')
    throw new ArchiveError('not_an_archive', 'the archive header names no known source');
  return h as ArchiveHeader;
}

export function parseManifest(body: Buffer): Manifest {
  const m = JSON.parse(body.toString('utf8')) as Manifest;
  if (typeof m.created_at !== 'string' || !Array.isArray(m.orgs) || typeof m.data?.sha256 !== 'string')
    throw new ArchiveError('tampered', 'the manifest chunk is malformed');
  return m;
}

/** A backup's file name in a destination directory: sorts by time, UTC to the millisecond. */
export function backupFileName(at: Date): string {
  return `ony-backup-${at.toISOString().replace(/[-:]/g, '')}.onybak`;
}

const BACKUP_NAME = /^ony-backup-\d{8}T\d{6}\.\d{3}Z\.onybak$/;

/** Of the backups among `names` (other files are ignored), those beyond the newest `keep`. */
export function expiredBackups(names: readonly string[], keep: number): string[] {
  return names
    .filter((n) => BACKUP_NAME.test(n))
    .sort()
    .reverse()
    .slice(keep);
}
