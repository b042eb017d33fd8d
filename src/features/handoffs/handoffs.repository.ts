import { sql, type Selectable } from 'kysely';
import type { Assurance, AssuranceLevel } from '../../core/approval/assurance.js';
import { isRejectionReason, type RejectionReason } from '../../core/approval/rejection.js';
import type { HandoffOption, HandoffStatus } from '../../core/approval/decide.js';
import type { SkipReason } from '../../core/policy/attempt-outcome.js';
import type { ActionType, RiskLevel } from '../../core/risk/index.js';
import type { SummarySource } from '../../core/summary/index.js';
import type { TenantTx } from '../../db/client.js';
import type { HandoffsTable } from '../../db/schema.js';
import { DEFAULT_PAYLOAD_RETENTION_DAYS } from '../../core/retention/retention.js';

export interface Handoff {
  readonly id: string;
  readonly orgId: string;
  readonly shortCode: string;
  readonly deviceId: string;
  readonly status: HandoffStatus;
  readonly actionType: ActionType;
  readonly actionTarget: string | null;
  readonly title: string;
  readonly summary: string;
  readonly options: readonly HandoffOption[];
  readonly riskLevel: RiskLevel;
  readonly riskReasons: readonly string[];
  readonly context: Readonly<Record<string, string>>;
  readonly requiredApprovals: number;
  readonly totpRequired: boolean;
  /** The policy's minimum assurance for approving, snapshotted at creation (docs/assurance.md). */
  readonly minAssurance: AssuranceLevel;
  readonly callbackUrl: string | null;
  readonly idempotencyKey: string | null;
  readonly requestSha256: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly decidedAt: Date | null;
  readonly decisionOption: string | null;
  readonly decidedBy: string | null;
  readonly decisionChannel: string | null;
  readonly decisionComment: string | null;
  /** Why a deny denied, when the approver said (a closed code; the free text is the comment). */
  readonly decisionReason: RejectionReason | null;
  /** How strong the deciding answer was (a human's decision since migration 0018; else null). */
  readonly decisionAssurance: Assurance | null;
  /** Agent integrations: the tool call's fingerprint (hex SHA-256), and when a tool call used the decision. */
  readonly fingerprint: string | null;
  readonly consumedAt: Date | null;
  /** Retention (docs/privacy.md): whether the agent sent a payload, and when it was removed (or not stored). */
  readonly hasPayload: boolean;
  readonly payloadRemovedAt: Date | null;
  /** Migration 0028 (docs/summarizer.md): null until the summarizer ran, or when it is off. */
  readonly summarySource: SummarySource | null;
  /** The model's checked summary (only when `summarySource` is `model`). */
  readonly modelSummary: string | null;
}

const toHandoff = (r: Selectable<HandoffsTable>): Handoff => ({
  id: r.id,
  orgId: r.org_id,
  shortCode: r.short_code,
  deviceId: r.device_id,
  status: r.status,
  // Written only from validated input (one of ACTION_TYPES).
  actionType: r.action_type as ActionType,
  actionTarget: r.action_target,
  title: r.title,
  summary: r.summary,
  options: r.options as HandoffOption[],
  riskLevel: r.risk_level,
  riskReasons: r.risk_reasons,
  context: r.context as Record<string, string>,
  requiredApprovals: r.required_approvals,
  totpRequired: r.totp_required,
  minAssurance: r.min_assurance,
  callbackUrl: r.callback_url,
  idempotencyKey: r.idempotency_key,
  requestSha256: r.request_sha256,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  decidedAt: r.decided_at,
  decisionOption: r.decision_option,
  decidedBy: r.decided_by,
  decisionChannel: r.decision_channel,
  decisionComment: r.decision_comment,
  decisionReason: isRejectionReason(r.decision_reason) ? r.decision_reason : null,
  decisionAssurance: (r.decision_assurance as Assurance | null) ?? null,
  fingerprint: r.fingerprint,
  consumedAt: r.consumed_at,
  hasPayload: r.payload_sha256 !== null,
  payloadRemovedAt: r.payload_removed_at,
  summarySource: r.summary_source,
  modelSummary: r.model_summary,
});

/** A new handoff: everything but what the org, the status and the decision fill in later. */
export type NewHandoff = Omit<
  Handoff,
  | 'orgId'
  | 'status'
  | 'decidedAt'
  | 'decisionOption'
  | 'decidedBy'
  | 'decisionChannel'
  | 'decisionComment'
  | 'decisionReason'
  | 'decisionAssurance'
  | 'fingerprint'
  | 'consumedAt'
  | 'hasPayload'
  | 'payloadRemovedAt'
  | 'summarySource'
  | 'modelSummary'
