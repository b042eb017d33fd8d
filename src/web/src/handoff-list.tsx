/** Shared by the queue and the history: sorting, filtering and one handoff as a card. */
import { memo, type ReactNode } from 'react';
import {
  AgentText,
  browserTimeZone,
  RelativeTime,
  RiskBadge,
  StatusBadge,
  reasonText,
  timeLeft,
  useNow,
} from './components';
import { Link } from './router';
import { useSession } from './session';
import type { HandoffRow, RiskLevel } from './types';

const RISK_RANK: Record<RiskLevel, number> = { low: 0, medium: 1, high: 2, critical: 3 };
export const RISK_LEVELS: readonly RiskLevel[] = ['critical', 'high', 'medium', 'low'];

/** Riskiest first, then newest. */
export function byRiskThenNewest(a: HandoffRow, b: HandoffRow): number {
  return (
    RISK_RANK[b.handoff.risk.level] - RISK_RANK[a.handoff.risk.level] ||
    b.handoff.created_at.localeCompare(a.handoff.created_at)
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
  return { q: p.get('q') ?? '', risk: p.get('risk') ?? '', device: p.get('device') ?? '', type: p.get('type') ?? '' };
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

export interface CardControls {
  /** The keyboard cursor is on this card (roving tab stop). */
  readonly current: boolean;
  /** A checkbox for batch selection; undefined when the card cannot be batched. */
  readonly selected?: boolean | undefined;
  readonly onSelect?: ((selected: boolean) => void) | undefined;
  /** Inline decision buttons (low and medium, members); undefined when not allowed. */
  readonly actions?: ReactNode;
  readonly onFocus?: () => void;
}

/** One handoff; `now` comes from the list's one timer. Memoised: a tick re-renders only changed text. */
export const HandoffCardAt = memo(function HandoffCardAt({
  row,
  now,
  timeZone,
  controls,
}: {
  row: HandoffRow;
  now: number;
  timeZone: string;
  controls?: CardControls;
}) {
  const h = row.handoff;
  const titleId = `card-${h.id}`;
  const body = (
    <div>
      <h2 id={titleId}>
        <Link to={`/handoffs/${h.id}`}>
          <AgentText>{h.title}</AgentText>
        </Link>
      </h2>
      <div className="meta">
        <RiskBadge level={h.risk.level} />
        <StatusBadge status={h.status} />
        {h.status === 'pending' && <time dateTime={h.expires_at}>{timeLeft(h.expires_at, now)}</time>}
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
        <RelativeTime iso={h.created_at} now={now} timeZone={timeZone} />
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
      {controls?.actions}
    </div>
  );
  if (controls === undefined)
    return (
      <li className="card" data-testid="handoff-card" data-status={h.status}>
        {body}
      </li>
    );
  return (
    <li
      className={`card queue-card${controls.current ? ' current' : ''}${controls.selected === true ? ' selected' : ''}`}
      data-testid="handoff-card"
      data-status={h.status}
      data-id={h.id}
      data-current={controls.current}
      tabIndex={controls.current ? 0 : -1}
      aria-labelledby={titleId}
      onFocus={(e) => {
        if (e.target === e.currentTarget) controls.onFocus?.();
      }}
    >
      <div className="select">
        {controls.onSelect !== undefined && (
          <input
            type="checkbox"
            checked={controls.selected === true}
            aria-label={`Select ${h.short_code} for a batch decision`}
            onChange={(e) => controls.onSelect?.(e.target.checked)}
          />
        )}
      </div>
      {body}
    </li>
  );
});
