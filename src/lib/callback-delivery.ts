/**
 * One POST of a decision to an agent's `callback_url` (DESIGN.md §2 "signed webhook callback", §3.8
 * SSRF guard). The URL is re-checked, its hostname resolved once and every address vetted, and the TCP
 * connection pinned to the vetted address through the socket `lookup` hook, so a second DNS answer
 * (rebinding) cannot redirect it; TLS SNI, certificate checks and the Host header still use the
 * hostname. No redirects are followed; any non-2xx status throws so the job queue retries.
 *
 * Signing is the caller's job (`signWebhook` from ./webhook-signature.js): pass its headers in.
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkCallbackUrl, resolvePublicAddress, type LookupFn } from './ssrf.js';

export const DEFAULT_CALLBACK_TIMEOUT_MS = 10_000;
/** Response bytes read (and discarded) before the connection is dropped. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface DeliverOptions {
  readonly allowHosts?: readonly string[];
  readonly allowHttp?: boolean;
  /** Whole attempt (DNS, connect, TLS, request, response): default 10 s. */
  readonly timeoutMs?: number;
  /** Injected for tests; defaults to `dns.promises.lookup`. */
  readonly lookup?: LookupFn;
}

/** A delivery that reached the network and failed: non-2xx status (`status` set), timeout, reset. */
export class CallbackDeliveryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'CallbackDeliveryError';
  }
}

/** Headers the transport owns; a caller's value for these is dropped. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
]);

/** A socket `lookup` that always answers with the vetted address, whatever it is asked. */
function pinnedLookup(pinned: { address: string; family: 4 | 6 }): LookupFunction {
  return (_hostname: string, options: LookupOptions, callback) => {
    if (options.all) callback(null, [pinned satisfies LookupAddress]);
    else callback(null, pinned.address, pinned.family);
  };
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function post(
  target: URL,
  pinned: { address: string; family: 4 | 6 },
  body: string | Buffer,
  headers: Record<string, string>,
  signal: AbortSignal,
  contentType: string,
): Promise<{ status: number }> {
  const outgoing: Record<string, string> = { 'user-agent': 'ony-callback' };
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!RESERVED_HEADERS.has(lower)) outgoing[lower] = value;
  }
  outgoing['content-type'] = contentType;
  outgoing['content-length'] = String(
    typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length,
  );

  return new Promise((resolve, reject) => {
    const fail = (err: unknown): void => {
      reject(signal.aborted ? signal.reason : err);
    };
    const onResponse = (res: IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      let received = 0;
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        if (status >= 200 && status < 300) return resolve({ status });
        const hint = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
        reject(new CallbackDeliveryError(`callback answered HTTP ${status}${hint}`, status));
      };
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) {
          settle();
          res.destroy();
        }
      });
      res.on('end', settle);
      res.on('error', fail);
    };
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      {
        protocol: target.protocol,
        hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: target.port === '' ? undefined : Number(target.port),
        path: `${target.pathname}${target.search}`,
        method: 'POST',
        headers: outgoing,
        // A fresh connection per delivery: a pooled socket could have been opened without the pin.
        agent: false,
        lookup: pinnedLookup(pinned),
        signal,
      },
      onResponse,
    );
    req.on('error', fail);
    req.end(body);
  });
}

/**
 * POSTs `body` (JSON text) to `url` after the SSRF checks. Resolves with the 2xx status; throws
 * `SsrfError` (refused destination, or DNS failure with reason `resolution_failed`) or
 * `CallbackDeliveryError` (non-2xx incl. 3xx, timeout) or a socket error (ECONNREFUSED, TLS, …).
 */
export async function deliverCallback(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: DeliverOptions = {},
): Promise<{ status: number }> {
  return deliverGuarded(url, body, headers, { ...opts, contentType: 'application/json' });
}

/**
 * The same guarded, pinned POST for any body and content type (a Web Push message is
 * `application/octet-stream`, aes128gcm-encrypted).
 */
export async function deliverGuarded(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
  opts: DeliverOptions & { readonly contentType: string },
): Promise<{ status: number }> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CALLBACK_TIMEOUT_MS;
  const target = checkCallbackUrl(url, opts);
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new CallbackDeliveryError(`callback timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    const pinned = await abortable(resolvePublicAddress(target, opts), controller.signal);
    return await post(target, pinned, body, headers, controller.signal, opts.contentType);
  } finally {
    clearTimeout(timer);
  }
}
