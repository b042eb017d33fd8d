/**
 * `/mcp`: ony's MCP tools over the Streamable HTTP transport (MCP spec 2025-06-18), for agents that
 * reach the server directly. Authenticated with the device token like `/v1/handoffs`
 * (`Authorization: Bearer ony_dev_…`); the tools call the handoffs service in-process.
 *
 * Stateless mode: every POST gets its own MCP server and transport, bound to the device that sent
 * it, and no `Mcp-Session-Id`. Nothing about a connection lives in one replica's memory, so any
 * replica behind a load balancer can answer any request (DESIGN.md §6), and a restart loses nothing;
 * the tools need no server-to-client requests, and a long wait streams its progress on the POST's own
 * response. GET (a standalone notification stream) and DELETE (ending a session) answer 405.
 */
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { HandoffsService } from '../../features/handoffs/handoffs.service.js';
import { createHandoffRenderer, type HandoffRenderer } from '../../features/handoffs/handoffs.view.js';
import type { Principal } from '../../features/auth/principal.js';
import type { AppInstance } from '../../http/app-types.js';
import { deviceOf } from '../../http/plugins/auth.js';
import { problemResponses } from '../../http/schemas.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { createApprovalMcpServer, type ApprovalPort } from './tools.js';

type DevicePrincipal = Principal & { kind: 'device' };

/** The tools' port over the handoffs service, for one device (the REST routes' semantics exactly). */
export function serviceApprovalPort(
  deps: {
    readonly handoffs: Pick<HandoffsService, 'create' | 'wait'>;
    readonly render: HandoffRenderer;
    readonly logger: Pick<Logger, 'error'>;
  },
  p: DevicePrincipal,
): ApprovalPort {
  const { handoffs, render, logger } = deps;
  return {
    async create(input, _signal, idempotencyKey) {
      const a = input.action;
      const { handoff, replayed } = await handoffs.create(
        p,
        {
          action: {
            type: a.type,
            ...(a.target !== undefined && { target: a.target }),
            ...(a.amount !== undefined && { amount: a.amount }),
            ...(a.currency !== undefined && { currency: a.currency }),
            ...(a.recipients_count !== undefined && { recipients_count: a.recipients_count }),
          },
          title: input.title,
          summary: input.summary ?? '',
          ...(input.payload !== undefined && { payload: input.payload }),
          ...(input.context !== undefined && { context: input.context }),
        },
        idempotencyKey,
      );
      return render(p, handoff, { justCreated: !replayed });
    },
    async get(id, waitSeconds) {
      return render(p, await handoffs.wait(p, id, Math.max(0, Math.min(60, waitSeconds))));
    },
    describeError(err) {
      if (err instanceof AppError && err.status < 500) return `${err.message} [${err.code}]`;
      // Anything else is ours: logged here, and the model gets no internals.
      logger.error({ err, device_id: p.deviceId }, 'mcp tool failed');
      return 'internal error in the ony server (logged)';
    },
  };
}

const methodNotAllowed = (reply: FastifyReply) =>
  reply
    .status(405)
    .header('allow', 'POST')
    .send({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed: this MCP endpoint is stateless; POST only' },
      id: null,
    });

export function mcpRoutes(
  app: AppInstance,
  deps: { handoffs: HandoffsService; db: Kysely<DB>; publicUrl: string; logger: Logger },
) {
  const render = createHandoffRenderer(deps);
  const tags = ['mcp'];
  const JsonRpc = Type.Unknown({ description: 'JSON-RPC 2.0 (application/json or text/event-stream)' });

  app.post(
    '/mcp',
    {
      config: { auth: 'device' },
      schema: {
        tags,
        summary: 'MCP Streamable HTTP endpoint (stateless): tools request_approval and get_approval',
        security: [{ deviceToken: [] }],
        response: { 200: JsonRpc, 202: Type.Null(), ...problemResponses },
      },
    },
    async (req, reply) => {
      const p = deviceOf(req);
      const server = createApprovalMcpServer(serviceApprovalPort({ ...deps, render }, p));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      // The SDK writes the answer (JSON or an SSE stream) to the raw response itself.
      reply.hijack();
      const res = reply.raw;
      res.setHeader('x-request-id', req.id);
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      try {
        await server.connect(transport);
        await transport.handleRequest(req.raw, res, req.body);
      } catch (err) {
        req.log.error({ err }, 'mcp request failed');
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }),
          );
        } else res.end();
      }
    },
  );

  for (const method of ['GET', 'DELETE'] as const) {
    app.route({
      method,
      url: '/mcp',
      config: { auth: 'device' },
      schema: {
        tags,
        summary: `Not used in stateless mode (405)`,
        security: [{ deviceToken: [] }],
        response: { 405: JsonRpc, ...problemResponses },
      },
      handler: async (_req, reply) => methodNotAllowed(reply),
    });
  }
}
