/**
 * The API client: same-origin fetch with the session cookie, the CSRF token on every write, and
 * problem+json errors turned into ApiError (code, status, detail) for the screens to show.
 */

export interface Problem {
  readonly type?: string;
  readonly title?: string;
  readonly status: number;
  readonly detail?: string;
  readonly code?: string;
  readonly errors?: readonly { path: string; message: string }[];
  readonly reason?: string;
  /** Which body field a 422 is about (e.g. `confirm_short_code`). */
  readonly field?: string;
  /** Extend beyond the policy's maximum: how many seconds may still be added. */
  readonly max_extend_s?: number;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title ?? `request failed (${problem.status})`);
    this.name = 'ApiError';
    this.status = problem.status;
    this.code = problem.code ?? 'unknown';
    this.problem = problem;
  }
}

let csrfToken: string | null = null;
const unauthenticatedListeners = new Set<() => void>();

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when the API says the session is gone (so the app can show the sign-in page). */
export function onUnauthenticated(listener: () => void): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError({ status: 0, code: 'network', detail: 'the server cannot be reached; try again' });
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = undefined;
  if (text !== '') {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const problem: Problem =
      typeof data === 'object' && data !== null
        ? { ...(data as Problem), status: res.status }
        : { status: res.status, detail: `request failed (${res.status})` };
    const error = new ApiError(problem);
    if (res.status === 401 && (error.code === 'unauthenticated' || error.code === 'session_expired')) {
      for (const l of unauthenticatedListeners) l();
    }
    throw error;
  }
  return data as T;
}

/** A message a person can act on, for any error a screen caught. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'rate_limited') return `${err.message} (too many attempts: wait before trying again)`;
    // The server (or its database) is briefly away: nothing was changed, and the same action can be sent again.
    if (err.status === 503 || err.status === 502 || err.status === 504) {
      return 'ony is briefly unavailable (its database cannot be reached), so nothing was changed. Try again in a few seconds.';
    }
    const fields = err.problem.errors?.map((e) => `${e.path}: ${e.message}`).join('; ');
    return fields !== undefined && fields !== '' && err.code === 'validation_failed'
      ? `${err.message} (${fields})`
      : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

export const qs = (params: Record<string, string | undefined>): string => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') p.set(k, v);
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
};
