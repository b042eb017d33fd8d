/**
 * One error handler: AppError code -> status, everything rendered as problem+json (RFC 9457).
 * 5xx details are logged, never sent.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, ERROR_STATUS, ERROR_TITLE, type ErrorCode } from '../../lib/errors.js';

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
function fromFastify(err: FastifyError): {
  code: ErrorCode;
  detail?: string;
  extra?: Record<string, unknown>;
} {
  if (err.validation) {
    return {
      code: 'validation_failed',
      detail: err.message,
      extra: {
        errors: err.validation.map((v) => ({
          path: `${err.validationContext ?? 'body'}${v.instancePath || ''}`,
          message: v.message ?? 'invalid',
        })),
      },
    };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'payload_too_large', detail: 'request body exceeds the size limit' };
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

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    const mapped =
      err instanceof AppError
        ? { code: err.code, detail: err.message, extra: err.extra as Record<string, unknown> | undefined }
        : fromFastify(err as FastifyError);
    const status = ERROR_STATUS[mapped.code];
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
    } else {
      request.log.info({ code: mapped.code, status }, 'request refused');
    }
    const body = problem(mapped.code, status >= 500 ? undefined : mapped.detail, request.id, mapped.extra);
    if (status === 429) void reply.header('retry-after', reply.getHeader('retry-after') ?? '60');
    if (status === 401) void reply.header('www-authenticate', 'Bearer realm="ony"');
    return reply.status(status).type('application/problem+json').send(body);
  });

  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .type('application/problem+json')
      .send(problem('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`, request.id)),
  );
}
