/**
 * The agent side of the handoff API (`/v1/handoffs`): a small typed client over global `fetch`.
 *
 *   const ony = createClient({ baseUrl: 'https://ony.example.com', token: process.env.ONY_TOKEN! });
 *   const created = await ony.createHandoff({ action: { type: 'deploy', target: 'prod' }, title: 'Deploy v42' });
 *   const final = await ony.waitForDecision(created.id, { timeoutMs: 10 * 60_000 });
 *   if (final.status === 'approved') …
 *
 * Errors: the server's problem+json answers (RFC 9457) become `OnyApiError` (status, code, detail);
 * a server that cannot be reached, or that answers something that is not the API, becomes
 * `OnyNetworkError`. Signed decision callbacks: `verifyCallback(secret, headers, rawBody)`.
 *
 * The package `@ony/client`: no `any`, no dependencies (global `fetch` and `node:crypto`), nothing newer
 * than Node 18. The server imports its wire types from here (one copy); they mirror the server's
 * TypeBox schemas (src/features/handoffs/handoffs.schemas.ts, the OpenAPI document's source), and
 * test/client/drift.test.ts fails when either side gains, loses or changes a field.
 */
import {
  isRetryableStatus,
  isUnreachableError,
  parseRetryAfter,
  retryDelayMs,
  type RetryEvent,
} from './retry.js';
import { verifyWebhook, WebhookVerificationError, type WebhookHeadersInput } from './webhook.js';

export {
  verifyWebhook,
  webhookKeyOf,
  webhookSignature,
  WebhookVerificationError,
  WEBHOOK_SECRET_PREFIX,
  WEBHOOK_TOLERANCE_SECONDS,
  type WebhookHeadersInput,
} from './webhook.js';
export {
  RETRY_POLICY,
  isRetryableStatus,
  isUnreachableError,
  parseRetryAfter,
  retryDelayMs,
  type RetryEvent,
} from './retry.js';

// ---------------------------------------------------------------------------------------------
// Closed vocabularies the server validates against (its risk engine and schemas use these lists)
// ---------------------------------------------------------------------------------------------

export const ACTION_TYPES = [
  'shell.exec',
  'git.push',
  'deploy',
  'db.migrate',
  'db.query',
  'payment',
  'email.send',
  'file.delete',
  'file.write',
  'iam.change',
  'other',
] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export const PAYLOAD_KINDS = ['diff', 'log', 'command', 'sql', 'text'] as const;
export type PayloadKind = (typeof PAYLOAD_KINDS)[number];

// ---------------------------------------------------------------------------------------------
// Request types (the body of POST /v1/handoffs)
// ---------------------------------------------------------------------------------------------

export interface HandoffActionInput {
  readonly type: ActionType;
  /** What the action is aimed at: a host, branch, environment, path, URL… */
  readonly target?: string;
  /** Payments: amount in the currency's major unit (12.5 = 12.50). */
  readonly amount?: number;
  /** Payments: ISO 4217 code. */
  readonly currency?: string;
  /** Emails: how many recipients. */
  readonly recipients_count?: number;
}

export interface HandoffOption {
  /** `^[a-z0-9_-]{1,32}$`. `deny` denies; every other option approves. */
  readonly id: string;
  /** At most 60 characters. */
  readonly label: string;
}

export interface HandoffPayloadInput {
  readonly kind: PayloadKind;
  /** At most 1 MiB of UTF-8. Stored encrypted; never sent to a channel. */
  readonly content: string;
}

export interface HandoffContextInput {
  readonly repo?: string;
  readonly branch?: string;
  readonly host?: string;
  readonly environment?: string;
}

