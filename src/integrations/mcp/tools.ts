/**
 * ony's MCP tools, defined once for both transports: `ony mcp` (stdio, a thin process over the HTTP
 * client) and `/mcp` inside the server (Streamable HTTP, over the handoffs service). Each transport
 * supplies an `ApprovalPort`; the names, input schemas (with bounds), the waiting and the mapping of a
 * handoff to the tool result live here.
 *
 *   request_approval  creates a handoff (the server derives the risk; the tool has no risk input and
 *                     drops one if sent) and waits up to wait_s for the decision
 *   get_approval      reads a handoff by id, optionally waiting up to wait_s
 *
 * A decision (approved, denied, expired, cancelled) or "still pending" is a normal result with
 * structured content; invalid input, a refused request or an unreachable server is a tool error
 * (`isError`) with a message the model can act on. Nothing here imports the server.
 */
import { REJECTION_REASONS, REJECTION_REASON_TEXT } from '../../core/approval/rejection.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { CreateHandoffInput, Handoff } from '@ony/client';
import { ACTION_TYPES, LIMITS, PAYLOAD_KINDS } from '../../core/risk/types.js';

/** What a transport gives the tools: create a handoff, and read one (long-polling up to 60 s). */
export interface ApprovalPort {
  /** With `idempotencyKey`, the same key and input answer the handoff already made (HTTP `Idempotency-Key`). */
  create(input: CreateHandoffInput, signal: AbortSignal, idempotencyKey?: string): Promise<Handoff>;
  /**
   * The handoff now, or as soon as it leaves pending within `waitSeconds` (0..60). `current` is the
   * view the tool already has: a port that waits over the network returns it (still pending) when
   * the server stays unreachable for the whole wait, rather than failing the call.
   */
  get(id: string, waitSeconds: number, signal: AbortSignal, current?: Handoff): Promise<Handoff>;
  /** The message the model sees when `create` or `get` throws (never a stack, a token or a payload). */
  describeError(err: unknown): string;
}

/** How long one tool call may wait for a human. MCP clients time calls out (the TS SDK after 60 s
 *  unless progress resets it), so the default stays below that; a pending answer says how to go on. */
export const DEFAULT_WAIT_S = 45;
export const MAX_WAIT_S = 900;
/** One long-poll slice: progress notifications go out between slices. */
const SLICE_S = 15;

/**
 * The keys `Idempotency-Key` carries unchanged over HTTP (`POST /v1/handoffs` takes 1..200 characters;
 * `ony mcp` sends the key in that header): 1..200 printable ASCII characters, with no space at either
 * end (HTTP trims it). Anything else is refused before a handoff is made, over both transports alike.
 */
export const IDEMPOTENCY_KEY_MAX_CHARS = 200;
const IDEMPOTENCY_KEY = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const waitS = z
  .number()
  .int()
  .min(0)
  .max(MAX_WAIT_S)
  .optional()
  .describe(
    `seconds to wait for a human decision in this call (0..${MAX_WAIT_S}, default ${DEFAULT_WAIT_S}); ` +
      'if still pending, call get_approval with the id to keep waiting',
  );

export const requestApprovalInput = {
  action_type: z.enum(ACTION_TYPES).describe('what kind of action needs approval'),
  title: z
    .string()
    .min(1)
    .max(LIMITS.titleMaxChars)
    .describe('what you want to do, in one line (approvers see it redacted, e.g. on a phone call)'),
  summary: z.string().max(LIMITS.summaryMaxChars).optional().describe('why, and what happens if approved'),
  target: z
    .string()
    .max(LIMITS.targetMaxChars)
    .optional()
    .describe('what the action is aimed at: host, branch, environment, path, URL'),
  payload: z
    .object({
      kind: z.enum(PAYLOAD_KINDS),
      content: z.string().max(LIMITS.payloadMaxBytes),
    })
    .optional()
    .describe('the exact command, diff, SQL or text (stored encrypted, shown only in the dashboard)'),
  context: z
    .object({
      repo: z.string().max(LIMITS.contextFieldMaxChars).optional(),
      branch: z.string().max(LIMITS.contextFieldMaxChars).optional(),
      host: z.string().max(LIMITS.contextFieldMaxChars).optional(),
      environment: z.string().max(LIMITS.contextFieldMaxChars).optional(),
    })
    .optional()
    .describe(
      'where the action runs; the server uses it to derive the risk (e.g. production, a protected branch)',
    ),
  idempotency_key: z
    .string()
    .min(1)
    .max(IDEMPOTENCY_KEY_MAX_CHARS)
    .regex(IDEMPOTENCY_KEY, 'must be printable ASCII with no space at either end')
    .optional()
    .describe(
      'makes a retry safe: calling again with the same key and the same request answers the same ' +
        'approval request instead of creating another (1..200 printable ASCII characters, e.g. a UUID ' +
        'you generate once per action); the same key with a different request is refused',
    ),
  wait_s: waitS,
};

