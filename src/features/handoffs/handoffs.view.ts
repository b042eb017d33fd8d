import type { Kysely } from 'kysely';
import { isDenyOption } from '../../core/approval/decide.js';
import { payloadState } from '../../core/retention/retention.js';
import { withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Principal } from '../auth/principal.js';
import { approversOf, findDecider, findDeciders, type Handoff } from './handoffs.repository.js';
import type { HandoffsService } from './handoffs.service.js';

/** The handoff as agents and the dashboard see it (the contract of docs/handoffs.md). */
export function handoffView(
  h: Handoff,
  decider: { readonly id: string; readonly name: string } | null,
  approvals: readonly { readonly memberId: string }[],
  publicUrl: string,
) {
  return {
    id: h.id,
    short_code: h.shortCode,
    status: h.status,
    action: { type: h.actionType, target: h.actionTarget },
    title: h.title,
    summary: h.summary,
    summary_source: h.summarySource,
    model_summary: h.summarySource === 'model' ? h.modelSummary : null,
    risk: { level: h.riskLevel, reasons: [...h.riskReasons] },
    options: h.options.map((o) => ({ id: o.id, label: o.label })),
    approvals: { required: h.requiredApprovals, received: approvals.length },
    totp_required: h.totpRequired,
    min_assurance: h.minAssurance,
    // Only a human's decision has one; `expired` and `cancelled` say it in the status.
    decision:
      h.status === 'approved' || h.status === 'denied'
        ? {
            option: h.decisionOption ?? 'deny',
            outcome: isDenyOption(h.decisionOption ?? 'deny') ? ('denied' as const) : ('approved' as const),
            decided_by: decider && { member_id: decider.id, name: decider.name },
            channel: h.decisionChannel ?? 'web',
            reason: h.decisionReason,
            comment: h.decisionComment,
            at: h.decidedAt!.toISOString(),
            assurance: h.decisionAssurance,
          }
        : null,
    payload: payloadState(h),
    expires_at: h.expiresAt.toISOString(),
    created_at: h.createdAt.toISOString(),
    links: { self: `${publicUrl}/v1/handoffs/${h.id}`, events: `${publicUrl}/v1/handoffs/${h.id}/events` },
  };
}

export type HandoffView = ReturnType<typeof handoffView>;

/**
 * Renders the view with the decider's name and the approval count (a handoff just created has
 * neither). One renderer for every surface that answers agents: the REST routes and /mcp.
 */
/** With one approval needed, the approvals follow from the status (only a quorum is read). */
const singleApproval = (h: Handoff): { memberId: string }[] =>
  h.status === 'approved' ? [{ memberId: h.decidedBy ?? '' }] : [];

export function createHandoffRenderer(deps: {
  readonly handoffs: Pick<HandoffsService, 'approvals'>;
  readonly db: Kysely<DB>;
  readonly publicUrl: string;
}) {
  const { handoffs, db, publicUrl } = deps;
  async function render(
    p: Principal,
    h: Handoff,
    opts: { justCreated?: boolean } = {},
  ): Promise<HandoffView> {
    if (opts.justCreated === true) return handoffView(h, null, [], publicUrl);
    const decidedBy = h.decidedBy;
    const [decider, approvals] = await Promise.all([
      decidedBy === null
        ? Promise.resolve(null)
        : withTenant(db, p.orgId, (tx) => findDecider(tx, decidedBy)),
      h.requiredApprovals > 1 ? handoffs.approvals(p, h.id) : Promise.resolve(singleApproval(h)),
    ]);
    return handoffView(h, decider, approvals, publicUrl);
  }

  /**
   * A page of handoffs a member listed (already readable by them): the same views as render, with
   * the deciders and the quorum approvals read for the whole page in one transaction, not one per
   * row (a 500-row page was 500 transactions).
   */
  async function renderPage(p: Principal, hs: readonly Handoff[]): Promise<HandoffView[]> {
    if (hs.length === 0) return [];
    const deciderIds = [...new Set(hs.flatMap((h) => (h.decidedBy === null ? [] : [h.decidedBy])))];
    const quorum = hs.filter((h) => h.requiredApprovals > 1).map((h) => h.id);
    const [deciders, approvers] = await withTenant(
      db,
      p.orgId,
      async (tx) => [await findDeciders(tx, deciderIds), await approversOf(tx, quorum)] as const,
    );
    return hs.map((h) =>
      handoffView(
        h,
        h.decidedBy === null ? null : (deciders.get(h.decidedBy) ?? null),
        h.requiredApprovals > 1 ? (approvers.get(h.id) ?? []) : singleApproval(h),
        publicUrl,
      ),
    );
  }

  return Object.assign(render, { page: renderPage });
}

export type HandoffRenderer = ReturnType<typeof createHandoffRenderer>;
