/**
 * One error handler: AppError code -> status, everything rendered as problem+json (RFC 9457).
 * 5xx details are logged, never sent. A database that cannot be reached (lib/db-unavailable.ts)
 * is a 503 `unavailable` with Retry-After, whatever the route: the request changed nothing and
 * may be sent again.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { DATABASE_RETRY_AFTER_S, isDatabaseUnavailable } from '../../lib/db-unavailable.js';
import { AppError, ERROR_STATUS, ERROR_TITLE, type ErrorCode } from '../../lib/errors.js';
import { validationDetail, validationMessages } from './validation-errors.js';

/** The one detail a 503 `unavailable` says (fixed text: the cause stays in the log). */
export const UNAVAILABLE_DETAIL =
  'the database is unreachable right now; nothing was changed. Try again in a few seconds.';

const PROBLEM_TYPE_BASE = 'https://ony.dev/problems/';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: ErrorCode;
  errors?: { path: string; message: string }[];
  [extra: string]: unknown;
}

function problem(
  code: ErrorCode,
  detail: string | undefined,
  requestId: string,
  extra?: Record<string, unknown>,
): ProblemBody {
  return {
    type: `${PROBLEM_TYPE_BASE}${code}`,
    title: ERROR_TITLE[code],
    status: ERROR_STATUS[code],
    ...(detail !== undefined && { detail }),
    code,
    instance: `urn:ony:request:${requestId}`,
    ...extra,
  };
}

/** Maps Fastify's own errors (validation, body size, media type, rate limit) to our codes. */
function fromFastify(
  err: FastifyError,
  bodyLimit: number,
): {
  code: ErrorCode;
  detail?: string;
  extra?: Record<string, unknown>;
} {
  if (err.validation) {
    const errors = validationMessages(err.validation, err.validationContext ?? 'body');
    return { code: 'validation_failed', detail: validationDetail(errors), extra: { errors } };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        code: 'payload_too_large',
        detail: `request body exceeds the limit of ${bodyLimit.toLocaleString('en-US')} bytes`,
        extra: { limit_bytes: bodyLimit },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'unsupported_media_type', detail: 'send application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'bad_request', detail: 'body is empty but content-type is application/json' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'bad_request', detail: 'body is not valid JSON' };
  }
  if (err.statusCode === 429) return { code: 'rate_limited', detail: err.message };
  if (err.statusCode === 400 && err instanceof SyntaxError)
    return { code: 'bad_request', detail: 'body is not valid JSON' };
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    const match = (Object.entries(ERROR_STATUS) as [ErrorCode, number][]).find(
      ([, s]) => s === err.statusCode,
    );
    return { code: match?.[0] ?? 'bad_request', detail: err.message };
  }
  return { code: 'internal' };
}

/** The challenge of every 401 (RFC 6750 §3; no `error` when no credentials were sent). */
export const BEARER = 'Bearer realm="ony"';

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    const unavailable = !(err instanceof AppError) && isDatabaseUnavailable(err);
    const mapped: { code: ErrorCode; detail?: string; extra?: Record<string, unknown> | undefined } =
      err instanceof AppError
        ? { code: err.code, detail: err.message, extra: err.extra as Record<string, unknown> | undefined }
        : unavailable
          ? { code: 'unavailable' }
          : fromFastify(err as FastifyError, request.routeOptions.bodyLimit);
    const status = ERROR_STATUS[mapped.code];
    if (unavailable) {
      request.log.warn({ err }, 'request failed: the database is unavailable');
    } else if (status >= 500) {
      request.log.error({ err }, 'request failed');
    } else {
      request.log.info({ code: mapped.code, status }, 'request refused');
    }
    // A 503 says what the caller waits for (its detail is written for them); other 5xx say nothing.
    const detail =
      mapped.code === 'unavailable'
        ? (mapped.detail ?? UNAVAILABLE_DETAIL)
        : status >= 500 && mapped.code !== 'not_ready'
          ? undefined
          : mapped.detail;
    const body = problem(mapped.code, detail, request.id, mapped.extra);
    if (status === 429) void reply.header('retry-after', reply.getHeader('retry-after') ?? '60');
    if (status === 503) {
      void reply.header('retry-after', reply.getHeader('retry-after') ?? String(DATABASE_RETRY_AFTER_S));
    }
    // RFC 6750 §3: a route may have set a more precise challenge (a bearer token that was refused).
    if (status === 401) void reply.header('www-authenticate', reply.getHeader('www-authenticate') ?? BEARER);
    return reply.status(status).type('application/problem+json').send(body);
  });

  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .type('application/problem+json')
      .send(problem('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`, request.id)),
  );
}
