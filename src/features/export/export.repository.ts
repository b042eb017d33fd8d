/**
 * Exports in the database: the export records (state, limits, the single-use link) and the keyset-
 * paged readers the zip is built from. Readers take the caller's transaction, so one REPEATABLE
 * READ snapshot serves every file of a zip.
 */
import { sql, type Selectable } from 'kysely';
import type { TenantTx } from '../../db/client.js';
import type { ExportsTable } from '../../db/schema.js';

export type ExportScope = ExportsTable['scope'];
export type ExportStatus = ExportsTable['status'];

export interface ExportRecord {
  readonly id: string;
  readonly scope: ExportScope;
  readonly requestedBy: string;
  readonly status: ExportStatus;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly readyAt: Date | null;
  readonly counts: Record<string, number> | null;
  readonly linkExpiresAt: Date | null;
  readonly downloadedAt: Date | null;
  readonly failure: ExportsTable['failure'];
}

const COLUMNS = [
  'id',
  'scope',
  'requested_by',
  'status',
  'created_at',
  'expires_at',
  'ready_at',
  'counts',
  'link_expires_at',
  'downloaded_at',
  'failure',
] as const;

const toRecord = (r: Pick<Selectable<ExportsTable>, (typeof COLUMNS)[number]>): ExportRecord => ({
  id: r.id,
  scope: r.scope,
  requestedBy: r.requested_by,
  status: r.status,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  readyAt: r.ready_at,
  counts: (r.counts ?? null) as Record<string, number> | null,
  linkExpiresAt: r.link_expires_at,
  downloadedAt: r.downloaded_at,
  failure: r.failure,
});

/** Exports that outlived their window stop counting as running (and can no longer be downloaded). */
export async function expireStale(tx: TenantTx, now: Date): Promise<void> {
  await tx.db
    .updateTable('exports')
    .set({ status: 'expired', link_token_hash: null, link_expires_at: null })
    .where('status', 'in', ['queued', 'ready', 'downloading'])
    .where('expires_at', '<=', now)
    .execute();
}

/** Exports of a scope asked for since a time (per member for self-exports). */
export async function countSince(
  tx: TenantTx,
  scope: ExportScope,
  since: Date,
  requestedBy?: string,
): Promise<number> {
  let q = tx.db
    .selectFrom('exports')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('scope', '=', scope)
    .where('created_at', '>', since);
  if (requestedBy !== undefined) q = q.where('requested_by', '=', requestedBy);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

export async function insertExport(
  tx: TenantTx,
  x: { id: string; scope: ExportScope; requestedBy: string; createdAt: Date; expiresAt: Date },
): Promise<void> {
  await tx.db
    .insertInto('exports')
    .values({
      org_id: tx.orgId,
      id: x.id,
      scope: x.scope,
      requested_by: x.requestedBy,
      status: 'queued',
      created_at: x.createdAt,
      expires_at: x.expiresAt,
    })
    .execute();
}

export async function findExport(tx: TenantTx, id: string): Promise<ExportRecord | undefined> {
  const row = await tx.db.selectFrom('exports').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  return row && toRecord(row);
}

export async function listExports(tx: TenantTx, scope: ExportScope, limit: number): Promise<ExportRecord[]> {
  const rows = await tx.db
    .selectFrom('exports')
    .select(COLUMNS)
    .where('scope', '=', scope)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map(toRecord);
}

export async function markReady(
  tx: TenantTx,
  id: string,
  counts: Record<string, number>,
  now: Date,
): Promise<boolean> {
  const r = await tx.db
    .updateTable('exports')
    .set({ status: 'ready', ready_at: now, counts: JSON.stringify(counts) })
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function markFailed(
  tx: TenantTx,
  id: string,
  failure: NonNullable<ExportsTable['failure']>,
): Promise<void> {
  await tx.db
    .updateTable('exports')
    .set({ status: 'failed', failure, link_token_hash: null, link_expires_at: null })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'ready', 'downloading'])
    .execute();
}