export interface CreateHandoffInput {
  readonly action: HandoffActionInput;
  /** At most 200 characters. */
  readonly title: string;
  /** At most 2,000 characters. */
  readonly summary?: string;
  /** 2 to 6 options (at most 5 besides `deny`, which is added when missing); default approve/deny. */
  readonly options?: readonly HandoffOption[];
  readonly payload?: HandoffPayloadInput;
  /** Seconds until the handoff expires (a deny); the server applies its own default and bounds. */
  readonly timeout_s?: number;
  /** Where the server POSTs the decision (signed). */
  readonly callback_url?: string;
  readonly context?: HandoffContextInput;
}

// ---------------------------------------------------------------------------------------------
// Response types (the handoff view)
// ---------------------------------------------------------------------------------------------

export const HANDOFF_STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'] as const;
export type HandoffStatus = (typeof HANDOFF_STATUSES)[number];
export type TerminalHandoffStatus = Exclude<HandoffStatus, 'pending'>;

export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';

/** Why an approver denied (docs/handoffs.md "Rejection reasons"). */
export type RejectionReason = 'too_risky' | 'wrong_target' | 'needs_context' | 'not_now' | 'policy' | 'other';

export interface HandoffDecision {
  /** The option id chosen (`approve`, `deny` or a custom option). */
  readonly option: string;
  readonly outcome: 'approved' | 'denied';
  readonly decided_by: { readonly member_id: string; readonly name: string } | null;
  /** `web`, `slack`, `telegram`, `sms`, `phone`, … or `policy` (decided by the org's rule, no human). */
  readonly channel: string;
  /**
   * Why a deny denied, when the approver picked a reason (a closed code; the approver's own words
   * are `comment`); null for an approval or a deny without one.
   */
  readonly reason: RejectionReason | null;
  readonly comment: string | null;
  /** ISO 8601. */
  readonly at: string;
  /**
   * How strong the deciding answer was (docs/assurance.md); null for a decision by policy or one
   * made before the server recorded assurance.
   */
  readonly assurance: HandoffAssurance | null;
}

/** An answer's assurance level and the three facts it comes from (docs/assurance.md). */
export interface HandoffAssurance {
  readonly level: 'A1' | 'A2' | 'A3';
  readonly channel: 'web' | 'slack' | 'telegram' | 'sms' | 'phone';
  /** Web only: seconds since the session signed in. */
  readonly session_age_s: number | null;
  readonly step_up: 'none' | 'totp' | 'passkey';
  readonly identity: 'password' | 'password_mfa' | 'sso' | 'chat_link' | 'phone_number';
  /** SSO only: the ID token's `amr` and `acr` claims, as the provider sent them. */
  readonly amr: readonly string[] | null;
  readonly acr: string | null;
}

export interface Handoff {
  readonly id: string;
  readonly short_code: string;
  readonly status: HandoffStatus;
  readonly action: { readonly type: ActionType; readonly target: string | null };
  /** Redacted, as approvers see it. */
  readonly title: string;
  /** Redacted; empty when none was given. */
  readonly summary: string;
  /**
   * The server's optional summarizer (docs/summarizer.md): `model` when `model_summary` holds a
   * model's checked summary of the redacted payload; `deterministic` when the model failed or was
   * refused; null when it is off or has not run yet.
   */
  readonly summary_source: 'model' | 'deterministic' | null;
  readonly model_summary: string | null;
  /** Derived by the server (the agent's own claim is ignored); reasons are closed-enum codes. */
  readonly risk: { readonly level: RiskLevel; readonly reasons: readonly string[] };
  readonly options: readonly HandoffOption[];
  readonly approvals: { readonly required: number; readonly received: number };
  /** Approvers must confirm with a TOTP code (step-up) at this risk level. */
  readonly totp_required: boolean;
  /** The weakest assurance an approval may have, fixed when the handoff was created (docs/assurance.md). */
  readonly min_assurance: 'A1' | 'A2' | 'A3';
  readonly decision: HandoffDecision | null;
  /**
   * The payload's retention state: `none` (none sent), `stored`, `removed` (by the org's retention
   * window, on `removed_at`) or `not_stored` (the org keeps no payloads). `note` says it in words.
   */
  readonly payload: {
    readonly status: 'none' | 'stored' | 'removed' | 'not_stored';
    readonly removed_at: string | null;
    readonly note: string | null;
  };
  readonly expires_at: string;
  readonly created_at: string;
  readonly links: { readonly self: string; readonly events: string };
}

