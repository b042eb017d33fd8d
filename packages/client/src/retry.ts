/**
 * The one retry policy of every waiting client (the TypeScript client's `waitForDecision`,
 * `ony request --wait`, the Claude Code hook, the MCP tools): what is worth retrying while a server
 * restarts or its database is briefly away, and how long to wait before the next attempt.
 *
 * Retried: the server cannot be reached (connection refused or reset, a timeout, DNS that does not
 * answer) and the answers of a server or proxy that is there but not ready: 502, 503, 504, and the
 * explicitly temporary 408 and 429. A `Retry-After` header is obeyed (capped). Everything else (400,
 * 401, 403, 404, 409, 422, …) is an answer, not an outage: it stops the wait at once.
 *
 * Back-off: exponential from 250 ms, doubling, capped at 5 s, with "equal jitter" (each delay is
 * drawn between half and all of the exponential value), so a fleet of agents that lost the same
 * server does not come back in lock-step: 0.125–0.25 s, 0.25–0.5 s, 0.5–1 s, 1–2 s, 2–4 s, then
 * 2.5–5 s for every further attempt, until the handoff's expiry.
 *
 * Pure: no I/O, no clock (`now` and `random` are arguments). No dependencies: part of `@ony/client`.
 */

export const RETRY_POLICY = {
  /** The first delay before jitter, in ms. */
  baseMs: 250,
  /** No delay (before jitter) is longer than this, in ms. */
  capMs: 5_000,
  /** A server's Retry-After is obeyed up to this, in ms. */
  maxRetryAfterMs: 30_000,
} as const;

/** HTTP statuses that mean "not now" rather than "no". */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 502, 503, 504]);

/** Whether an HTTP status is an outage (retry) rather than an answer (stop). */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/** Node's and undici's codes for a server that cannot be reached right now. */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * Whether a transport error (thrown by `fetch` or `node:http`, possibly wrapped in `cause` or in an
 * AggregateError by Node's happy-eyeballs connect) means the server cannot be reached right now.
 */
export function isUnreachableError(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
  const inner = (err as { errors?: unknown }).errors;
  if (Array.isArray(inner) && inner.some((e) => isUnreachableError(e, depth + 1))) return true;
  return isUnreachableError((err as { cause?: unknown }).cause, depth + 1);
}

/**
 * A `Retry-After` header (delta-seconds or an HTTP-date) as a delay in ms from `now`, capped at
 * `maxRetryAfterMs`; undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, RETRY_POLICY.maxRetryAfterMs);
  const at = Date.parse(text);
  if (!Number.isFinite(at) || !/[a-z]/i.test(text)) return undefined;
  return Math.min(Math.max(0, at - now), RETRY_POLICY.maxRetryAfterMs);
}

/**
 * The delay before retry number `attempt` (1 for the first retry): capped exponential with equal
 * jitter, or the server's Retry-After when it gave one. `random` is in [0, 1).
 */
export function retryDelayMs(attempt: number, random: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const exp = Math.min(RETRY_POLICY.capMs, RETRY_POLICY.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(exp / 2 + (exp / 2) * random);
}

/** What a waiting client reports before each retry (for logs and progress notes). */
export interface RetryEvent {
  /** 1 for the first retry in a row. */
  readonly attempt: number;
  /** How long the client waits before trying again, in ms. */
  readonly delayMs: number;
  /** What went wrong, in a few words: `ECONNREFUSED`, `HTTP 503`, … */
  readonly reason: string;
  readonly error: unknown;
}