/** Replaces the download token of a ready export (an older, unused link stops working). */
export async function setLink(
  tx: TenantTx,
  id: string,
  tokenHash: Buffer,
  expiresAt: Date,
): Promise<boolean> {
  const r = await tx.db
    .updateTable('exports')
    .set({ link_token_hash: tokenHash, link_expires_at: expiresAt })
    .where('id', '=', id)
    .where('status', '=', 'ready')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Uses the link: ready -> downloading, the token cleared (single use). False: no such live link. */
export async function claimDownload(
  tx: TenantTx,
  id: string,
  tokenHash: Buffer,
  now: Date,
): Promise<boolean> {
  const r = await tx.db
    .updateTable('exports')
    .set({ status: 'downloading', link_token_hash: null, link_expires_at: null })
    .where('id', '=', id)
    .where('status', '=', 'ready')
    .where('link_token_hash', '=', tokenHash)
    .where('link_expires_at', '>', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function markDownloaded(tx: TenantTx, id: string, now: Date): Promise<void> {
  await tx.db
    .updateTable('exports')
    .set({ status: 'downloaded', downloaded_at: now })
    .where('id', '=', id)
    .where('status', '=', 'downloading')
    .execute();
}

// ---- readers for the zip (one snapshot) ----

export async function readOrg(tx: TenantTx) {
  const org = await tx.db
    .selectFrom('orgs')
    .select(['id', 'name', 'slug', 'created_at'])
    .where('id', '=', tx.orgId)
    .executeTakeFirstOrThrow();
  const settings = await tx.db
    .selectFrom('org_settings')
    .select(['risk_policy', 'escalation_policy', 'updated_at'])
    .executeTakeFirst();
  return { org, settings };
}

/** Members without secrets: no password hash, no TOTP secret or step, no recovery codes. */
export async function readMembers(tx: TenantTx, onlyId?: string) {
  let q = tx.db
    .selectFrom('members')
    .select([
      'id',
      'email',
      'name',
      'role',
      'status',
      'phone_e164',
      'totp_enabled_at',
      'created_at',
      'updated_at',
      'deactivated_at',
    ]);
  if (onlyId !== undefined) q = q.where('id', '=', onlyId);
  return q.orderBy('created_at').orderBy('id').execute();
}

/** Invites without their token hash. */
export async function readInvites(tx: TenantTx) {
  return tx.db
    .selectFrom('invites')
    .select(['id', 'email', 'role', 'invited_by', 'created_at', 'expires_at', 'accepted_at', 'revoked_at'])
    .orderBy('created_at')
    .execute();
}

/** Devices without tokens, token hints or callback secrets. */
export async function readDevices(tx: TenantTx) {
  return tx.db
    .selectFrom('devices')
    .select(['id', 'name', 'created_by', 'created_at', 'last_seen_at', 'revoked_at'])
    .orderBy('created_at')
    .execute();
}

/** The SSO configuration without its client secret. */
export async function readSsoConfig(tx: TenantTx) {
  return tx.db
    .selectFrom('sso_configs')
    .select([
      'issuer',
      'client_id',
      'display_name',
      'allowed_domains',
      'groups_claim',
      'role_mapping',
      'default_role',
      'jit_provisioning',
      'require_sso',
      'created_at',
      'updated_at',
    ])
    .executeTakeFirst();
}

export async function readChannelIdentities(tx: TenantTx, memberId?: string) {
  let q = tx.db
    .selectFrom('channel_identities')
    .select(['id', 'member_id', 'channel', 'external_id', 'label', 'created_at']);
  if (memberId !== undefined) q = q.where('member_id', '=', memberId);
  return q.orderBy('created_at').execute();
}

/** Call records (masked numbers, no content), oldest first. */
export async function readPhoneCalls(tx: TenantTx, memberId?: string) {
  let q = tx.db
    .selectFrom('phone_calls')
    .select([
      'handoff_id',
      'member_id',
      'provider',
      'phone_masked',
      'status',
      'duration_s',
      'outcome',
      'ended_at',
    ]);
  if (memberId !== undefined) q = q.where('member_id', '=', memberId);
  return q.orderBy('ended_at').execute();
}

export async function readSsoIdentities(tx: TenantTx, memberId?: string) {
  let q = tx.db
    .selectFrom('sso_identities')
    .select(['member_id', 'issuer', 'subject', 'created_at', 'last_login_at']);
  if (memberId !== undefined) q = q.where('member_id', '=', memberId);
  return q.execute();
}

/** A page of individual approvals (keyset on handoff id, member id), with what each was about. */
export async function approvalsPage(
  tx: TenantTx,
  after: { handoffId: string; memberId: string } | null,
  limit: number,
  memberId?: string,
) {
  let q = tx.db
    .selectFrom('handoff_approvals')
    .select(['handoff_id', 'member_id', 'option', 'channel', 'comment', 'at', 'assurance']);
  if (memberId !== undefined) q = q.where('member_id', '=', memberId);
  if (after !== null)
    q = q.where((eb) =>
      eb(eb.refTuple('handoff_id', 'member_id'), '>', eb.tuple(after.handoffId, after.memberId)),
    );
  const rows = await q.orderBy('handoff_id').orderBy('member_id').limit(limit).execute();
  const ids = [...new Set(rows.map((r) => r.handoff_id))];
  const handoffs =
    ids.length === 0
      ? []
      : await tx.db
          .selectFrom('handoffs')
          .select(['id', 'short_code', 'title', 'action_type', 'risk_level', 'status'])
          .where('id', 'in', ids)
          .execute();
  const byId = new Map(handoffs.map((h) => [h.id, h]));
  return rows.map((r) => {
    const h = byId.get(r.handoff_id)!;
    return {
      ...r,
      short_code: h.short_code,
      title: h.title,
      action_type: h.action_type,
      risk_level: h.risk_level,
      status: h.status,
    };
  });
}

/** Row counts of what an export holds, in the caller's snapshot. */
export async function countOrgData(tx: TenantTx): Promise<Record<string, number>> {
  const r = await sql<Record<string, number>>`
    select
      (select count(*) from members)::int as members,
      (select count(*) from devices)::int as devices,
      (select count(*) from handoffs)::int as handoffs,
      (select count(*) from handoff_payloads)::int as payloads,
      (select count(*) from handoff_approvals)::int as decisions,
      (select count(*) from audit_events)::int as audit_events,
      (select count(*) from audit_checkpoints)::int as checkpoints`.execute(tx.db);
  return r.rows[0]!;
}

export async function countMemberData(tx: TenantTx, memberId: string): Promise<Record<string, number>> {
  const r = await sql<Record<string, number>>`
    select
      (select count(*) from channel_identities where member_id = ${memberId})::int as channel_identities,
      (select count(*) from handoff_approvals where member_id = ${memberId})::int as decisions,
      (select count(*) from handoffs where decided_by = ${memberId})::int as handoffs_decided`.execute(tx.db);
  return r.rows[0]!;
}

// ---- the large files, serialised by Postgres: one text per row, so Node allocates a string, not an
// object graph (what lives while a page is processed is promoted by V8 and inflates the heap) ----

/** A timestamptz as Date.toISOString writes it (UTC, milliseconds, Z). Column names are constants. */
const iso = (col: string) => sql.raw(`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

/** Handoffs as JSON objects (without the payload, which the caller decrypts and adds). */
export async function handoffDocsPage(tx: TenantTx, afterId: string | null, limit: number) {
  const rows = await sql<{ id: string; has_payload: boolean; doc: string }>`
    select id, payload_sha256 is not null as has_payload, json_build_object(
      'id', id, 'short_code', short_code, 'device_id', device_id, 'status', status,
      'action', json_build_object('type', action_type, 'target', action_target),
      'title', title, 'summary', summary, 'options', options,
      'risk', json_build_object('level', risk_level, 'reasons', risk_reasons),
      'context', context, 'required_approvals', required_approvals, 'totp_required', totp_required,
      'min_assurance', min_assurance,
      'callback_url', callback_url, 'payload_sha256', encode(payload_sha256, 'hex'),
      'payload_removed_at', ${iso('payload_removed_at')},
      'summary_source', summary_source, 'model_summary', model_summary,
      'created_at', ${iso('created_at')}, 'expires_at', ${iso('expires_at')},
      'decision', case when decided_at is null then null else json_build_object(
        'option', decision_option, 'decided_by', decided_by, 'channel', decision_channel,
        'reason', decision_reason, 'comment', decision_comment, 'at', ${iso('decided_at')},
        'assurance', decision_assurance) end,
      'consumed', case when consumed_at is null then null else json_build_object(
        'at', ${iso('consumed_at')}, 'by', consumed_by) end
    )::text as doc
    from handoffs
    where ${afterId === null ? sql`true` : sql`id > ${afterId}`}
    order by id limit ${limit}`.execute(tx.db);
  const last = rows.rows.at(-1);
  if (last === undefined) return { rows: [], payloads: new Map<string, { kind: string; enc: Buffer }>() };
  // The payloads of exactly this id range: an index range scan on (org_id, handoff_id).
  const payloads = await sql<{ handoff_id: string; kind: string; content_enc: Buffer }>`
    select handoff_id, kind, content_enc from handoff_payloads
    where ${afterId === null ? sql`true` : sql`handoff_id > ${afterId}`} and handoff_id <= ${last.id}`.execute(
    tx.db,
  );
  return {
    rows: rows.rows,
    payloads: new Map(
      payloads.rows.map((p) => [p.handoff_id, { kind: p.kind, enc: Buffer.from(p.content_enc) }]),
    ),
  };
}

/** Final decisions as JSON objects (of the org, or those one member made), keyset on handoff id. */
export async function decisionDocsPage(
  tx: TenantTx,
  afterId: string | null,
  limit: number,
  memberId?: string,
) {
  const r = await sql<{ id: string; doc: string }>`
    select id, json_build_object(
      'handoff_id', id, 'short_code', short_code, 'title', title, 'action_type', action_type,
      'risk_level', risk_level, 'status', status, 'option', decision_option, 'channel', decision_channel,
      'reason', decision_reason, 'comment', decision_comment, 'decided_by', decided_by, 'decided_at', ${iso('decided_at')},
      'assurance', decision_assurance
    )::text as doc
    from handoffs
    where decided_at is not null
      ${memberId === undefined ? sql`` : sql`and decided_by = ${memberId}`}
      ${afterId === null ? sql`` : sql`and id > ${afterId}`}
    order by id limit ${limit}`.execute(tx.db);
  return r.rows;
}

/** Audit entries as the JSON lines of `ony audit export` ({type, seq, prev_hash, hash, canonical}). */
export async function auditLinesPage(tx: TenantTx, afterSeq: number, maxSeq: number, limit: number) {
  const r = await sql<{ seq: number; line: string }>`
    select seq, json_build_object('type', 'entry', 'seq', seq, 'prev_hash', encode(prev_hash, 'hex'),
      'hash', encode(hash, 'hex'), 'canonical', canonical)::text as line
    from audit_events where seq > ${afterSeq} and seq <= ${maxSeq}
    order by seq limit ${limit}`.execute(tx.db);
  return r.rows.map((x) => ({ seq: Number(x.seq), line: x.line }));
}
