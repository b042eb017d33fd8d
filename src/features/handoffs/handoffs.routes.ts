import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { AppInstance } from '../../http/app-types.js';
import { deviceOf, memberOf } from '../../http/plugins/auth.js';
import { IdParams, problemResponses, TotpCode } from '../../http/schemas.js';
import { ACTION_TYPES, PAYLOAD_KINDS, RISK_LEVELS } from '../../core/risk/index.js';
import { HANDOFF_STATUSES } from '../../core/approval/decide.js';
import { AppError } from '../../lib/errors.js';
import type { Principal } from '../auth/principal.js';
import type { Handoff } from './handoffs.repository.js';
import type { CreateInput, HandoffsService } from './handoffs.service.js';
import { handoffView } from './handoffs.view.js';
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { withTenant } from '../../db/client.js';

const lit = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Short = (max: number) => Type.String({ maxLength: max });

const CreateBody = Type.Object(
  {
    action: Type.Object(
      {
        type: lit(ACTION_TYPES),
        target: Type.Optional(Short(500)),
        amount: Type.Optional(Type.Number({ minimum: 0 })),
        currency: Type.Optional(Type.String({ pattern: '^[A-Za-z]{3,8}$' })),
        recipients_count: Type.Optional(Type.Integer({ minimum: 0 })),
      },
      { additionalProperties: false },
    ),
    title: Type.String({ minLength: 1, maxLength: 200 }),
    summary: Type.Optional(Short(2000)),
    options: Type.Optional(
      Type.Array(
        Type.Object(
          {
            id: Type.String({ pattern: '^[a-z0-9_-]{1,32}$' }),
            label: Type.String({ minLength: 1, maxLength: 60 }),
          },
          { additionalProperties: false },
        ),
        {
          minItems: 2,
          maxItems: 6,
          description: 'approve/deny by default; up to 5 custom options plus "deny"',
        },
      ),
    ),
    payload: Type.Optional(
      Type.Object(
        { kind: lit(PAYLOAD_KINDS), content: Type.String({ maxLength: 1_048_576 }) },
        { additionalProperties: false },
      ),
    ),
    timeout_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 604_800 })),
    callback_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    context: Type.Optional(
      Type.Object(
        {
          repo: Type.Optional(Short(200)),
          branch: Type.Optional(Short(200)),
          host: Type.Optional(Short(200)),
          environment: Type.Optional(Short(200)),
        },
        { additionalProperties: false },
      ),
    ),
    /** Accepted for compatibility with agents that send it, and dropped unread: ony derives risk itself. */
    risk: Type.Optional(Type.Unknown({ description: 'ignored: the server derives the risk' })),
  },
  { additionalProperties: false },
);

const View = Type.Object(
  {
    id: Type.String(),
    short_code: Type.String(),
    status: lit(HANDOFF_STATUSES),
    action: Type.Object({ type: Type.String(), target: Type.Union([Type.String(), Type.Null()]) }),
    title: Type.String(),
    summary: Type.String(),
    risk: Type.Object({ level: lit(RISK_LEVELS), reasons: Type.Array(Type.String()) }),
    options: Type.Array(Type.Object({ id: Type.String(), label: Type.String() })),
    approvals: Type.Object({ required: Type.Integer(), received: Type.Integer() }),
    totp_required: Type.Boolean(),
    decision: Type.Union([
      Type.Null(),
      Type.Object({
        option: Type.String(),
        outcome: lit(['approved', 'denied'] as const),
        decided_by: Type.Union([Type.Null(), Type.Object({ member_id: Type.String(), name: Type.String() })]),
        channel: Type.String(),
        comment: Type.Union([Type.String(), Type.Null()]),
        at: Type.String(),
      }),
    ]),
    expires_at: Type.String(),
    created_at: Type.String(),
    links: Type.Object({ self: Type.String(), events: Type.String() }),
  },
  { $id: 'Handoff' },
);