export function isTerminal(status: HandoffStatus): status is TerminalHandoffStatus {
  return status !== 'pending';
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** An RFC 9457 problem document as the server sends it (extension members kept). */
export interface Problem {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly code?: string;
  readonly [extension: string]: unknown;
}

/** The server answered with a 4xx/5xx status. */
export class OnyApiError extends Error {
  override readonly name = 'OnyApiError';
  /** The HTTP status. */
  readonly status: number;
  /** The problem's machine-readable `code`, or `http_<status>` when the answer was not problem+json. */
  readonly code: string;
  /** A human-readable explanation (the problem's `detail`, else its `title`, else the status text). */
  readonly detail: string;
  /** The parsed problem document, when there was one. */
  readonly problem: Problem | null;
  /** The answer's `Retry-After` header (503, 429), when it had one. */
  readonly retryAfter: string | null;

  constructor(
    status: number,
    code: string,
    detail: string,
    problem: Problem | null,
    retryAfter?: string | null,
  ) {
    super(`${detail} (HTTP ${status}, ${code})`);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.problem = problem;
    this.retryAfter = retryAfter ?? null;
  }
}

/** The server could not be reached, the request timed out, or the answer was not the API's. */
export class OnyNetworkError extends Error {
  override readonly name = 'OnyNetworkError';
  /**
   * The server could not be reached or did not answer in time (worth retrying); false for an answer
   * that is not the API's (a wrong URL, a proxy's page).
   */
  readonly transient: boolean;
  constructor(message: string, options?: { cause?: unknown; transient?: boolean }) {
    super(message, options);
    this.transient = options?.transient ?? true;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Builds the `OnyApiError` for a non-2xx answer from its status, status text and body text.
 * Exported for tests and for callers that make their own requests.
 */
export function parseProblem(
  status: number,
  statusText: string,
  body: string,
  retryAfter?: string | null,
): OnyApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body) as unknown;
  } catch {
    parsed = undefined;
  }
  const fallback = statusText.trim() !== '' ? statusText : `HTTP ${status}`;
  if (!isRecord(parsed)) {
    const text = body.trim().slice(0, 200);
    return new OnyApiError(
      status,
      `http_${status}`,
      text !== '' ? `${fallback}: ${text}` : fallback,
      null,
      retryAfter,
    );
  }
  const str = (key: string): string | undefined => {
    const v = parsed[key];
    return typeof v === 'string' && v.trim() !== '' ? v : undefined;
  };
  const detail = str('detail') ?? str('title') ?? str('message') ?? fallback;
  const code = str('code') ?? `http_${status}`;
  return new OnyApiError(status, code, detail, parsed as Problem, retryAfter);
}

function describeFetchFailure(err: unknown): string {
  if (err instanceof Error) {
    const cause: unknown = (err as Error & { cause?: unknown }).cause;
    if (isRecord(cause) && typeof cause.code === 'string') return `${err.message} (${cause.code})`;
    if (cause instanceof Error) return `${err.message} (${cause.message})`;
    return err.message;
  }
  return String(err);
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** The server's base URL, e.g. `https://ony.example.com` (a path prefix is kept). */
  readonly baseUrl: string;
  /** A device token (`ony_dev_…`). */
  readonly token: string;
  /** Defaults to the global `fetch`. */
  readonly fetch?: FetchLike;
  /**
   * How long one request may take beyond any long-poll wait before it is abandoned, in ms.
   * Default 30 s.
   */
  readonly requestTimeoutMs?: number;
}

