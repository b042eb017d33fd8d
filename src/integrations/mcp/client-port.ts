/**
 * The MCP tools' port over the public HTTP client: what `ony mcp` (stdio) uses. Long waits go through
 * `waitForDecision`, which long-polls and keeps waiting through a restart or an outage of the server
 * (RETRY_POLICY in packages/client/src/retry.ts); a slice that ends while the server is still unreachable
 * answers the view the tool had (pending), so the tool says "pending, call again", not an error.
 */
import { OnyApiError, OnyNetworkError, type OnyClient, type RetryEvent } from '@ony/client';
import type { ApprovalPort } from './tools.js';

const HINTS: Readonly<Record<number, string>> = {
  401: ' (check ONY_TOKEN: a device token, ony_dev_…, that is not revoked)',
  404: ' (no such approval request for this device)',
  429: ' (rate limited: wait a little and try again)',
};

export function describeClientError(err: unknown): string {
  if (err instanceof OnyApiError)
    return `${err.detail}${HINTS[err.status] ?? ''} [HTTP ${err.status} ${err.code}]`;
  if (err instanceof OnyNetworkError) return `${err.message} (check ONY_URL)`;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function clientApprovalPort(client: OnyClient, onRetry?: (event: RetryEvent) => void): ApprovalPort {
  return {
    create: (input, signal, idempotencyKey) =>
      client.createHandoff(input, { signal, ...(idempotencyKey !== undefined && { idempotencyKey }) }),
    get: (id, waitSeconds, signal, current) =>
      waitSeconds <= 0
        ? client.getHandoff(id, { signal })
        : client.waitForDecision(id, {
            timeoutMs: waitSeconds * 1000,
            signal,
            ...(current !== undefined && { current }),
            ...(onRetry !== undefined && { onRetry }),
          }),
    describeError: describeClientError,
  };
}