export const getApprovalInput = {
  id: z
    .string()
    .regex(UUID, 'must be a handoff id (a UUID)')
    .describe('the id that request_approval answered'),
  wait_s: waitS,
};

const Decision = z.object({
  outcome: z.enum(['approved', 'denied']),
  option: z.string(),
  decided_by: z.string().nullable().describe('the approver, or null when the org policy decided'),
  channel: z.string(),
  reason: z
    .enum(REJECTION_REASONS)
    .nullable()
    .describe('why the approver denied, when they picked a reason; their own words are in comment'),
  comment: z.string().nullable(),
  at: z.string(),
});

export const approvalOutput = {
  id: z.string(),
  short_code: z.string(),
  status: z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']),
  approved: z.boolean().describe('true only when a human (or the org policy) approved: proceed only then'),
  title: z.string(),
  risk: z.object({ level: z.enum(['low', 'medium', 'high', 'critical']), reasons: z.array(z.string()) }),
  decision: Decision.nullable(),
  expires_at: z.string(),
};

export type ApprovalResult = {
  id: string;
  short_code: string;
  status: Handoff['status'];
  approved: boolean;
  title: string;
  risk: { level: Handoff['risk']['level']; reasons: string[] };
  decision: z.infer<typeof Decision> | null;
  expires_at: string;
};

/** Text from approvers and agents goes back to a model: one line, no control characters. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
}

export function toResult(h: Handoff): ApprovalResult {
  const d = h.decision;
  return {
    id: h.id,
    short_code: h.short_code,
    status: h.status,
    approved: h.status === 'approved',
    title: h.title,
    risk: { level: h.risk.level, reasons: [...h.risk.reasons] },
    decision:
      d === null
        ? null
        : {
            outcome: d.outcome,
            option: d.option,
            decided_by: d.decided_by?.name ?? null,
            channel: d.channel,
            reason: d.reason,
            comment: d.comment,
            at: d.at,
          },
    expires_at: h.expires_at,
  };
}

/** The one line the model reads, e.g. `approved by Alice via web: ship it` or what to do next. */
export function describeResult(r: ApprovalResult, waitedS: number): string {
  const risk = `risk ${r.risk.level}${r.risk.reasons.length > 0 ? ` (${r.risk.reasons.join(', ')})` : ''}`;
  const ref = `handoff ${r.id}, code ${oneLine(r.short_code)}, ${risk}`;
  if (r.status === 'pending') {
    return (
      `PENDING: no decision yet after ${waitedS}s (${ref}; expires ${r.expires_at}). ` +
      'Do not proceed. Call get_approval with this id and wait_s to keep waiting.'
    );
  }
  if (r.status === 'expired') return `EXPIRED: nobody decided in time (${ref}). Do not proceed.`;
  if (r.status === 'cancelled') return `CANCELLED: the request was withdrawn (${ref}). Do not proceed.`;
  const d = r.decision;
  let line = r.status === 'approved' ? 'APPROVED' : 'DENIED';
  if (d !== null) {
    if (d.option !== 'approve' && d.option !== 'deny') line += ` with option "${oneLine(d.option)}"`;
    line +=
      d.decided_by !== null
        ? ` by ${oneLine(d.decided_by)} via ${oneLine(d.channel)}`
        : ` by ${oneLine(d.channel)}`;
    if (d.reason !== null) line += ` (reason: ${REJECTION_REASON_TEXT[d.reason]}, ${d.reason})`;
    if (d.comment !== null && oneLine(d.comment) !== '') line += `: ${oneLine(d.comment)}`;
  }
  line += ` (${ref}).`;
  return r.status === 'approved' ? `${line} You may proceed.` : `${line} Do not proceed.`;
}

