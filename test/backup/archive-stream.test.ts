/** Sealing rechunks whatever pieces the dump comes in: one whole tarball, or many small pieces. */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES } from '../../src/core/backup/archive-format.js';
import { openArchive, sealArchive } from '../../src/features/backup/archive-stream.js';

const key = { id: 'bk_test', key: randomBytes(32) };
const base = { server_version: 't', last_migration: null, created_at: new Date(0).toISOString(), orgs: [] };

async function roundTrip(pieces: Buffer[]) {
  const sealed: Buffer[] = [];
  for await (const b of sealArchive(Readable.from(pieces), key, 'pglite', () => base)) sealed.push(b);
  const out: Buffer[] = [];
  const opened = await openArchive(
    Readable.from([Buffer.concat(sealed)]),
    () => key.key,
    (c) => void out.push(c),
  );
  return { data: Buffer.concat(out), sizes: out.map((c) => c.length), manifest: opened.manifest };
}

describe('sealing', () => {
  const dump = randomBytes(3 * CHUNK_BYTES + 5);

  it('cuts one large piece into 64 KiB chunks', async () => {
    const r = await roundTrip([dump]);
    expect(r.data.equals(dump)).toBe(true);
    expect(r.sizes).toEqual([CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES, 5]);
    expect(r.manifest.chunks).toBe(5);
  });

  it('gathers small pieces into the same chunks', async () => {
    const pieces: Buffer[] = [];
    for (let i = 0; i < dump.length; i += 1000) pieces.push(dump.subarray(i, i + 1000));
    const r = await roundTrip(pieces);
    expect(r.data.equals(dump)).toBe(true);
    expect(r.sizes).toEqual([CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES, 5]);
  });

  it('seals an empty dump as the manifest alone', async () => {
    const r = await roundTrip([]);
    expect(r.data.length).toBe(0);
    expect(r.manifest.chunks).toBe(1);
  });
});
