/**
 * The Bot API client: telegraf's `Telegram` (its `apiRoot` option points tests at the fake), with a
 * timeout on every call and bounded retries when Telegram answers 429 (honouring
 * `parameters.retry_after`) or 5xx, or the connection fails. A call that cannot succeed within the
 * budget throws, so a Telegram outage costs the caller a bounded wait, never a hang.
 */
import { Telegram, TelegramError } from 'telegraf';
import type { Opts, Telegram as Methods } from 'telegraf/types';
import type { TelegramConfig } from '../../config/index.js';
import {
  DEFAULT_RETRY,
  parseRetryAfter,
  verdictForStatus,
  withRetry,
  type RetryPolicy,
  type RetryVerdict,
} from '../retry.js';

export type TelegramMethod = keyof Methods;
export type TelegramResult<M extends TelegramMethod> = ReturnType<Methods[M]>;

export interface CallOptions {
  /** Per-attempt timeout (ms). Default 10 s; long polls pass their own. */
  readonly timeoutMs?: number;
  /** Aborts the call and its retries (the poller's stop). */
  readonly signal?: AbortSignal;
  /** Retries after 429/5xx/connection errors; default true. */
  readonly retry?: boolean;
}

export interface TelegramApi {
  call<M extends TelegramMethod>(
    method: M,
    payload: Opts<M>,
    options?: CallOptions,
  ): Promise<TelegramResult<M>>;
}

/**
 * Which Bot API failures are worth another try: 429 (after `parameters.retry_after`), 5xx, and a
 * refused or reset connection.
 */
export function classifyTelegramError(err: unknown): RetryVerdict {
  if (err instanceof TelegramError) {
    const after = (err.parameters as { retry_after?: unknown } | undefined)?.retry_after;
    return verdictForStatus(err.code, typeof after === 'number' ? parseRetryAfter(after, 0) : undefined);
  }
  // node-fetch's FetchError for a connection that failed before the request completed.
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EAI_AGAIN', 'EPIPE'].includes(code)
    ? { retry: true }
    : { retry: false };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function createTelegramApi(
  config: Pick<TelegramConfig, 'botToken' | 'apiRoot'>,
  policy: RetryPolicy = DEFAULT_RETRY,
): TelegramApi {
  // webhookReply off: every call is a real request whose answer we read.
  const telegram = new Telegram(config.botToken, { apiRoot: config.apiRoot, webhookReply: false });
  return {
    async call(method, payload, options = {}) {
      return withRetry(
        async () => {
          const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
          const signal = options.signal !== undefined ? AbortSignal.any([options.signal, timeout]) : timeout;
          // telegraf types its signal as the abort-controller polyfill's; node-fetch accepts Node's own.
          return telegram.callApi(method, payload, { signal: signal as never });
        },
        (err) =>
          options.retry === false || options.signal?.aborted ? { retry: false } : classifyTelegramError(err),
        policy,
        { sleep: (ms) => sleep(ms, options.signal) },
      );
    },
  };
}

/** A Bot API error's code and description, for logs (never the token: telegraf redacts it from URLs). */
export function describeError(err: unknown): { code: number | string | undefined; description: string } {
  if (err instanceof TelegramError) return { code: err.code, description: err.description };
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  return {
    code: typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : undefined,
    description:
      typeof e?.message === 'string' ? e.message.replace(/bot\d+:[^/\s]+/g, 'bot<token>') : 'error',
  };
}
