/**
 * Reading one entry of an export zip (yauzl, the reader paired with yazl): `ony audit verify --file`
 * verifies an export's audit.jsonl straight from the zip, streamed, without extracting it.
 */
import { open as openFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';

/** Whether a file starts with a zip local file header (PK\x03\x04). */
export async function isZipFile(path: string): Promise<boolean> {
  const f = await openFile(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await f.read(head, 0, 4, 0);
    return bytesRead === 4 && head.readUInt32LE(0) === 0x04034b50;
  } finally {
    await f.close();
  }
}

/** A stream of one entry's content; rejects when the zip has no entry of that name. */
export function openZipEntry(path: string, name: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err) return reject(err);
      zip.on('error', reject);
      zip.on('end', () => reject(new Error(`the zip has no ${name}`)));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName !== name) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => (e ? reject(e) : resolve(stream)));
      });
      zip.readEntry();
    });
  });
}
