/** Shared by the queue and the history: sorting, filtering and one handoff as a card. */
import { memo } from 'react';
import {
  AgentText,
  browserTimeZone,
  formatTime,
  relativeTime,
  RiskBadge,
  StatusBadge,
  reasonText,
  timeLeft,
} from './components';
import { Link } from './router';
import { useSession } from './session';
import type { Handoff, HandoffRow, RiskLevel } from './types';

const RISK_RANK: Record<RiskLevel, number> = { low: 0, medium: 1, high: 2, critical: 3 };
export const RISK_LEVELS: readonly RiskLevel[] = ['critical', 'high', 'medium', 'low'];

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

/** The queue's filters, as they sit in the URL (`?q=&risk=&device=&type=`). */
export interface QueueFilters {
  readonly q: string;
  readonly risk: string;
  readonly device: string;
  readonly type: string;
}

export function filtersFromSearch(search: string): QueueFilters {
  const p = new URLSearchParams(search);
  return {
    q: p.get('q') ?? '',
    risk: p.get('risk') ?? '',
    device: p.get('device') ?? '',
    type: p.get('type') ?? '',
  };
}

export function searchOfFilters(f: QueueFilters): string {
  const p = new URLSearchParams();
  for (const k of ['q', 'risk', 'device', 'type'] as const) if (f[k] !== '') p.set(k, f[k]);
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

/** Whether a row passes the filters: text is a case-insensitive part of title, target, code or device. */
export function matchesFilters(row: HandoffRow, f: QueueFilters): boolean {
  const h = row.handoff;
  if (f.risk !== '' && h.risk.level !== f.risk) return false;
  if (f.device !== '' && row.device?.id !== f.device) return false;
  if (f.type !== '' && h.action.type !== f.type) return false;
  const q = f.q.trim().toLowerCase();
  if (q === '') return true;
  return [h.title, h.action.target ?? '', h.short_code, h.action.type, row.device?.name ?? ''].some((s) =>
    s.toLowerCase().includes(q),
  );
}

/** The member's timezone (Account page), else the browser's. */
export function useTimeZone(): string {
  const { member } = useSession();
  return member?.timezone ?? browserTimeZone();
}

/** "2 h 5 min left", "12 min left", seconds only in the last 5 minutes (so a tick re-renders few cards). */
export function coarseTimeLeft(expiresAt: string, now: number): string {
  const ms = new Date(expiresAt).getTime() - now;
  if (!(ms > 5 * 60_000)) return timeLeft(expiresAt, now);
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m} min left` : `${Math.floor(m / 60)} h ${m % 60} min left`;
}

/**
 * One handoff's content (title, badges, meta, reasons); the list wraps it in its own `<li>`.
 * Memoised on strings: a clock tick re-renders only the cards whose displayed times changed.
 */
export const HandoffCardBody = memo(function HandoffCardBody({
  row,
  relative,
  left,
  timeZone,
}: {
  row: HandoffRow;
  relative: string;
  left: string | null;
  timeZone: string;
}) {
  const h = row.handoff;
  return (
    <>
      <h2 id={`card-${h.id}`}>
        <Link to={`/handoffs/${h.id}`}>
          <AgentText>{h.title}</AgentText>
        </Link>
      </h2>
      <ModelSummary h={h} />
      <div className="meta">
        <RiskBadge level={h.risk.level} />
        <StatusBadge status={h.status} />
        {left !== null && <time dateTime={h.expires_at}>{left}</time>}
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
        <time dateTime={h.created_at} title={formatTime(h.created_at, timeZone)}>
          {relative}
        </time>
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
    </>
  );
});

/** A plain card (history, "just decided"), with the list's clock. */
export function HandoffCardAt({ row, now, timeZone }: { row: HandoffRow; now: number; timeZone: string }) {
  const h = row.handoff;
  return (
    <li className="card" data-testid="handoff-card" data-status={h.status}>
      <HandoffCardBody
        row={row}
        relative={relativeTime(h.created_at, now)}
        left={h.status === 'pending' ? coarseTimeLeft(h.expires_at, now) : null}
        timeZone={timeZone}
      />
    </li>
  );
}
