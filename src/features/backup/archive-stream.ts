/**
 * Seals a dump into a backup archive and opens one again, streaming: at most one chunk (64 KiB)
 * of plaintext is held at a time (src/core/backup/archive-format.ts has the layout).
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import {
  ArchiveError,
  CHUNK_BYTES,
  CHUNK_DATA,
  CHUNK_MANIFEST,
  MAGIC,
  MAX_RECORD_BYTES,
  TAG_BYTES,
  chunkNonce,
  encodeHeader,
  parseHeader,
  parseManifest,
  type ArchiveHeader,
  type BackupSource,
  type Manifest,
} from '../../core/backup/archive-format.js';

const chunkKey = (backupKey: Buffer, salt: Buffer): Buffer =>
  Buffer.from(hkdfSync('sha256', backupKey, salt, 'ony backup archive chunks v1', 32));

function seal(key: Buffer, aad: Buffer, index: number, final: boolean, type: number, body: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, chunkNonce(index, final));
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(Buffer.from([type])), cipher.update(body), cipher.final()]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(ct.length + TAG_BYTES, 0);
  return Buffer.concat([len, ct, cipher.getAuthTag()]);
}

/** What the manifest holds besides what sealing measures (data size, checksum, chunk count). */
export type ManifestBase = Omit<Manifest, 'data' | 'chunks' | 'source'>;

/**
 * The archive's bytes: the header, the dump in sealed 64 KiB chunks, and the manifest as the final
 * chunk. `manifest` is asked for once the dump has ended.
 */
export async function* sealArchive(
  dump: AsyncIterable<Buffer | Uint8Array>,
  backupKey: { readonly id: string; readonly key: Buffer },
  source: BackupSource,
  manifest: () => ManifestBase | Promise<ManifestBase>,
): AsyncGenerator<Buffer> {
  const salt = randomBytes(32);
  const header: ArchiveHeader = {
    format: 'ony-backup',
    version: 1,
    key_id: backupKey.id,
    salt: salt.toString('base64'),
    source,
  };
  const head = encodeHeader(header);
  const aad = createHash('sha256').update(head).digest();
  const key = chunkKey(backupKey.key, salt);
  yield head;
  const hash = createHash('sha256');
  let bytes = 0;
  let index = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of dump) {
    // Slices, never re-concatenations: one dump piece may be the whole (PGlite) tarball.
    let buf = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
    hash.update(buf);
    bytes += buf.length;
    while (pendingBytes + buf.length >= CHUNK_BYTES) {
      const take = CHUNK_BYTES - pendingBytes;
      pending.push(buf.subarray(0, take));
      yield seal(key, aad, index++, false, CHUNK_DATA, Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
      buf = buf.subarray(take);
    }
    if (buf.length > 0) {
      pending.push(buf);
      pendingBytes += buf.length;
    }
  }
  if (pendingBytes > 0) yield seal(key, aad, index++, false, CHUNK_DATA, Buffer.concat(pending));
  const full: Manifest = {
    ...(await manifest()),
    source,
    data: { bytes, sha256: hash.digest('hex') },
    chunks: index + 1,
  };
  yield seal(key, aad, index, true, CHUNK_MANIFEST, Buffer.from(JSON.stringify(full), 'utf8'));
}

/** Reads exact byte counts from a stream of buffers. */
class ByteReader {
  private buf = Buffer.alloc(0);
  private done = false;
  constructor(private readonly it: AsyncIterator<Buffer | Uint8Array | string>) {}