function toolError(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

interface CallExtra {
  readonly signal: AbortSignal;
  readonly _meta?: { progressToken?: string | number } | undefined;
  sendNotification(n: {
    method: 'notifications/progress';
    params: { progressToken: string | number; progress: number; total?: number; message?: string };
  }): Promise<void>;
}

/** Long-polls in slices until the handoff leaves pending or `seconds` pass, reporting progress. */
async function waitFor(
  port: ApprovalPort,
  first: Handoff,
  seconds: number,
  extra: CallExtra,
): Promise<{ handoff: Handoff; waitedS: number }> {
  const startedAt = Date.now();
  const deadline = startedAt + seconds * 1000;
  const token = extra._meta?.progressToken;
  let h = first;
  while (h.status === 'pending') {
    // The client cancelled the call or went away: stop waiting (its answer has nowhere to go).
    extra.signal.throwIfAborted();
    const left = Math.ceil((deadline - Date.now()) / 1000);
    if (left <= 0) break;
    if (token !== undefined) {
      // Before each slice (not after the last: the SDK client drops a progress notification that
      // arrives with the result). Clients that reset their timeout on progress can wait past it.
      await extra
        .sendNotification({
          method: 'notifications/progress',
          params: {
            progressToken: token,
            progress: Math.round((Date.now() - startedAt) / 1000),
            total: seconds,
            message: `waiting for a human decision on ${h.short_code}`,
          },
        })
        .catch(() => undefined);
    }
    h = await port.get(h.id, Math.min(left, SLICE_S), extra.signal, h);
  }
  return { handoff: h, waitedS: Math.round((Date.now() - startedAt) / 1000) };
}

function answer(h: Handoff, waitedS: number): CallToolResult {
  const result = toResult(h);
  return { content: [{ type: 'text', text: describeResult(result, waitedS) }], structuredContent: result };
}

export const SERVER_INFO = { name: 'ony', version: '0.1.0' } as const;

const INSTRUCTIONS =
  'ony asks a human to approve an action before you take it. Call request_approval before anything ' +
  'risky (deploys, pushes, deletions, payments, migrations, shell commands with side effects) and ' +
  'proceed only when the answer says APPROVED. The server derives the risk itself.';

/** An MCP server with ony's tools over `port` (one per connection; stateless HTTP makes one per request). */
export function createApprovalMcpServer(port: ApprovalPort): McpServer {
  const server = new McpServer(SERVER_INFO, { instructions: INSTRUCTIONS });

  server.registerTool(
    'request_approval',
    {
      title: 'Ask a human to approve an action',
      description:
        'Creates an approval request (a handoff) and waits up to wait_s seconds for a human decision. ' +
        'Answers status approved, denied, expired, cancelled or pending (with the id to keep waiting), ' +
        'the short code approvers see, the risk level and reasons derived by the server, and who decided ' +
        'on which channel. Proceed only when status is approved. Pass an idempotency_key to retry safely ' +
        'after a timeout: the same key answers the same request.',
      inputSchema: requestApprovalInput,
      outputSchema: approvalOutput,
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    async (args, extra) => {
      // Field by field: nothing the caller says about risk (or anything else) is passed on.
      const input: CreateHandoffInput = {
        action: { type: args.action_type, ...(args.target !== undefined && { target: args.target }) },
        title: args.title,
        ...(args.summary !== undefined && { summary: args.summary }),
        ...(args.payload !== undefined && {
          payload: { kind: args.payload.kind, content: args.payload.content },
        }),
        ...(args.context !== undefined && { context: args.context }),
      };
      let created: Handoff;
      try {
        created = await port.create(input, extra.signal, args.idempotency_key);
      } catch (err) {
        return toolError(`ony did not create the approval request: ${port.describeError(err)}`);
      }
      try {
        const { handoff, waitedS } = await waitFor(port, created, args.wait_s ?? DEFAULT_WAIT_S, extra);
        return answer(handoff, waitedS);
      } catch (err) {
        return toolError(
          `approval request ${created.id} (code ${created.short_code}) was created, but waiting for the ` +
            `decision failed: ${port.describeError(err)}. Call get_approval with this id.`,
        );
      }
    },
  );

  server.registerTool(
    'get_approval',
    {
      title: 'Check an approval request',
      description:
        'Reads an approval request by id and, with wait_s, waits up to that many seconds for its decision. ' +
        'Same answer as request_approval.',
      inputSchema: getApprovalInput,
      outputSchema: approvalOutput,
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    async (args, extra) => {
      try {
        const first = await port.get(args.id, 0, extra.signal);
        const { handoff, waitedS } = await waitFor(port, first, args.wait_s ?? 0, extra);
        return answer(handoff, waitedS);
      } catch (err) {
        return toolError(`cannot read approval request ${args.id}: ${port.describeError(err)}`);
      }
    },
  );

  return server;
}
