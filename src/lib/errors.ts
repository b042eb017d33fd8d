/**
 * Typed application errors. Code throws AppError with a string-union code; the one HTTP error
 * handler maps code -> status and renders problem+json (RFC 9457).
 */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  totp_required: 401,
  totp_invalid: 401,
  passkey_required: 401,
  passkey_invalid: 401,
  session_expired: 401,
  csrf_failed: 403,
  forbidden: 403,
  assurance_required: 403,
  not_found: 404,
  conflict: 409,
  last_admin: 409,
  gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  not_ready: 503,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_TITLE: Record<ErrorCode, string> = {
  bad_request: 'Bad request',
  validation_failed: 'Request body or parameters are invalid',
  unauthenticated: 'Authentication required',
  invalid_credentials: 'Email or password is wrong',
  totp_required: 'A TOTP code is required',
  totp_invalid: 'The TOTP code is wrong or was already used',
  passkey_required: 'A passkey is required',
  passkey_invalid: 'The passkey answer is wrong, stale or was already used',
  session_expired: 'Session expired; sign in again',
  csrf_failed: 'Missing or wrong CSRF token',
  forbidden: 'Your role does not allow this',
  assurance_required: 'This approval needs a stronger proof of who you are (docs/assurance.md)',
  not_found: 'Not found',
  conflict: 'Conflict with the current state',
  last_admin: 'An organization must keep at least one active admin',
  gone: 'This link was already used or has expired',
  payload_too_large: 'Request body too large',
  unsupported_media_type: 'Unsupported media type',
  unprocessable: 'The request cannot be processed',
  rate_limited: 'Too many requests',
  not_ready: 'Not ready',
  unavailable: 'Temporarily unavailable; try again',
  internal: 'Internal server error',
};

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly extra?: Readonly<Record<string, unknown>>,
  ) {
    super(detail ?? ERROR_TITLE[code]);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}

export const notFound = (what: string): AppError => new AppError('not_found', `${what} not found`);
