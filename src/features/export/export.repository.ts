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

export async function readSsoIdentities(tx: TenantTx, memberId?: string) {
  let q = tx.db
    .selectFrom('sso_identities')
    .select(['member_id', 'issuer', 'subject', 'created_at', 'last_login_at']);
  if (memberId !== undefined) q = q.where('member_id', '=', memberId);
  return q.execute();
}

/** A page of handoffs (keyset on id) with the encrypted payload where retention still holds it. */
export async function handoffsPage(tx: TenantTx, afterId: string | null, limit: number) {
  let q = tx.db
    .selectFrom('handoffs as h')
    .leftJoin('handoff_payloads as p', (j) =>
      j.onRef('p.org_id', '=', 'h.org_id').onRef('p.handoff_id', '=', 'h.id'),
    )
    .select([
      'h.id',
      'h.short_code',
      'h.device_id',
      'h.status',
      'h.action_type',
      'h.action_target',
      'h.title',
      'h.summary',
      'h.options',
      'h.risk_level',
      'h.risk_reasons',
      'h.context',
      'h.required_approvals',
      'h.totp_required',
      'h.callback_url',
      'h.payload_sha256',
      'h.created_at',
      'h.expires_at',
      'h.decided_at',
      'h.decision_option',
      'h.decided_by',
      'h.decision_channel',
      'h.decision_comment',
      'h.consumed_at',
      'h.consumed_by',
      'p.kind as payload_kind',
      'p.content_enc as payload_enc',
    ]);
  if (afterId !== null) q = q.where('h.id', '>', afterId);
  return q.orderBy('h.id').limit(limit).execute();
}

/** A page of individual approvals and denials (keyset on handoff id, member id). */
export async function approvalsPage(
  tx: TenantTx,
  after: { handoffId: string; memberId: string } | null,
  limit: number,
  memberId?: string,
) {
  let q = tx.db
    .selectFrom('handoff_approvals as a')
    .innerJoin('handoffs as h', (j) =>
      j.onRef('h.org_id', '=', 'a.org_id').onRef('h.id', '=', 'a.handoff_id'),
    )
    .select([
      'a.handoff_id',
      'a.member_id',
      'a.option',
      'a.channel',
      'a.comment',
      'a.at',
      'h.short_code',
      'h.title',
      'h.action_type',
      'h.risk_level',
      'h.status',
    ]);
  if (memberId !== undefined) q = q.where('a.member_id', '=', memberId);
  if (after !== null)
    q = q.where((eb) =>
      eb(eb.refTuple('a.handoff_id', 'a.member_id'), '>', eb.tuple(after.handoffId, after.memberId)),
    );
  return q.orderBy('a.handoff_id').orderBy('a.member_id').limit(limit).execute();
}

/** Final decisions (of the org, or those one member made), keyset on handoff id. */
export async function decisionsPage(tx: TenantTx, afterId: string | null, limit: number, memberId?: string) {
  let q = tx.db
    .selectFrom('handoffs')
    .select([
      'id',
      'short_code',
      'title',
      'action_type',
      'risk_level',
      'status',
      'decision_option',
      'decision_channel',
      'decision_comment',
      'decided_by',
      'decided_at',
    ])
    .where('decided_at', 'is not', null);
  if (memberId !== undefined) q = q.where('decided_by', '=', memberId);
  if (afterId !== null) q = q.where('id', '>', afterId);
  return q.orderBy('id').limit(limit).execute();
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
