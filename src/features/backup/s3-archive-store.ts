/**
 * Backups in an S3-compatible bucket (docs/backups.md, "S3"): archives are uploaded as they are
 * sealed (multipart, 8 MiB parts: one part in memory at a time; an upload that fails is aborted,
 * so no partial archive is ever visible), read back as streams, listed and pruned; the erasure
 * ledger lives beside them as one small object per erased org.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { WitnessS3Config } from '../../config/index.js';
import { createS3Client, s3ErrorText } from '../../lib/s3-client.js';
import { toLedgerEntry, type ErasureLedger, type LedgerEntry } from './erasure-ledger.js';

const PART_BYTES = 8 * 1024 * 1024;
const TIMEOUT_MS = 60_000;
const LEDGER_DIR = 'erasure-ledger/';

export interface S3Location {
  readonly bucket: string;
  /** '' or ending in '/'. */
  readonly prefix: string;
}

/** s3://bucket/prefix/ as a location, or what is wrong with it. */
export function parseS3Url(url: string): S3Location | string {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/[A-Za-z0-9!_.*'()/-]*)?$/.exec(url);
  if (m === null) return `"${url}" is not an s3://bucket/prefix/ URL`;
  const path = (m[2] ?? '/').replace(/^\/+/, '');
  return { bucket: m[1]!, prefix: path === '' ? '' : path.replace(/\/*$/, '/') };
}

export interface S3ArchiveStore {
  /** s3://bucket/prefix/ */
  readonly url: string;
  upload(name: string, body: AsyncIterable<Buffer>): Promise<number>;
  download(name: string): AsyncIterable<Buffer>;
  list(): Promise<string[]>;
  remove(name: string): Promise<void>;
  /** The erasure ledger beside the archives. */
  readonly ledger: ErasureLedger & { read(): Promise<LedgerEntry[]> };
}

export class S3StoreError extends Error {
  override readonly name = 'S3StoreError';
}

/** The store at `loc`, with the endpoint and credentials of `settings` (ONY_BACKUP_S3_*). */
export async function s3ArchiveStore(
  settings: Omit<WitnessS3Config, 'bucket' | 'prefix'>,
  loc: S3Location,
): Promise<S3ArchiveStore> {
  const s3 = await import('@aws-sdk/client-s3');
  const client: S3Client = await createS3Client(
    { ...settings, bucket: loc.bucket, prefix: loc.prefix },
    { timeoutMs: TIMEOUT_MS, maxAttempts: 3 },
  );
  const url = `s3://${loc.bucket}/${loc.prefix}`;
  const Bucket = loc.bucket;
  const fail = (what: string, err: unknown): never => {
    throw new S3StoreError(`${what} ${url}: ${s3ErrorText(err)}`);
  };

  async function putSmall(key: string, body: string): Promise<void> {
    await client
      .send(new s3.PutObjectCommand({ Bucket, Key: key, Body: body }))
      .catch((e) => fail('cannot write to', e));
  }

  async function listKeys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const r = await client
        .send(new s3.ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken: token }))
        .catch((e) => fail('cannot list', e));
      for (const o of r.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
      token = r.IsTruncated === true ? r.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  return {
    url,
    async upload(name, body) {
      const Key = `${loc.prefix}${name}`;
      const created = await client
        .send(new s3.CreateMultipartUploadCommand({ Bucket, Key }))
        .catch((e) => fail('cannot upload to', e));
      const UploadId = created.UploadId!;
      const parts: { ETag: string; PartNumber: number }[] = [];
      let bytes = 0;
      const sendPart = async (data: Buffer) => {
        const PartNumber = parts.length + 1;
        const r = await client.send(
          new s3.UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: data }),
        );
        parts.push({ ETag: r.ETag!, PartNumber });
      };
      try {
        let pending: Buffer[] = [];
        let size = 0;
        for await (const piece of body) {
          pending.push(piece);
          size += piece.length;
          bytes += piece.length;
          if (size >= PART_BYTES) {
            await sendPart(Buffer.concat(pending));
            pending = [];
            size = 0;
          }
        }
        if (size > 0 || parts.length === 0) await sendPart(Buffer.concat(pending));
        await client.send(
          new s3.CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }),
        );
      } catch (err) {
        await client
          .send(new s3.AbortMultipartUploadCommand({ Bucket, Key, UploadId }))
          .catch(() => undefined);
        if (err instanceof S3StoreError || (err as { $metadata?: unknown }).$metadata === undefined)
          throw err;
        return fail('cannot upload to', err);
      }
      return bytes;
    },
    async *download(name) {
      const r = await client
        .send(new s3.GetObjectCommand({ Bucket, Key: `${loc.prefix}${name}` }))
        .catch((e) => fail(`cannot read ${name} from`, e));
      for await (const chunk of r.Body as AsyncIterable<Uint8Array>) yield Buffer.from(chunk);
    },
    async list() {
      return (await listKeys(loc.prefix))
        .map((k) => k.slice(loc.prefix.length))
        .filter((k) => !k.includes('/'));
    },
    async remove(name) {
      await client
        .send(new s3.DeleteObjectCommand({ Bucket, Key: `${loc.prefix}${name}` }))
        .catch((e) => fail(`cannot delete ${name} from`, e));
    },
    ledger: {
      where: `${url}${LEDGER_DIR}`,
      async record(orgId, erasedAt) {
        const entry: LedgerEntry = { org_id: orgId, erased_at: erasedAt.toISOString() };
        await putSmall(`${loc.prefix}${LEDGER_DIR}${orgId}.json`, JSON.stringify(entry));
      },
      async read() {
        const entries: LedgerEntry[] = [];
        for (const Key of await listKeys(`${loc.prefix}${LEDGER_DIR}`)) {
          const r = await client
            .send(new s3.GetObjectCommand({ Bucket, Key }))
            .catch((e) => fail('cannot read the erasure ledger at', e));
          let value: unknown;
          try {
            value = JSON.parse(await r.Body!.transformToString());
          } catch {
            value = undefined;
          }
          entries.push(toLedgerEntry(value, `the erasure ledger's object ${Key}`));
        }
        return entries;
      },
    },
  };
}
