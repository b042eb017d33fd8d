import { Type, type Static } from '@sinclair/typebox';
import { SKIP_REASONS } from '../../core/policy/attempt-outcome.js';
import type { FastifyRequest } from 'fastify';
import type { AppInstance } from '../../http/app-types.js';
import { deviceOf, memberOf } from '../../http/plugins/auth.js';
import { IdParams, problemResponses, TotpCode } from '../../http/schemas.js';
import { ACTION_TYPES, REASONS, RISK_LEVELS, type ReasonCode } from '../../core/risk/index.js';
import { HANDOFF_STATUSES } from '../../core/approval/decide.js';
import { REJECTION_REASONS } from '../../core/approval/rejection.js';
import { AuthenticationResponse } from '../passkeys/passkeys.schemas.js';
import type { AuthenticationResponseJSON } from '../passkeys/passkeys.service.js';
import { AppError } from '../../lib/errors.js';
import type { Principal } from '../auth/principal.js';
import { revokedReason, type Revocation } from '../auth/revocation.js';
import type { Handoff } from './handoffs.repository.js';
import type { CreateInput, HandoffsService } from './handoffs.service.js';
import { AssuranceSchema, CreateHandoffBody, HandoffViewSchema, lit } from './handoffs.schemas.js';
import { createHandoffRenderer } from './handoffs.view.js';
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import { withTenant } from '../../db/client.js';
import { listDevices } from '../devices/devices.repository.js';

const ListQuery = Type.Object(
  {
    status: Type.Optional(lit(HANDOFF_STATUSES)),
    risk: Type.Optional(lit(RISK_LEVELS)),
    device_id: Type.Optional(Type.String({ format: 'uuid' })),
    action_type: Type.Optional(lit(ACTION_TYPES)),
    q: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'Free text: a case-insensitive part of the title, the target or the short code',
      }),
    ),
    limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]?|[1-4][0-9]{2}|500)$' })),
    before: Type.Optional(
      Type.String({
        format: 'uuid',
        description: 'Keyset paging: the id of the last handoff of the previous page',
      }),
    ),
  },
  { additionalProperties: false },
);
const listFilter = (q: Static<typeof ListQuery>) => ({
  status: q.status,
  riskLevel: q.risk,
  deviceId: q.device_id,
  actionType: q.action_type,
  text: q.q?.trim(),
  before: q.before,
  limit: q.limit !== undefined ? Number(q.limit) : 100,
});