export function handoffsRoutes(
  app: AppInstance,
  deps: { handoffs: HandoffsService; db: Kysely<DB>; publicUrl: string },
) {
  const { handoffs, db, publicUrl } = deps;
  const tags = ['handoffs'];
  app.addSchema(View);
  const ViewRef = Type.Ref('Handoff');

  const principalOf = (req: FastifyRequest): Principal => {
    if (req.principal === null) throw new AppError('unauthenticated');
    return req.principal;
  };

  /** The view with the decider's name and the approval count (a handoff just created has neither). */
  async function render(p: Principal, h: Handoff, opts: { justCreated?: boolean } = {}) {
    if (opts.justCreated === true) return handoffView(h, null, [], publicUrl);
    const [decider, approvals] = await Promise.all([
      h.decidedBy === null
        ? Promise.resolve(null)
        : withTenant(
            db,
            p.orgId,
            async (tx) =>
              (await tx.db
                .selectFrom('members')
                .select(['id', 'name'])
                .where('id', '=', h.decidedBy!)
                .executeTakeFirst()) ?? null,
          ),
      // With one approval needed, the count follows from the status; a quorum is read.
      h.requiredApprovals > 1
        ? handoffs.approvals(p, h.id)
        : Promise.resolve(h.status === 'approved' ? [{ memberId: h.decidedBy ?? '' }] : []),
    ]);
    return handoffView(h, decider, approvals, publicUrl);
  }

  app.post(
    '/v1/handoffs',
    {
      config: { auth: 'device' },
      schema: {
        tags,
        summary:
          'Ask for approval: the server derives the risk, escalates the redacted gist and records everything',
        security: [{ deviceToken: [] }],
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        }),
        body: CreateBody,
        response: { 200: ViewRef, 201: ViewRef, 413: Type.Ref('Problem'), ...problemResponses },
      },
    },
    async (req, reply) => {
      const p = deviceOf(req);
      const b = req.body;
      // Copy field by field: whatever the agent says about risk is never read.
      const input: CreateInput = {
        action: b.action,
        title: b.title,
        summary: b.summary ?? '',
        ...(b.options !== undefined && { options: b.options }),
        ...(b.payload !== undefined && { payload: b.payload }),
        ...(b.timeout_s !== undefined && { timeout_s: b.timeout_s }),
        ...(b.callback_url !== undefined && { callback_url: b.callback_url }),
        ...(b.context !== undefined && { context: b.context }),
      };
      const { handoff, replayed } = await handoffs.create(p, input, req.headers['idempotency-key']);
      if (replayed) void reply.header('idempotent-replayed', 'true');
      return reply.status(replayed ? 200 : 201).send(await render(p, handoff, { justCreated: !replayed }));
    },
  );

  app.get(
    '/v1/handoffs',
    {
      config: { auth: 'session', role: 'viewer' },
      schema: {
        tags,
        summary: 'The queue and history, newest first, with filters',
        querystring: Type.Object(
          {
            status: Type.Optional(lit(HANDOFF_STATUSES)),
            risk: Type.Optional(lit(RISK_LEVELS)),
            device_id: Type.Optional(Type.String({ format: 'uuid' })),
            limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]?|[1-4][0-9]{2}|500)$' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(ViewRef), ...problemResponses },
      },
    },
    async (req) => {
      const p = memberOf(req);
      const list = await handoffs.list(p, {
        status: req.query.status,
        riskLevel: req.query.risk,
        deviceId: req.query.device_id,
        limit: req.query.limit !== undefined ? Number(req.query.limit) : 100,
      });
      return Promise.all(list.map((h) => render(p, h)));
    },
  );

  app.get(
    '/v1/handoffs/:id',
    {
      config: { auth: 'agent-or-member' },
      schema: {
        tags,
        summary: 'A handoff; with ?wait=N (0..60) waits up to N seconds for a decision (long-poll)',
        params: IdParams,
        querystring: Type.Object(
          { wait: Type.Optional(Type.String({ pattern: '^([0-9]|[1-5][0-9]|60)$' })) },
          { additionalProperties: false },
        ),
        response: { 200: ViewRef, ...problemResponses },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const seconds = req.query.wait !== undefined ? Number(req.query.wait) : 0;
      return render(p, await handoffs.wait(p, req.params.id, seconds));
    },
  );

  app.get(
    '/v1/handoffs/:id/events',
    {
      config: { auth: 'agent-or-member' },
      schema: {
        tags,
        summary: 'Server-Sent Events: the handoff now and at every change, until it is final',
        params: IdParams,
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const id = req.params.id;
      const first = await handoffs.get(p, id);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
        'x-request-id': req.id,
      });
      let closed = false;
      const send = async (h: Handoff) => {
        if (closed) return;
        res.write(`event: handoff\ndata: ${JSON.stringify(await render(p, h))}\n\n`);
        if (h.status !== 'pending') finish();
      };
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      let unsubscribe: () => void = () => undefined;
      const deadline = setTimeout(
        () => void handoffs.get(p, id).then(send, finish),
        Math.max(0, first.expiresAt.getTime() - Date.now()) + 100,
      );
      function finish() {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        clearTimeout(deadline);
        unsubscribe();
        res.end();
      }
      req.raw.on('close', finish);
      unsubscribe = await handoffs.subscribe(id, () => void handoffs.get(p, id).then(send, finish));
      await send(await handoffs.get(p, id));
    },
  );

  app.post(
    '/v1/handoffs/:id/decision',
    {
      config: { auth: 'session', role: 'member' },
      schema: {
        tags,
        summary: 'Decide (exactly once): 200 with the decision, 202 while a quorum still needs approvals',
        params: IdParams,
        body: Type.Object(
          {
            decision: Type.String({ pattern: '^[a-z0-9_-]{1,32}$' }),
            comment: Type.Optional(Type.String({ maxLength: 1000 })),
            totp: Type.Optional(TotpCode),
          },
          { additionalProperties: false },
        ),
        response: { 200: ViewRef, 202: ViewRef, ...problemResponses },
      },
    },
    async (req, reply) => {
      const p = memberOf(req);
      const r = await handoffs.decide(
        p,
        req.params.id,
        { option: req.body.decision, comment: req.body.comment, totpCode: req.body.totp },
        'web',
      );
      return reply.status(r.outcome === 'recorded' ? 202 : 200).send(await render(p, r.handoff));
    },
  );

  app.post(
    '/v1/handoffs/:id/cancel',
    {
      config: { auth: 'device' },
      schema: {
        tags,
        summary: 'The agent withdraws its pending handoff',
        security: [{ deviceToken: [] }],
        params: IdParams,
        response: { 200: ViewRef, ...problemResponses },
      },
    },
    async (req) => {
      const p = deviceOf(req);
      return render(p, await handoffs.cancel(p, req.params.id));
    },
  );

  app.get(
    '/v1/admin/policies',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags: ['policies'],
        summary: "The org's risk and escalation policies (defaults filled in)",
        response: {
          200: Type.Object({ risk_policy: Type.Unknown(), escalation_policy: Type.Unknown() }),
          ...problemResponses,
        },
      },
    },
    async (req) => {
      const p = await handoffs.policies(memberOf(req));
      return { risk_policy: p.risk, escalation_policy: p.escalation };
    },
  );

  app.put(
    '/v1/admin/policies',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags: ['policies'],
        summary: 'Replace the risk and/or escalation policy (see docs/risk.md and docs/handoffs.md)',
        body: Type.Object(
          { risk_policy: Type.Optional(Type.Unknown()), escalation_policy: Type.Optional(Type.Unknown()) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: {
          200: Type.Object({ risk_policy: Type.Unknown(), escalation_policy: Type.Unknown() }),
          ...problemResponses,
        },
      },
    },
    async (req) => {
      const p = await handoffs.setPolicies(memberOf(req), req.body);
      return { risk_policy: p.risk, escalation_policy: p.escalation };
    },
  );
}