export interface CreateHandoffOptions {
  /**
   * Makes the create safe to retry: the same key with the same body answers the same handoff;
   * the same key with another body is a 422. At most 200 characters.
   */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

export interface GetHandoffOptions {
  /** Long-poll: 0..60 s; the server answers as soon as the handoff is no longer pending. */
  readonly waitSeconds?: number;
  readonly signal?: AbortSignal;
}

export interface WaitForDecisionOptions {
  /** Give up (and return the last, still pending, view) after this long. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /**
   * The handoff as the caller last saw it (e.g. what `createHandoff` answered). Its `expires_at`
   * bounds the retries, and it is what is returned when the wait ends while the server is
   * unreachable.
   */
  readonly current?: Handoff;
  /**
   * An outage (connection refused or reset, timeouts, 502, 503, 504, 408, 429) is retried with
   * capped, jittered back-off (`RETRY_POLICY`, honouring Retry-After) until the wait ends or the
   * handoff's expiry (plus 15 s for the server to record it) passes, however many attempts that
   * takes. Other 5xx answers are retried this many times in a row before the last one is thrown.
   * Default 5. Any other 4xx is thrown at once.
   */
  readonly maxConsecutiveErrors?: number;
  /** Called before each retry, e.g. to log "server unreachable, retrying in 2 s". */
  readonly onRetry?: (event: RetryEvent) => void;
}

export interface OnyClient {
  createHandoff(input: CreateHandoffInput, options?: CreateHandoffOptions): Promise<Handoff>;
  getHandoff(id: string, options?: GetHandoffOptions): Promise<Handoff>;
  /**
   * Long-polls (at most 60 s per request) until the handoff leaves `pending` or `timeoutMs` passes,
   * and returns the last view: check `status`, it may still be `pending`. Keeps waiting through a
   * server restart or a database outage (see `WaitForDecisionOptions.maxConsecutiveErrors`); when
   * the wait ends while the server is still unreachable, it returns the last view it had (still
   * `pending`), or throws the last error when it never had one.
   */
  waitForDecision(id: string, options: WaitForDecisionOptions): Promise<Handoff>;
  /**
   * Withdraws a pending handoff (no approver is asked any more) and answers its view; cancelling a
   * cancelled one answers it again. A handoff already decided or expired is a 409 `OnyApiError`.
   */
  cancelHandoff(id: string, options?: { readonly signal?: AbortSignal }): Promise<Handoff>;
}

export const MAX_WAIT_SECONDS = 60;

function isHandoff(value: unknown): value is Handoff {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    typeof value.status === 'string' &&
    (HANDOFF_STATUSES as readonly string[]).includes(value.status) &&
    typeof value.short_code === 'string' &&
    isRecord(value.risk) &&
    typeof value.expires_at === 'string'
  );
}

/** How long past a handoff's expiry a wait keeps retrying, so the server can record the expiry. */
const EXPIRY_GRACE_MS = 15_000;

/** An outage worth retrying until the wait ends (RETRY_POLICY), a server error worth a few, or neither. */
function failureKind(err: unknown): 'outage' | 'server_error' | 'final' {
  if (err instanceof OnyNetworkError) return err.transient ? 'outage' : 'server_error';
  if (err instanceof OnyApiError) {
    if (isRetryableStatus(err.status)) return 'outage';
    return err.status >= 500 ? 'server_error' : 'final';
  }
  return 'final';
}

