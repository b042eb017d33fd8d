/**
 * The witnesses a signed checkpoint is sent to (docs/audit.md, "Witnesses"): an HTTPS endpoint
 * that receives the signed note as a POST, and an S3-compatible bucket. Only what the operator
 * configured is ever contacted (DESIGN.md §3.8). A push either succeeds or throws; the job queue
 * retries.
 */
import type { WitnessConfig, WitnessS3Config } from '../../config/index.js';
import { checkpointObjectKey, latestObjectKey } from '../../core/audit-chain/witness.js';
import { createS3Client, s3ErrorText } from '../../lib/s3-client.js';

export const WITNESS_KINDS = ['https', 's3'] as const;
export type WitnessKind = (typeof WITNESS_KINDS)[number];

export interface WitnessPush {
  readonly orgId: string;
  readonly seq: number;
  /** The signed checkpoint note, byte for byte as stored. */
  readonly note: string;
  /** Whether this is the org's newest checkpoint (a bucket then also rewrites latest.checkpoint). */
  readonly latest: boolean;
}

export interface Witness {
  readonly kind: WitnessKind;
  push(p: WitnessPush): Promise<void>;
}

/** The media type of a signed checkpoint note in a POST body or an object. */
export const CHECKPOINT_MEDIA_TYPE = 'text/plain; charset=utf-8';
const TIMEOUT_MS = 15_000;

export class WitnessError extends Error {
  override readonly name = 'WitnessError';
}

/**
 * POSTs the signed note to the configured URL. The body is the whole signed note: the witness
 * authenticates it by its Ed25519 signature under a key of /.well-known/ony-audit-key, so no other
 * credential travels. Redirects are refused (the server talks only to the configured address).
 */
export function httpsWitness(config: { readonly url: string }): Witness {
  return {
    kind: 'https',
    async push({ note }) {
      let res: Response;
      try {
        res = await fetch(config.url, {
          method: 'POST',
          headers: { 'content-type': CHECKPOINT_MEDIA_TYPE, 'user-agent': 'ony-audit-witness/1' },
          body: note,
          redirect: 'error',
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (err) {
        throw new WitnessError(`the https witness could not be reached: ${(err as Error).message}`);
      }
      await res.body?.cancel();
      if (res.status < 200 || res.status > 299)
        throw new WitnessError(`the https witness answered ${res.status}`);
    },
  };
}

/**
 * Writes `<prefix><org>/<seq>.checkpoint` (never overwritten by ony: the same seq always carries
 * the same note) and, for the org's newest checkpoint, `<prefix><org>/latest.checkpoint`. The
 * AWS SDK signs each request (SigV4) with the configured or default credentials.
 */
export async function s3Witness(config: WitnessS3Config): Promise<Witness> {
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  // maxAttempts 1: the job queue retries, with its own backoff.
  const client = await createS3Client(config, { timeoutMs: TIMEOUT_MS, maxAttempts: 1 });
  const put = async (key: string, body: string): Promise<void> => {
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: config.bucket,
          Key: key,
          Body: body,
          ContentType: CHECKPOINT_MEDIA_TYPE,
        }),
      );
    } catch (err) {
      throw new WitnessError(`the s3 witness refused the checkpoint: ${s3ErrorText(err)}`);
    }
  };
  return {
    kind: 's3',
    async push({ orgId, seq, note, latest }) {
      await put(checkpointObjectKey(config.prefix, orgId, seq), note);
      if (latest) await put(latestObjectKey(config.prefix, orgId), note);
    },
  };
}

/** The configured witnesses (none, one or both). */
export async function createWitnesses(config: WitnessConfig): Promise<Witness[]> {
  const list: Witness[] = [];
  if (config.https !== undefined) list.push(httpsWitness(config.https));
  if (config.s3 !== undefined) list.push(await s3Witness(config.s3));
  return list;
}
