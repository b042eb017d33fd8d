/** Shared by the queue and the history: sorting and one handoff as a card. */
import { AgentText, RiskBadge, StatusBadge, TimeLeft, formatTime, reasonText } from './components';
import { Link } from './router';
import type { Handoff, HandoffRow, RiskLevel } from './types';

const RISK_RANK: Record<RiskLevel, number> = { low: 0, medium: 1, high: 2, critical: 3 };

/** Riskiest first, then newest. */
export function byRiskThenNewest(a: HandoffRow, b: HandoffRow): number {
  return (
    RISK_RANK[b.handoff.risk.level] - RISK_RANK[a.handoff.risk.level] ||
    b.handoff.created_at.localeCompare(a.handoff.created_at)
  );
}

/**
 * The optional summarizer's summary (docs/summarizer.md), always labelled as a model's, so the
 * approver knows which text they read; nothing when there is none.
 */
export function ModelSummary({ h }: { h: Pick<Handoff, 'summary_source' | 'model_summary'> }) {
  if (h.summary_source !== 'model' || h.model_summary === null) return null;
  return (
    <p className="model-summary" data-testid="model-summary">
      <strong>Summary (model):</strong> <AgentText>{h.model_summary}</AgentText>
    </p>
  );
}

export function HandoffCard({ row }: { row: HandoffRow }) {
  const h = row.handoff;
  return (
    <li className="card" data-testid="handoff-card" data-status={h.status}>
      <h2>
        <Link to={`/handoffs/${h.id}`}>
          <AgentText>{h.title}</AgentText>
        </Link>
      </h2>
      <ModelSummary h={h} />
      <div className="meta">
        <RiskBadge level={h.risk.level} />
        <StatusBadge status={h.status} />
        {h.status === 'pending' && <TimeLeft expiresAt={h.expires_at} />}
        <span>
          <span className="mono">{h.short_code}</span> · {h.action.type}
          {h.action.target !== null && (
            <>
              {' '}
              ·{' '}
              <span className="mono">
                <AgentText>{h.action.target}</AgentText>
              </span>
            </>
          )}
        </span>
        <span>
          from <AgentText>{row.device?.name ?? 'a removed device'}</AgentText>
        </span>
        <span>{formatTime(h.created_at)}</span>
        {h.approvals.required > 1 && (
          <span>
            approvals {h.approvals.received}/{h.approvals.required}
          </span>
        )}
      </div>
      {h.risk.reasons.length > 0 && (
        <ul className="reasons" aria-label="Risk reasons">
          {h.risk.reasons.map((r) => (
            <li key={r} title={r}>
              {reasonText(r)}
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}