> & {
  readonly payloadSha256: Buffer | null;
  readonly fingerprint?: string | null;
  /** Set at creation when the org keeps no payloads (retention 0): the payload is never stored. */
  readonly payloadRemovedAt?: Date | null;
};

/** Inserts a pending handoff; answers undefined when its short code is taken by another pending one. */
export async function insertHandoff(tx: TenantTx, h: NewHandoff): Promise<Handoff | undefined> {
  const row = await tx.db
    .insertInto('handoffs')
    .values({
      org_id: tx.orgId,
      id: h.id,
      short_code: h.shortCode,
      device_id: h.deviceId,
      status: 'pending',
      action_type: h.actionType,
      action_target: h.actionTarget,
      title: h.title,
      summary: h.summary,
      options: JSON.stringify(h.options),
      risk_level: h.riskLevel,
      risk_reasons: [...h.riskReasons],
      context: JSON.stringify(h.context),
      required_approvals: h.requiredApprovals,
      totp_required: h.totpRequired,
      min_assurance: h.minAssurance,
      callback_url: h.callbackUrl,
      idempotency_key: h.idempotencyKey,
      request_sha256: h.requestSha256,
      payload_sha256: h.payloadSha256,
      fingerprint: h.fingerprint ?? null,
      payload_removed_at: h.payloadRemovedAt ?? null,
      created_at: h.createdAt,
      expires_at: h.expiresAt,
    })
    .onConflict((oc) => oc.columns(['org_id', 'short_code']).where('status', '=', 'pending').doNothing())
    .returningAll()
    .executeTakeFirst();
  return row && toHandoff(row);
}

export async function findHandoff(
  tx: TenantTx,
  id: string,
  opts: { lock?: boolean } = {},
): Promise<Handoff | undefined> {
  let q = tx.db.selectFrom('handoffs').selectAll().where('id', '=', id);
  if (opts.lock) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row && toHandoff(row);
}

