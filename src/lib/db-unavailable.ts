/**
 * Whether an error means "the database cannot be reached right now" (so the request may succeed
 * if tried again in a few seconds) rather than a bug or a refused statement. The one place that
 * decides it: the HTTP error handler answers these 503 with Retry-After (never 500), and the
 * channel paths (Slack, Telegram, SMS, voice) tell the approver to try again.
 *
 * Recognised, anywhere in the error's `cause` chain or AggregateError list:
 * - socket errors while connecting or talking to Postgres: ECONNREFUSED, ECONNRESET, EPIPE,
 *   ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ENOTFOUND, EAI_AGAIN;
 * - node-postgres's own messages when the connection drops or cannot be made in time
 *   ("Connection terminated unexpectedly", "… due to connection timeout", "timeout exceeded when
 *   trying to connect", "Client has encountered a connection error and is not queryable");
 * - SQLSTATE class 08 (connection exception), 57P01 admin_shutdown, 57P02 crash_shutdown,
 *   57P03 cannot_connect_now, 53300 too_many_connections.
 */

const SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const SQLSTATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '53300']);

const PG_MESSAGES: readonly RegExp[] = [
  /^Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /connection error and is not queryable/i,
  /^Connection ended unexpectedly/i,
];

/** Seconds a client is asked to wait (Retry-After) when the database is unavailable. */
export const DATABASE_RETRY_AFTER_S = 5;

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (SOCKET_CODES.has(code) || SQLSTATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  const message = (err as { message?: unknown }).message;
  if (typeof message === 'string' && PG_MESSAGES.some((re) => re.test(message))) return true;
  const inner = (err as { errors?: unknown }).errors;
  if (Array.isArray(inner) && inner.some((e) => isDatabaseUnavailable(e, depth + 1))) return true;
  return isDatabaseUnavailable((err as { cause?: unknown }).cause, depth + 1);
}
