import { Type } from '@sinclair/typebox';
import type { AppInstance } from '../../http/app-types.js';
import { memberOf } from '../../http/plugins/auth.js';
import { DateTime, IdParams, NullableDateTime, problemResponses, Uuid } from '../../http/schemas.js';
import type { ExportRecord } from './export.repository.js';
import type { ExportService } from './export.service.js';

const ExportView = Type.Object({
  id: Uuid,
  scope: Type.Union([Type.Literal('org'), Type.Literal('member')]),
  status: Type.Union(
    ['queued', 'ready', 'downloading', 'downloaded', 'failed', 'expired'].map((s) => Type.Literal(s)),
  ),
  requested_by: Uuid,
  created_at: DateTime,
  expires_at: DateTime,
  ready_at: NullableDateTime,
  counts: Type.Union([Type.Record(Type.String(), Type.Integer()), Type.Null()]),
  link_expires_at: NullableDateTime,
  downloaded_at: NullableDateTime,
  failure: Type.Union([Type.String(), Type.Null()]),
});
const view = (x: ExportRecord) => ({
  id: x.id,
  scope: x.scope,
  status: x.status,
  requested_by: x.requestedBy,
  created_at: x.createdAt.toISOString(),
  expires_at: x.expiresAt.toISOString(),
  ready_at: x.readyAt?.toISOString() ?? null,
  counts: x.counts,
  link_expires_at: x.linkExpiresAt?.toISOString() ?? null,
  downloaded_at: x.downloadedAt?.toISOString() ?? null,
  failure: x.failure,
});
const LinkView = Type.Object({ url: Type.String(), expires_at: DateTime });

export function exportRoutes(app: AppInstance, deps: { exports: ExportService }) {
  const { exports } = deps;
  const tags = ['export'];

  for (const [scope, base, role] of [
    ['org', '/v1/admin/exports', 'admin'],
    ['member', '/v1/me/exports', undefined],
  ] as const) {
    const who = scope === 'org' ? 'the whole organization' : 'your own data';
    app.post(
      scope === 'org' ? base : '/v1/me/export',
      {
        config: { auth: 'session', ...(role !== undefined && { role }) },
        schema: {
          tags,
          summary: `Start an export of ${who} (one at a time, at most 5 a day); poll it, then ask for a link`,
          response: { 202: ExportView, ...problemResponses },
        },
      },
      async (req, reply) => reply.status(202).send(view(await exports.request(memberOf(req), scope))),
    );
    app.get(
      base,
      {
        config: { auth: 'session', ...(role !== undefined && { role }) },
        schema: {
          tags,
          summary: `Recent exports of ${who}`,
          response: { 200: Type.Array(ExportView), ...problemResponses },
        },
      },
      async (req) => (await exports.list(memberOf(req), scope)).map(view),
    );
    app.get(
      `${base}/:id`,
      {
        config: { auth: 'session', ...(role !== undefined && { role }) },
        schema: {
          tags,
          summary: `One export of ${who}`,
          params: IdParams,
          response: { 200: ExportView, ...problemResponses },
        },
      },
      async (req) => view(await exports.get(memberOf(req), req.params.id, scope)),
    );
    app.post(
      `${base}/:id/link`,
      {
        config: { auth: 'session', ...(role !== undefined && { role }) },
        schema: {
          tags,
          summary:
            'A single-use download link for a ready export, valid 15 minutes (only for the one who asked)',
          params: IdParams,
          response: { 200: LinkView, ...problemResponses },
        },
      },
      async (req) => {
        const link = await exports.issueLink(memberOf(req), req.params.id, scope);
        return { url: link.url, expires_at: link.expiresAt.toISOString() };
      },
    );
  }

  app.get(
    '/v1/exports/:id/download',
    {
      config: { auth: 'session' },
      schema: {
        tags,
        summary: 'Download an export (the link from …/link): a zip, streamed; the link then stops working',
        params: IdParams,
        querystring: Type.Object(
          // Optional in the schema so that a missing token is the same clear 410 as a wrong one.
          { token: Type.Optional(Type.String({ maxLength: 200 })) },
          { additionalProperties: false },
        ),
        produces: ['application/zip'],
        response: { ...problemResponses },
      },
    },
    async (req, reply) => {
      const { stream, filename } = await exports.download(
        memberOf(req),
        req.params.id,
        req.query.token ?? '',
      );
      return reply
        .header('content-type', 'application/zip')
        .header('content-disposition', `attachment; filename="${filename}"`)
        .header('cache-control', 'no-store')
        .send(stream);
    },
  );
}
