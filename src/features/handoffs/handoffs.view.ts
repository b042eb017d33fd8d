import { isDenyOption } from '../../core/approval/decide.js';
import type { Handoff } from './handoffs.repository.js';

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
    risk: { level: h.riskLevel, reasons: [...h.riskReasons] },
    options: h.options.map((o) => ({ id: o.id, label: o.label })),
    approvals: { required: h.requiredApprovals, received: approvals.length },
    totp_required: h.totpRequired,
    // Only a human's decision has one; `expired` and `cancelled` say it in the status.
    decision:
      h.status === 'approved' || h.status === 'denied'
        ? {
            option: h.decisionOption ?? 'deny',
            outcome: isDenyOption(h.decisionOption ?? 'deny') ? ('denied' as const) : ('approved' as const),
            decided_by: decider && { member_id: decider.id, name: decider.name },
            channel: h.decisionChannel ?? 'web',
            comment: h.decisionComment,
            at: h.decidedAt!.toISOString(),
          }
        : null,
    expires_at: h.expiresAt.toISOString(),
    created_at: h.createdAt.toISOString(),
    links: { self: `${publicUrl}/v1/handoffs/${h.id}`, events: `${publicUrl}/v1/handoffs/${h.id}/events` },
  };
}

export type HandoffView = ReturnType<typeof handoffView>;
