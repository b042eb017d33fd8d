import { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { DateTime, problemResponses } from '../../http/schemas.js';
import { AUDIT_ACTIONS } from '../../core/audit-chain/events.js';
import type { ChainReport } from '../../core/audit-chain/verify.js';
import { nameOf } from '../../core/audit-chain/readable.js';
import { actorOf } from '../auth/principal.js';
import type { AuditFilter, StoredCheckpoint } from './audit.repository.js';
import type { AuditService } from './audit.service.js';

const Hex = Type.String({ pattern: '^[0-9a-f]{64}$' });
const CheckpointView = Type.Object({
  seq: Type.Integer(),
  hash: Hex,
  at: DateTime,
  key_name: Type.String(),
  note: Type.String(),
});
const checkpointView = (c: StoredCheckpoint) => ({
  seq: c.seq,
  hash: c.hash,
  at: c.at.toISOString(),
  key_name: c.keyName,
  note: c.note,
});

const VerifyView = Type.Object({
  ok: Type.Boolean(),
  entries: Type.Integer(),
  head_seq: Type.Optional(Type.Integer()),
  head_hash: Type.Optional(Hex),
  bad_seq: Type.Optional(Type.Integer()),
  reason: Type.Optional(Type.String()),
  detail: Type.Optional(Type.String()),
  checkpoint_seq: Type.Optional(Type.Integer()),
  checkpoints_verified: Type.Integer(),
  latest_checkpoint: Type.Union([CheckpointView, Type.Null()]),
});

export const reportView = (r: ChainReport) =>
  r.ok
    ? {
        ok: true,
        entries: r.entries,
        head_seq: r.headSeq,
        head_hash: r.headHash,
        checkpoints_verified: r.checkpointsVerified,
      }
    : {
        ok: false,
        entries: r.entries,
        bad_seq: r.badSeq,
        reason: r.reason,
        detail: r.detail,
        ...(r.checkpointSeq !== undefined ? { checkpoint_seq: r.checkpointSeq } : {}),
        checkpoints_verified: r.checkpointsVerified,
      };

const Filters = {
  actor_id: Type.Optional(Type.String({ maxLength: 64 })),
  action: Type.Optional(Type.Union(AUDIT_ACTIONS.map((a) => Type.Literal(a)))),
  subject_type: Type.Optional(Type.String({ maxLength: 32 })),
  subject_id: Type.Optional(Type.String({ maxLength: 64 })),
  from: Type.Optional(DateTime),
  to: Type.Optional(DateTime),
};
const ListQuery = Type.Object(
  {
    ...Filters,
    // Query strings are text and the validator does not coerce types: digits, bounded here.
    before_seq: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,15}$' })),
    limit: Type.Optional(
      Type.String({
        pattern: '^([1-9][0-9]?|[1-4][0-9]{2}|500)$',
        description: '1 to 500, default 100',
      }),
    ),
  },
  { additionalProperties: false },
);
const CsvQuery = Type.Object(Filters, { additionalProperties: false });

const filterOf = (q: Static<typeof CsvQuery> & { before_seq?: string }): AuditFilter => ({
  actorId: q.actor_id,
  action: q.action,
  subjectType: q.subject_type,
  subjectId: q.subject_id,
  from: q.from !== undefined ? new Date(q.from) : undefined,
  to: q.to !== undefined ? new Date(q.to) : undefined,
  beforeSeq: q.before_seq !== undefined ? Number(q.before_seq) : undefined,
});