  /** `n` bytes; fewer (possibly none) only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done === true) this.done = true;
      else this.buf = Buffer.concat([this.buf, Buffer.from(r.value)]);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    return out;
  }
}

export interface OpenedArchive {
  readonly header: ArchiveHeader;
  readonly manifest: Manifest;
}

/**
 * Opens an archive, handing each chunk of the dump to `onData` (awaited: backpressure) as soon as it
 * is authenticated, and answers the header and the manifest after checking the dump's length and
 * SHA-256 against it. `keyFor` answers the backup key of a key id, or throws wrong_key. Errors name
 * the chunk: a chunk that fails authentication (altered, reordered, another key), a truncated
 * archive, a checksum mismatch.
 */
export async function openArchive(
  input: AsyncIterable<Buffer | Uint8Array | string>,
  keyFor: (keyId: string) => Buffer,
  onData: (chunk: Buffer) => void | Promise<void>,
): Promise<OpenedArchive> {
  const reader = new ByteReader(input[Symbol.asyncIterator]());
  const magic = await reader.read(MAGIC.length + 4);
  if (magic.length < MAGIC.length + 4 || !magic.subarray(0, MAGIC.length).equals(MAGIC))
    throw new ArchiveError('not_an_archive', 'not an ony backup archive (its first bytes are not ONYBAK01)');
  const headerLen = magic.readUInt32BE(MAGIC.length);
  if (headerLen > 64 * 1024) throw new ArchiveError('not_an_archive', 'the archive header is too long');
  const headerJson = await reader.read(headerLen);
  if (headerJson.length < headerLen)
    throw new ArchiveError('truncated', 'the archive is truncated inside its header');
  const header = parseHeader(headerJson);
  const aad = createHash('sha256').update(magic).update(headerJson).digest();
  const key = chunkKey(keyFor(header.key_id), Buffer.from(header.salt, 'base64'));
  const hash = createHash('sha256');
  let bytes = 0;
  for (let index = 0; ; index++) {
    const lenBuf = await reader.read(4);
    if (lenBuf.length === 0)
      throw new ArchiveError(
        'truncated',
        `the archive is truncated: it ends after chunk ${index - 1} without its final (manifest) chunk`,
      );
    if (lenBuf.length < 4)
      throw new ArchiveError('truncated', `the archive is truncated inside chunk ${index}'s length`);
    const len = lenBuf.readUInt32BE(0);
    if (len <= TAG_BYTES || len > MAX_RECORD_BYTES)
      throw new ArchiveError('tampered', `chunk ${index} has an impossible length (${len} bytes)`);
    const sealed = await reader.read(len);
    if (sealed.length < len)
      throw new ArchiveError(
        'truncated',
        `the archive is truncated inside chunk ${index} (${sealed.length} of ${len} bytes)`,
      );
    const plain = openChunk(key, aad, index, sealed);
    if (plain === undefined)
      throw new ArchiveError(
        'tampered',
        `chunk ${index} failed authentication: the archive was altered or its chunks reordered`,
      );
    const { final, type, body } = plain;
    if (!final) {
      if (type !== CHUNK_DATA) throw new ArchiveError('tampered', `chunk ${index} is not a data chunk`);
      hash.update(body);
      bytes += body.length;
      await onData(body);
      continue;
    }
    if (type !== CHUNK_MANIFEST) throw new ArchiveError('tampered', `chunk ${index} is not the manifest`);
    if ((await reader.read(1)).length > 0)
      throw new ArchiveError('tampered', `bytes follow the final chunk (${index}) of the archive`);
    const manifest = parseManifest(body);
    const sha = hash.digest('hex');
    if (manifest.data.bytes !== bytes || manifest.data.sha256 !== sha || manifest.chunks !== index + 1)
      throw new ArchiveError(
        'checksum',
        `the dump's checksum does not match the manifest (${bytes} bytes, sha256 ${sha})`,
      );
    return { header, manifest };
  }
}

/** Opens one sealed chunk, trying it as a data chunk and as the final one; undefined if neither. */
function openChunk(
  key: Buffer,
  aad: Buffer,
  index: number,
  sealed: Buffer,
): { final: boolean; type: number; body: Buffer } | undefined {
  const ct = sealed.subarray(0, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  for (const final of [false, true]) {
    try {
      const d = createDecipheriv('aes-256-gcm', key, chunkNonce(index, final));
      d.setAAD(aad);
      d.setAuthTag(tag);
      const plain = Buffer.concat([d.update(ct), d.final()]);
      return { final, type: plain[0]!, body: plain.subarray(1) };
    } catch {
      // not this flag (or altered): try the other, then report
    }
  }
  return undefined;
}
