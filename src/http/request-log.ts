/**
 * Request logging: one line per request with what an operator needs (method, route template,
 * status, duration) and nothing a log should not hold. Fastify's default wrote two lines with the
 * whole request and response objects (which the phone-masking pass then walked on every request)
 * and echoed unmatched URLs.
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override routeNotFound(): void {}

  /** The error handler (plugins/errors.ts) has logged any error already; this line only closes it. */
  override requestCompleted(_error: unknown, req: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: req.method,
      // The route template, never the raw URL: no ids, link tokens or query strings in logs.
      route: req.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    reply.log.info(line, 'request');
  }
}
