/** An S3 client for a configured S3-compatible store (the audit witness's, the backups'). */
import type { S3Client } from '@aws-sdk/client-s3';
import type { WitnessS3Config } from '../config/index.js';

export async function createS3Client(
  config: WitnessS3Config,
  opts: { readonly timeoutMs: number; readonly maxAttempts: number },
): Promise<S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3Client({
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    maxAttempts: opts.maxAttempts,
    requestHandler: { requestTimeout: opts.timeoutMs, connectionTimeout: opts.timeoutMs },
    ...(config.endpoint !== undefined && { endpoint: config.endpoint }),
    // A copy: the SDK annotates the credentials object, and the config's is frozen.
    ...(config.credentials !== undefined && { credentials: { ...config.credentials } }),
  });
}

/** One line about a failed S3 call: its name, status and the start of its message (no credentials). */
export function s3ErrorText(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return `${e.name ?? 'Error'}${status !== undefined ? ` ${status}` : ''}: ${String(e.message).slice(0, 200)}`;
}