function reasonOf(err: unknown): string {
  if (err instanceof OnyApiError) return `HTTP ${err.status}`;
  let e: unknown = err;
  for (let i = 0; i < 5 && typeof e === 'object' && e !== null; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const inner = (e as { errors?: unknown }).errors;
    e = Array.isArray(inner) && inner.length > 0 ? inner[0] : (e as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * A signal that aborts when either does (with that one's reason). `AbortSignal.any` does this only
 * from Node 18.17 and 20.3; this package supports every Node 18. `dispose` drops the listeners once
 * the request is over.
 */
function eitherSignal(a: AbortSignal, b: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const dispose = (): void => {
    a.removeEventListener('abort', onAbort);
    b.removeEventListener('abort', onAbort);
  };
  function onAbort(this: AbortSignal): void {
    dispose();
    controller.abort(this.reason);
  }
  for (const s of [a, b]) {
    if (s.aborted) {
      controller.abort(s.reason);
      return { signal: controller.signal, dispose: () => {} };
    }
  }
  a.addEventListener('abort', onAbort);
  b.addEventListener('abort', onAbort);
  return { signal: controller.signal, dispose };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function createClient(options: ClientOptions): OnyClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;

  async function request(
    method: 'GET' | 'POST',
    path: string,
    init: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal; extraTimeoutMs?: number },
  ): Promise<Handoff> {
    const url = `${base}${path}`;
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      authorization: `Bearer ${options.token}`,
      ...init.headers,
    };
    let body: string | undefined;
    if (init.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.body);
    }
    const timeout = AbortSignal.timeout(requestTimeoutMs + (init.extraTimeoutMs ?? 0));
    const either = init.signal !== undefined ? eitherSignal(init.signal, timeout) : undefined;

    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, { method, headers, body, signal: either?.signal ?? timeout });
      text = await response.text();
    } catch (err) {
      // The caller's own abort is not a network problem: let it through as is.
      if (init.signal?.aborted) throw init.signal.reason;
      if (timeout.aborted) {
        throw new OnyNetworkError(`${method} ${url} timed out`, { cause: err });
      }
      throw new OnyNetworkError(`cannot reach ony at ${base}: ${describeFetchFailure(err)}`, {
        cause: err,
        // fetch's own failures are transport failures; a TLS certificate error is not an outage.
        transient: isUnreachableError(err) || !/certificate|CERT_|SSL/i.test(describeFetchFailure(err)),
      });
    } finally {
      either?.dispose();
    }
    if (!response.ok) {
      throw parseProblem(response.status, response.statusText, text, response.headers.get('retry-after'));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch (err) {
      throw new OnyNetworkError(
        `${method} ${url} answered ${response.status} with a body that is not JSON (is ONY_URL the ony server?)`,
        { cause: err, transient: false },
      );
    }
    if (!isHandoff(parsed)) {
      throw new OnyNetworkError(
        `${method} ${url} answered ${response.status} with something that is not a handoff`,
        { transient: false },
      );
    }
    return parsed;
  }

  const handoffPath = (id: string): string => `/v1/handoffs/${encodeURIComponent(id)}`;

  async function getHandoff(id: string, opts: GetHandoffOptions = {}): Promise<Handoff> {
    const wait =
      opts.waitSeconds === undefined
        ? undefined
        : Math.min(MAX_WAIT_SECONDS, Math.max(0, Math.ceil(opts.waitSeconds)));
    const query = wait !== undefined ? `?wait=${wait}` : '';
    return request('GET', `${handoffPath(id)}${query}`, {
      signal: opts.signal,
      extraTimeoutMs: (wait ?? 0) * 1000,
    });
  }

  return {
    async createHandoff(input, opts = {}) {
      const headers: Record<string, string> = {};
      if (opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
      return request('POST', '/v1/handoffs', { body: input, headers, signal: opts.signal });
    },

    getHandoff,

    async waitForDecision(id, opts) {
      const deadline = Date.now() + Math.max(0, opts.timeoutMs);
      const maxErrors = opts.maxConsecutiveErrors ?? 5;
      let last: Handoff | undefined = opts.current;
      /** Failures in a row, and of those the server errors that are not an outage. */
      let failures = 0;
      let serverErrors = 0;
      for (;;) {
        const startedAt = Date.now();
        const waitSeconds = Math.min(MAX_WAIT_SECONDS, Math.max(0, Math.ceil((deadline - startedAt) / 1000)));
        try {
          last = await getHandoff(id, { waitSeconds, signal: opts.signal });
          failures = 0;
          serverErrors = 0;
        } catch (err) {
          const kind = failureKind(err);
          if (kind === 'final') throw err;
          if (kind === 'server_error' && ++serverErrors >= maxErrors) throw err;
          // Retry until the wait ends, and not long past the handoff's expiry: by then it is expired.
          const expiresAt = last !== undefined ? Date.parse(last.expires_at) : Number.NaN;
          const until = Number.isFinite(expiresAt)
            ? Math.min(deadline, expiresAt + EXPIRY_GRACE_MS)
            : deadline;
          const now = Date.now();
          if (now >= until) {
            if (last !== undefined) return last;
            throw err;
          }
          failures++;
          const retryAfter = err instanceof OnyApiError ? parseRetryAfter(err.retryAfter, now) : undefined;
          const delayMs = Math.min(retryDelayMs(failures, Math.random(), retryAfter), until - now);
          opts.onRetry?.({ attempt: failures, delayMs, reason: reasonOf(err), error: err });
          await sleep(delayMs, opts.signal);
          continue;
        }
        if (isTerminal(last.status) || Date.now() >= deadline) return last;
        // A server (or proxy) that answers a long-poll early must not turn this into a busy loop.
        if (waitSeconds > 0 && Date.now() - startedAt < 1000) {
          await sleep(Math.min(1000, Math.max(0, deadline - Date.now())), opts.signal);
        }
      }
    },

    async cancelHandoff(id, opts = {}) {
      // No body: the cancel carries nothing but the id.
      return request('POST', `${handoffPath(id)}/cancel`, { signal: opts.signal });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Signed decision callbacks
// ---------------------------------------------------------------------------------------------

/** What ony POSTs to a handoff's `callback_url` once it is decided, expired or cancelled. */
export interface HandoffCallback {
  readonly type: 'handoff.decided';
  readonly data: Handoff;
  /** The `webhook-id` header: the same on every retry of one delivery, so use it to drop duplicates. */
  readonly id: string;
}

/**
 * Verifies a callback (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`)
 * with the device's `whsec_…` secret and answers its parsed body. `rawBody` must be the bytes as
 * received, before any JSON parsing. Throws `WebhookVerificationError` when the signature does not
 * match, the timestamp is more than 5 minutes off, or the signed body is not a handoff callback.
 *
 *   app.post('/ony-hook', express.text({ type: '*\/*' }), (req, res) => {
 *     const { data } = verifyCallback(process.env.ONY_WEBHOOK_SECRET!, req.headers, req.body);
 *     …
 */
export function verifyCallback(
  secret: string,
  headers: WebhookHeadersInput,
  rawBody: string | Uint8Array,
  options: { readonly now?: Date } = {},
): HandoffCallback {
  const body =
    typeof rawBody === 'string' ? rawBody : new TextDecoder('utf-8', { fatal: true }).decode(rawBody);
  verifyWebhook(secret, headers, body, options.now ?? new Date());
  let parsed: unknown;
  try {
    parsed = JSON.parse(body) as unknown;
  } catch {
    throw new WebhookVerificationError('the callback body is not JSON');
  }
  if (!isRecord(parsed) || parsed.type !== 'handoff.decided' || !isHandoff(parsed.data)) {
    throw new WebhookVerificationError('the callback body is not a handoff.decided event');
  }
  const get = (name: string): string =>
    typeof headers.get === 'function'
      ? ((headers as { get(name: string): string | null }).get(name) ?? '')
      : String(
          Object.entries(headers as Record<string, unknown>).find(([k]) => k.toLowerCase() === name)?.[1] ??
            '',
        );
  return { type: 'handoff.decided', data: parsed.data, id: get('webhook-id') };
}