export function auditRoutes(app: AppInstance, deps: { audit: AuditService }) {
  const { audit } = deps;
  const tags = ['audit'];

  app.get(
    '/v1/admin/audit',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'The audit chain, newest first, with filters; page with before_seq = next_before_seq',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            entries: Type.Array(
              Type.Object({
                seq: Type.Integer(),
                at: DateTime,
                actor_type: Type.String(),
                actor_id: Type.Union([Type.String(), Type.Null()]),
                action: Type.String(),
                subject_type: Type.String(),
                subject_id: Type.Union([Type.String(), Type.Null()]),
                actor_name: Type.Union([Type.String(), Type.Null()], {
                  description: 'the member or device name (an erased member: its pseudonym); display only',
                }),
                subject_name: Type.Union([Type.String(), Type.Null()], {
                  description: "the member's or device's name, or the handoff's (redacted) title",
                }),
                subject_short_code: Type.Union([Type.String(), Type.Null()], {
                  description: "a handoff's short code",
                }),
                meta: Type.Unknown(),
                hash: Hex,
              }),
            ),
            next_before_seq: Type.Union([Type.Integer(), Type.Null()]),
          }),
          ...problemResponses,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = q.limit !== undefined ? Number(q.limit) : 100;
      const { rows, names } = await audit.listNamed(memberOf(req).orgId, filterOf(q), limit);
      return {
        entries: rows.map((r) => {
          const actor = nameOf(names, r.actorType, r.actorId);
          const subject = nameOf(names, r.subjectType, r.subjectId);
          return {
            seq: r.seq,
            at: r.at.toISOString(),
            actor_type: r.actorType,
            actor_id: r.actorId,
            action: r.action,
            subject_type: r.subjectType,
            subject_id: r.subjectId,
            actor_name: actor.name,
            subject_name: subject.name,
            subject_short_code: subject.shortCode,
            meta: r.meta,
            hash: r.hash,
          };
        }),
        next_before_seq: rows.length === limit ? rows[rows.length - 1]!.seq : null,
      };
    },
  );

  app.get(
    '/v1/admin/audit/csv',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary:
          'The filtered audit view as CSV (same filters as GET /v1/admin/audit, every page), with names; recorded as audit.exported',
        querystring: CsvQuery,
        produces: ['text/csv'],
        response: { ...problemResponses },
      },
    },
    async (req, reply) => {
      const p = memberOf(req);
      const lines = audit.exportCsv(p.orgId, actorOf(p), filterOf(req.query));
      // The first line comes after the export is recorded: a failure there is still a clean problem.
      const first = await lines.next();
      async function* rest() {
        if (first.done !== true) yield first.value;
        yield* lines;
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="audit.csv"')
        .header('cache-control', 'no-store')
        .send(Readable.from(rest()));
    },
  );

  app.get(
    '/v1/admin/audit/verify',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'Verify the whole chain and its signed checkpoints; names the first bad seq and why',
        response: { 200: VerifyView, ...problemResponses },
      },
    },
    async (req) => {
      const orgId = memberOf(req).orgId;
      const report = await audit.verify(orgId);
      const latest = (await audit.listCheckpoints(orgId)).at(-1);
      return { ...reportView(report), latest_checkpoint: latest ? checkpointView(latest) : null };
    },
  );

  app.get(
    '/v1/admin/audit/checkpoints',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'Signed checkpoints of the chain head',
        response: { 200: Type.Array(CheckpointView), ...problemResponses },
      },
    },
    async (req) => (await audit.listCheckpoints(memberOf(req).orgId)).map(checkpointView),
  );

  app.post(
    '/v1/admin/audit/checkpoints',
    {
      config: { auth: 'session', role: 'admin' },
      schema: {
        tags,
        summary: 'Sign a checkpoint of the current head now',
        response: { 201: CheckpointView, ...problemResponses },
      },
    },
    async (req, reply) => reply.status(201).send(checkpointView(await audit.checkpoint(memberOf(req).orgId))),
  );

  app.get(
    '/.well-known/ony-audit-key',
    {
      config: { auth: 'none' },
      schema: {
        tags,
        summary:
          'The Ed25519 keys that sign audit checkpoints (signed-note verifier key format): the current one, and every key ever used with its validity period',
        security: [],
        response: {
          200: Type.Object({
            key_name: Type.String({ description: 'the current key (kept for older clients)' }),
            verifier_key: Type.String(),
            keys: Type.Array(
              Type.Object({
                key_name: Type.String(),
                key_id: Type.String({ pattern: '^[0-9a-f]{8}$' }),
                verifier_key: Type.String(),
                valid_from: DateTime,
                valid_until: Type.Union([DateTime, Type.Null()]),
              }),
            ),
          }),
        },
      },
    },
    async () => {
      const { current, all } = await audit.publicKeys();
      return {
        key_name: current.name,
        verifier_key: current.verifierKey,
        keys: all.map((k) => ({
          key_name: k.name,
          key_id: k.keyId,
          verifier_key: k.verifierKey,
          valid_from: k.validFrom.toISOString(),
          valid_until: k.validUntil?.toISOString() ?? null,
        })),
      };
    },
  );
}