export function handoffsRoutes(
  app: AppInstance,
  deps: {
    handoffs: HandoffsService;
    db: Kysely<DB>;
    publicUrl: string;
    /** Streams of a revoked principal end; each event is sent only after re-checking it. */
    revocation: Pick<Revocation, 'track' | 'isValid'>;
  },
) {
  const { handoffs, db, publicUrl, revocation } = deps;
  /** The last event of a stream whose principal was revoked, before it ends. */
  const revokedEvent = (p: Principal) =>
    `event: revoked\ndata: ${JSON.stringify({ reason: revokedReason(p) })}\n\n`;
  const tags = ['handoffs'];
  app.addSchema(HandoffViewSchema);
  const ViewRef = Type.Ref('Handoff');

  const principalOf = (req: FastifyRequest): Principal => {
    if (req.principal === null) throw new AppError('unauthenticated');
    return req.principal;
  };

  const render = createHandoffRenderer({ handoffs, db, publicUrl });

  // The dashboard's rows: the agent-facing view plus the requesting device's name.
  const DeviceRef = Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]);
  const Row = Type.Object({ handoff: ViewRef, device: DeviceRef });
  const deviceNames = async (p: Principal) =>
    new Map((await withTenant(db, p.orgId, (tx) => listDevices(tx))).map((d) => [d.id, d.name]));
  const rowOf = async (p: Principal, h: Handoff, names: Map<string, string>) => {
    const name = names.get(h.deviceId);
    return { handoff: await render(p, h), device: name === undefined ? null : { id: h.deviceId, name } };
  };

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
        body: CreateHandoffBody,
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
        querystring: ListQuery,
        response: { 200: Type.Array(ViewRef), ...problemResponses },
      },
    },
    async (req) => {
      const p = memberOf(req);
      return render.page(p, await handoffs.list(p, listFilter(req.query)));
    },
  );

  app.get(
    '/v1/handoffs/:id',
    {
      config: { auth: 'agent-or-member' },
      schema: {
        tags,
        summary: 'A handoff; with ?wait=N (0..60) waits up to N seconds for a decision (long-poll)',
        description:
          'A long-poll whose caller is revoked meanwhile (the device revoked; the session signed out, revoked or ended by a deactivation, deletion, password change or reset) ends at once with 401 problem+json (`reason`: `device_revoked` or `session_ended`), on whichever replica it is parked; the caller is also checked again before the answer, so a revoked caller never receives a decision.',
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
        description:
          'When the caller is revoked (device revoked, session ended) the stream sends a last `event: revoked` with `{"reason":"device_revoked"|"session_ended"}` and ends; the caller is checked again before every event, so no decision reaches a revoked caller.',
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
        try {
          const data = JSON.stringify(await render(p, h));
          // Belt and braces: a lost revocation message must never let a decision reach a revoked principal.
          if (!(await revocation.isValid(p))) return revoked();
          if (closed) return;
          res.write(`event: handoff\ndata: ${data}\n\n`);
          if (h.status !== 'pending') finish();
          // An Extend moved the expiry: the expiry event comes at the new deadline.
          else if (h.expiresAt.getTime() !== armedFor) armDeadline(h.expiresAt);
        } catch (err) {
          // Unsure whether the caller is still allowed: end the stream (the client reconnects).
          req.log.warn({ err, handoff: id }, 'handoff events: could not send an event');
          finish();
        }
      };
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      let unsubscribe: () => void = () => undefined;
      let untrack: () => void = () => undefined;
      let deadline: NodeJS.Timeout | undefined;
      let armedFor = 0;
      function armDeadline(at: Date) {
        clearTimeout(deadline);
        armedFor = at.getTime();
        deadline = setTimeout(
          () => void handoffs.get(p, id).then(send, finish),
          Math.max(0, at.getTime() - Date.now()) + 100,
        );
      }
      armDeadline(first.expiresAt);
      function finish() {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        clearTimeout(deadline);
        unsubscribe();
        untrack();
        res.end();
      }
      function revoked() {
        if (!closed) res.write(revokedEvent(p));
        finish();
      }
      req.raw.on('close', finish);
      untrack = await revocation.track(p, revoked);
      unsubscribe = await handoffs.subscribe(id, () => void handoffs.get(p, id).then(send, finish));
      if (closed) {
        unsubscribe();
        untrack();
        return;
      }
      await send(await handoffs.get(p, id));
    },
  );

  // Org streams never end by themselves: a server that shuts down ends them (the browser reconnects elsewhere).
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const finish of [...openStreams]) finish();
  });

  app.get(
    '/v1/dashboard/handoffs',
    {
      config: { auth: 'session', role: 'viewer' },
      schema: {
        tags,
        summary: 'For the dashboard: the queue and history like GET /v1/handoffs, each with its device',
        querystring: ListQuery,
        response: { 200: Type.Array(Row), ...problemResponses },
      },
    },
    async (req) => {
      const p = memberOf(req);
      const [list, names] = await Promise.all([handoffs.list(p, listFilter(req.query)), deviceNames(p)]);
      const views = await render.page(p, list);
      return list.map((h, i) => {
        const name = names.get(h.deviceId);
        return { handoff: views[i]!, device: name === undefined ? null : { id: h.deviceId, name } };
      });
    },
  );

  app.get(
    '/v1/handoffs/stream',
    {
      config: { auth: 'session', role: 'viewer' },
      schema: {
        tags,
        summary:
          "Server-Sent Events for the dashboard: `handoff` with {handoff, device} whenever one of the org's handoffs is created or changes",
        description:
          'Starts with `event: ready`. When the session ends (signed out, revoked, the member deactivated or deleted) the stream sends a last `event: revoked` with `{"reason":"session_ended"}` and ends; the session is checked again before every event.',
      },
    },
    async (req, reply) => {
      const p = memberOf(req);
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
      // One write at a time, in the order the changes arrived.
      let queue: Promise<void> = Promise.resolve();
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      let unsubscribe: () => void = () => undefined;
      let untrack: () => void = () => undefined;
      const finish = () => {
        if (closed) return;
        closed = true;
        openStreams.delete(finish);
        clearInterval(heartbeat);
        unsubscribe();
        untrack();
        res.end();
      };
      const revoked = () => {
        if (!closed) res.write(revokedEvent(p));
        finish();
      };
      openStreams.add(finish);
      req.raw.on('close', finish);
      untrack = await revocation.track(p, revoked);
      unsubscribe = await handoffs.subscribeOrg(p.orgId, (id) => {
        queue = queue.then(async () => {
          if (closed) return;
          try {
            const row = await rowOf(p, await handoffs.get(p, id), await deviceNames(p));
            // Belt and braces: re-checked before every event, in case a revocation message was lost.
            if (!(await revocation.isValid(p))) return revoked();
            if (!closed) res.write(`event: handoff\ndata: ${JSON.stringify(row)}\n\n`);
          } catch (err) {
            req.log.warn({ err, handoff: id }, 'handoff stream: could not read a changed handoff');
          }
        });
      });
      if (closed) {
        unsubscribe();
        untrack();
      } else if (!(await revocation.isValid(p))) revoked();
      else res.write('retry: 3000\nevent: ready\ndata: {}\n\n');
    },
  );

  app.get(
    '/v1/handoffs/:id/detail',
    {
      config: { auth: 'session', role: 'viewer' },
      schema: {
        tags,
        summary:
          'For the dashboard: the view plus the payload (agent text), context, device, explained risk reasons, approvals and escalation attempts',
        description:
          "Records the member's first view of the handoff, and (when the payload is included) their first fetch of the payload, for the insights (docs/insights.md). With `?payload=omit` the payload is left out (`payload: null`, `payload_withheld: true` when one is kept); GET /v1/handoffs/{id}/payload fetches it.",
        params: IdParams,
        querystring: Type.Object(
          { payload: Type.Optional(Type.Union([Type.Literal('include'), Type.Literal('omit')])) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            handoff: ViewRef,
            device: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
            payload: Type.Union([Type.Object({ kind: Type.String(), content: Type.String() }), Type.Null()]),
            payload_withheld: Type.Boolean(),
            context: Type.Record(Type.String(), Type.String()),
            reasons: Type.Array(
              Type.Object({
                code: Type.String(),
                level: Type.Union([Type.String(), Type.Null()]),
                explanation: Type.Union([Type.String(), Type.Null()]),
              }),
            ),
            approvals: Type.Array(
              Type.Object({
                member_id: Type.String(),
                name: Type.Union([Type.String(), Type.Null()]),
                option: Type.String(),
                channel: Type.String(),
                at: Type.String({ format: 'date-time' }),
                /** docs/assurance.md; null for an approval recorded before assurance was. */
                assurance: Type.Union([AssuranceSchema, Type.Null()]),
              }),
            ),
            attempts: Type.Array(
              Type.Object({
                step: Type.Integer(),
                channel: Type.String(),
                at: Type.String({ format: 'date-time' }),
                outcome: Type.String({
                  description:
                    'sent, skipped (nobody was sent to; see skip_reason), failed, channel_not_configured',
                }),
                skip_reason: Type.Union([Type.Union(SKIP_REASONS.map((r) => Type.Literal(r))), Type.Null()], {
                  description:
                    'why recipients were skipped: rate_limited (the per-number limit), no_reply_code, no_address; with sent, some recipients were skipped',
                }),
              }),
            ),
          }),
          ...problemResponses,
        },
      },
    },
    async (req) => {
      const p = memberOf(req);
      const d = await handoffs.detail(p, req.params.id, { withPayload: req.query.payload !== 'omit' });
      return {
        handoff: await render(p, d.handoff),
        device: d.device,
        payload: d.payload,
        payload_withheld: d.payloadWithheld,
        context: { ...d.handoff.context },
        reasons: d.handoff.riskReasons.map((code) => {
          const info = (REASONS as Partial<Record<string, (typeof REASONS)[ReasonCode]>>)[code];
          return { code, level: info?.level ?? null, explanation: info?.explanation ?? null };
        }),
        approvals: d.approvals.map((a) => ({
          member_id: a.memberId,
          name: a.name,
          option: a.option,
          channel: a.channel,
          at: a.at.toISOString(),
          assurance: a.assurance,
        })),
        attempts: d.attempts.map((a) => ({
          step: a.step,
          channel: a.channel,
          at: a.at.toISOString(),
          outcome: a.outcome,
          skip_reason: a.skipReason,
        })),
      };
    },
  );

  app.get(
    '/v1/handoffs/:id/payload',
    {
      config: { auth: 'session', role: 'viewer' },
      schema: {
        tags,
        summary:
          'For the dashboard\'s "Show payload": the payload (agent text); records the member\'s first fetch of it (docs/insights.md)',
        params: IdParams,
        response: {
          200: Type.Object({ kind: Type.String(), content: Type.String() }),
          ...problemResponses,
        },
      },
    },
    async (req) => handoffs.payload(memberOf(req), req.params.id),
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
            reason: Type.Optional(
              Type.Union(
                REJECTION_REASONS.map((r) => Type.Literal(r)),
                {
                  description:
                    'why a deny denies (with "deny" only; 400 otherwise); the free text is `comment`',
                },
              ),
            ),
            comment: Type.Optional(Type.String({ maxLength: 1000 })),
            totp: Type.Optional(TotpCode),
            passkey: Type.Optional(AuthenticationResponse),
            confirm_short_code: Type.Optional(
              Type.String({
                maxLength: 32,
                description:
                  'approving a critical handoff: its short code, typed by the approver as a deliberate confirmation (422 when missing or wrong)',
              }),
            ),
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
        {
          option: req.body.decision,
          comment: req.body.comment,
          totpCode: req.body.totp,
          passkey: req.body.passkey as AuthenticationResponseJSON | undefined,
          reason: req.body.reason,
          confirmShortCode: req.body.confirm_short_code,
        },
        'web',
      );
      return reply.status(r.outcome === 'recorded' ? 202 : 200).send(await render(p, r.handoff));
    },
  );

  app.post(
    '/v1/handoffs/:id/extend',
    {
      config: { auth: 'session', role: 'member' },
      schema: {
        tags,
        summary: "Extend: give a pending handoff more time, within the escalation policy's maximum",
        description:
          "Moves `expires_at` later by `by_s` seconds. The handoff's whole life (creation to expiry) stays within its risk level's `max_lifetime_s` (default 24 h): beyond it 422 with `max_extend_s` and `max_expires_at`. A decided or expired handoff: 409. Audited as `handoff.extended`; the agent's long-poll keeps waiting and its SSE stream sends the handoff with the new `expires_at`.",
        params: IdParams,
        body: Type.Object(
          { by_s: Type.Integer({ minimum: 60, maximum: 86_400, description: 'seconds to add (60..86400)' }) },
          { additionalProperties: false },
        ),
        response: { 200: ViewRef, ...problemResponses },
      },
    },
    async (req) => {
      const p = memberOf(req);
      return render(p, await handoffs.extend(p, req.params.id, req.body.by_s));
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
}