export async function findByIdempotencyKey(
  tx: TenantTx,
  deviceId: string,
  key: string,
): Promise<Handoff | undefined> {
  const row = await tx.db
    .selectFrom('handoffs')
    .selectAll()
    .where('device_id', '=', deviceId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
  return row && toHandoff(row);
}

export interface ListFilter {
  status?: HandoffStatus | undefined;
  riskLevel?: RiskLevel | undefined;
  deviceId?: string | undefined;
  actionType?: ActionType | undefined;
  /** Free text: a case-insensitive substring of the title, the target or the short code. */
  text?: string | undefined;
  /** Keyset paging: only handoffs listed after this one (newest first). */
  before?: string | undefined;
  limit: number;
}

/**
 * The list's statement, newest first, after the keyset cursor (the `before` handoff's created_at and
 * id) when there is one. Separate from listHandoffs so the scale bench can EXPLAIN the very statement.
 */
export function listHandoffsQuery(
  tx: TenantTx,
  f: ListFilter,
  cursor?: { readonly created_at: Date; readonly id: string },
) {
  // The explicit org filter (RLS filters too) lets the (org_id, created_at, id) indexes serve it.
  let q = tx.db.selectFrom('handoffs').selectAll().where('org_id', '=', tx.orgId);
  if (f.status !== undefined) q = q.where('status', '=', f.status);
  if (f.riskLevel !== undefined) q = q.where('risk_level', '=', f.riskLevel);
  if (f.deviceId !== undefined) q = q.where('device_id', '=', f.deviceId);
  if (f.actionType !== undefined) q = q.where('action_type', '=', f.actionType);
  if (f.text !== undefined && f.text !== '') {
    const like = `%${f.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) =>
      eb.or([
        eb('title', 'ilike', like),
        eb('action_target', 'ilike', like),
        eb('short_code', 'ilike', like),
      ]),
    );
  }
  if (cursor !== undefined)
    q = q.where(sql<boolean>`(created_at, id) < (${cursor.created_at}, ${cursor.id})`);
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit);
}

/** The keyset cursor of `before`: its creation time and id, or undefined if the org has no such handoff. */
export function listCursor(
  tx: TenantTx,
  before: string,
): Promise<{ created_at: Date; id: string } | undefined> {
  return tx.db
    .selectFrom('handoffs')
    .select(['created_at', 'id'])
    .where('org_id', '=', tx.orgId)
    .where('id', '=', before)
    .executeTakeFirst();
}

export async function listHandoffs(tx: TenantTx, f: ListFilter): Promise<Handoff[]> {
  let cursor: { created_at: Date; id: string } | undefined;
  if (f.before !== undefined) {
    cursor = await listCursor(tx, f.before);
    if (cursor === undefined) return [];
  }
  const rows = await listHandoffsQuery(tx, f, cursor).execute();
  return rows.map(toHandoff);
}

/** The handoffs with these ids that the org can see (RLS), in no particular order. */
export async function findHandoffsByIds(tx: TenantTx, ids: readonly string[]): Promise<Handoff[]> {
  if (ids.length === 0) return [];
  const rows = await tx.db
    .selectFrom('handoffs')
    .selectAll()
    .where('org_id', '=', tx.orgId)
    .where('id', 'in', [...ids])
    .execute();
  return rows.map(toHandoff);
}

/** Moves a pending handoff to a final status; answers false if it was no longer pending. */
export async function finishHandoff(
  tx: TenantTx,
  id: string,
  d: {
    status: Exclude<HandoffStatus, 'pending'>;
    at: Date;
    option: string | null;
    decidedBy: string | null;
    channel: string | null;
    comment: string | null;
    /** A human's decision: how strong the deciding answer was. */
    assurance?: Assurance | null;
    /** A human's deny: why (a closed code). */
    reason?: RejectionReason | null;
  },
): Promise<boolean> {
  const r = await tx.db
    .updateTable('handoffs')
    .set({
      status: d.status,
      decided_at: d.at,
      decision_option: d.option,
      decided_by: d.decidedBy,
      decision_channel: d.channel,
      decision_comment: d.comment,
      decision_assurance: d.assurance != null ? JSON.stringify(d.assurance) : null,
      decision_reason: d.reason ?? null,
    })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Extend: moves a pending handoff's expiry to `expiresAt`, guarded by the status and by the expiry
 * the caller read (a concurrent Extend or decision makes it answer false and change nothing).
 */
export async function extendExpiry(tx: TenantTx, id: string, from: Date, expiresAt: Date): Promise<boolean> {
  const r = await tx.db
    .updateTable('handoffs')
    .set({ expires_at: expiresAt })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('expires_at', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** The id and name of the member who decided (for the handoff view). */
export async function findDecider(
  tx: TenantTx,
  memberId: string,
): Promise<{ readonly id: string; readonly name: string } | null> {
  return (
    (await tx.db
      .selectFrom('members')
      .select(['id', 'name'])
      .where('id', '=', memberId)
      .executeTakeFirst()) ?? null
  );
}

/** The deciders behind these member ids (one statement for a page of handoffs), by id. */
export async function findDeciders(
  tx: TenantTx,
  memberIds: readonly string[],
): Promise<Map<string, { readonly id: string; readonly name: string }>> {
  if (memberIds.length === 0) return new Map();
  const rows = await tx.db
    .selectFrom('members')
    .select(['id', 'name'])
    .where('id', 'in', [...memberIds])
    .execute();
  return new Map(rows.map((r) => [r.id, r]));
}

/** Who approved each of these handoffs (one statement for a page), by handoff id. */
export async function approversOf(
  tx: TenantTx,
  handoffIds: readonly string[],
): Promise<Map<string, { readonly memberId: string }[]>> {
  const out = new Map<string, { memberId: string }[]>();
  if (handoffIds.length === 0) return out;
  const rows = await tx.db
    .selectFrom('handoff_approvals')
    .select(['handoff_id', 'member_id'])
    .where('org_id', '=', tx.orgId)
    .where('handoff_id', 'in', [...handoffIds])
    .orderBy('at')
    .execute();
  for (const r of rows) {
    const list = out.get(r.handoff_id) ?? [];
    list.push({ memberId: r.member_id });
    out.set(r.handoff_id, list);
  }
  return out;
}

export async function listApprovals(tx: TenantTx, handoffId: string) {
  const rows = await tx.db
    .selectFrom('handoff_approvals')
    .select(['member_id', 'option', 'channel', 'at', 'assurance'])
    .where('handoff_id', '=', handoffId)
    .orderBy('at')
    .execute();
  return rows.map((r) => ({
    memberId: r.member_id,
    option: r.option,
    channel: r.channel,
    at: r.at,
    assurance: (r.assurance as Assurance | null) ?? null,
  }));
}

export async function insertApproval(
  tx: TenantTx,
  a: {
    handoffId: string;
    memberId: string;
    option: string;
    channel: string;
    comment: string | null;
    at: Date;
    assurance: Assurance;
  },
): Promise<void> {
  await tx.db
    .insertInto('handoff_approvals')
    .values({
      org_id: tx.orgId,
      handoff_id: a.handoffId,
      member_id: a.memberId,
      option: a.option,
      channel: a.channel,
      comment: a.comment,
      at: a.at,
      assurance: JSON.stringify(a.assurance),
    })
    .execute();
}

export async function insertPayload(
  tx: TenantTx,
  p: { handoffId: string; kind: string; salt: Buffer; contentEnc: Buffer },
) {
  await tx.db
    .insertInto('handoff_payloads')
    .values({
      org_id: tx.orgId,
      handoff_id: p.handoffId,
      kind: p.kind,
      salt: p.salt,
      content_enc: p.contentEnc,
    })
    .execute();
}

export async function findPayload(tx: TenantTx, handoffId: string) {
  const row = await tx.db
    .selectFrom('handoff_payloads')
    .select(['kind', 'content_enc'])
    .where('handoff_id', '=', handoffId)
    .executeTakeFirst();
  return row && { kind: row.kind, contentEnc: Buffer.from(row.content_enc) };
}

/**
 * Stores the summary of a handoff once: the first writer wins (two steps running at once store one),
 * and every caller gets what is stored. Undefined when the handoff is gone.
 */
export async function storeSummary(
  tx: TenantTx,
  handoffId: string,
  summary: { readonly source: SummarySource; readonly text: string | null },
): Promise<{ source: SummarySource; text: string | null } | undefined> {
  await tx.db
    .updateTable('handoffs')
    .set({
      summary_source: summary.source,
      model_summary: summary.source === 'model' ? summary.text : null,
    })
    .where('id', '=', handoffId)
    .where('summary_source', 'is', null)
    .execute();
  const row = await tx.db
    .selectFrom('handoffs')
    .select(['summary_source', 'model_summary'])
    .where('id', '=', handoffId)
    .executeTakeFirst();
  if (row?.summary_source == null) return undefined;
  return { source: row.summary_source, text: row.model_summary };
}

export async function insertAttempt(
  tx: TenantTx,
  a: {
    handoffId: string;
    step: number;
    channel: string;
    at: Date;
    outcome: string;
    skipReason?: SkipReason | null;
  },
) {
  await tx.db
    .insertInto('escalation_attempts')
    .values({
      org_id: tx.orgId,
      handoff_id: a.handoffId,
      step: a.step,
      channel: a.channel,
      at: a.at,
      outcome: a.outcome,
      skip_reason: a.skipReason ?? null,
    })
    .execute();
}

export async function listAttempts(tx: TenantTx, handoffId: string) {
  const rows = await tx.db
    .selectFrom('escalation_attempts')
    .select(['step', 'channel', 'at', 'outcome', 'skip_reason'])
    .where('handoff_id', '=', handoffId)
    .orderBy('at')
    .execute();
  return rows.map((r) => ({
    step: r.step,
    channel: r.channel,
    at: r.at,
    outcome: r.outcome,
    skipReason: r.skip_reason,
  }));
}

export interface OrgSettings {
  readonly riskPolicy: unknown;
  readonly escalationPolicy: unknown;
  readonly payloadRetentionDays: number;
  /** Bumped on every change (migration 0032); '0' while the org has no settings row. */
  readonly version: string;
}

export async function getSettings(tx: TenantTx): Promise<OrgSettings> {
  const row = await tx.db
    .selectFrom('org_settings')
    .select(['risk_policy', 'escalation_policy', 'payload_retention_days', 'version'])
    .executeTakeFirst();
  return {
    riskPolicy: row?.risk_policy ?? {},
    escalationPolicy: row?.escalation_policy ?? {},
    payloadRetentionDays: row?.payload_retention_days ?? DEFAULT_PAYLOAD_RETENTION_DAYS,
    version: row === undefined ? '0' : String(row.version),
  };
}

export async function saveSettings(
  tx: TenantTx,
  s: { riskPolicy: unknown; escalationPolicy: unknown },
  now: Date,
) {
  await tx.db
    .insertInto('org_settings')
    .values({
      org_id: tx.orgId,
      risk_policy: JSON.stringify(s.riskPolicy),
      escalation_policy: JSON.stringify(s.escalationPolicy),
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.column('org_id').doUpdateSet({
        risk_policy: JSON.stringify(s.riskPolicy),
        escalation_policy: JSON.stringify(s.escalationPolicy),
        updated_at: now,
      }),
    )
    .execute();
}
