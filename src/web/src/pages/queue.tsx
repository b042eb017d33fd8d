/**
 * The queue: pending handoffs, riskiest and newest first, kept live over Server-Sent Events.
 * Search and filters (kept in the URL), inline approve/deny for low and medium, batch decisions of
 * equivalent items with one confirmation, and keyboard shortcuts (docs/dashboard.md).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { equivalenceKey } from '../../../core/approval/batch';
import { api, ApiError, errorText } from '../api';
import { ErrorBox, Loading, Notice, PageTitle, relativeTime, useLoad, useNow } from '../components';
import {
  byRiskThenNewest,
  coarseTimeLeft,
  HandoffCardBody,
  filtersFromSearch,
  HandoffCardAt,
  matchesFilters,
  RISK_LEVELS,
  searchOfFilters,
  useTimeZone,
  type QueueFilters,
} from '../handoff-list';
import { LiveIndicator, useEventStream } from '../live';
import { Link, navigate } from '../router';
import { roleAtLeast, useSession } from '../session';
import { shown } from '../shown';
import type { Handoff, HandoffRow } from '../types';

/** Inline and batch decisions: low and medium only, with the default approve/deny options. */
const inlineDecidable = (h: Handoff) =>
  h.status === 'pending' &&
  (h.risk.level === 'low' || h.risk.level === 'medium') &&
  h.options.some((o) => o.id === 'approve') &&
  h.options.some((o) => o.id === 'deny');
/** Batch: never critical (the server refuses too); high can be batch-denied or approved if equivalent. */
const batchable = (h: Handoff) =>
  h.status === 'pending' &&
  h.risk.level !== 'critical' &&
  h.options.some((o) => o.id === 'approve') &&
  h.options.some((o) => o.id === 'deny');
const keyOf = (row: HandoffRow) =>
  equivalenceKey({
    deviceId: row.device?.id ?? '',
    actionType: row.handoff.action.type,
    actionTarget: row.handoff.action.target,
    title: row.handoff.title,
  });
/** Decision errors that mean "step up on the detail page" rather than "failed". */
const STEP_UP = new Set(['totp_required', 'assurance_required', 'passkey_required', 'forbidden']);

const isTyping = (t: EventTarget | null) =>
  t instanceof HTMLElement &&
  (t.isContentEditable ||
    ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName) ||
    t.closest('dialog') !== null);

interface BatchResult {
  id: string;
  outcome: string;
  status: string | null;
  problem: { code: string; detail: string } | null;
}

export function QueuePage(_props: { params: Record<string, string> }) {
  const { member } = useSession();
  const canDecide = roleAtLeast(member?.role, 'member');
  const timeZone = useTimeZone();
  const now = useNow(1000);
  const { data, setData, error, loading, reload } = useLoad(
    () => api<HandoffRow[]>('GET', '/v1/dashboard/handoffs?status=pending&limit=500'),
    [],
  );
  const [left, setLeft] = useState<HandoffRow[]>([]);
  const [filters, setFilters] = useState<QueueFilters>(() => filtersFromSearch(window.location.search));
  const [cursor, setCursor] = useState(0);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [busy, setBusy] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<'approve' | 'deny' | null>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLUListElement>(null);
  const helpRef = useRef<HTMLDialogElement>(null);
  const confirmRef = useRef<HTMLDialogElement>(null);

  const onRow = useCallback(
    (row: HandoffRow) => {
      const id = row.handoff.id;
      setData((list) => {
        const rest = (list ?? []).filter((x) => x.handoff.id !== id);
        return row.handoff.status === 'pending' ? [row, ...rest] : rest;
      });
      if (row.handoff.status !== 'pending') {
        setLeft((l) => [row, ...l.filter((x) => x.handoff.id !== id)].slice(0, 5));
        setSelected((s) => {
          if (!s.has(id)) return s;
          const n = new Set(s);
          n.delete(id);
          return n;
        });
      }
    },
    [setData],
  );
  const live = useEventStream<HandoffRow>('/v1/handoffs/stream', 'handoff', onRow, () => void reload());

  const all = useMemo(() => [...(data ?? [])].sort(byRiskThenNewest), [data]);
  const pending = useMemo(() => all.filter((r) => matchesFilters(r, filters)), [all, filters]);
  const devices = useMemo(() => {
    const m = new Map<string, string>();
    for (const r of all) if (r.device !== null) m.set(r.device.id, r.device.name);
    return [...m].sort((a, b) => a[1].localeCompare(b[1]));
  }, [all]);
  const types = useMemo(() => [...new Set(all.map((r) => r.handoff.action.type))].sort(), [all]);
  const visibleIndex = useMemo(() => new Map(pending.map((r, i) => [r.handoff.id, i])), [pending]);
  const at = Math.min(cursor, Math.max(0, pending.length - 1));
  const current = pending[at];

  // The filters live in the URL (replace, not push: typing is not navigation).
  useEffect(() => {
    const next = window.location.pathname + searchOfFilters(filters);
    if (next !== window.location.pathname + window.location.search)
      window.history.replaceState(null, '', next);
  }, [filters]);

  const chosen = useMemo(() => all.filter((r) => selected.has(r.handoff.id)), [all, selected]);
  const equivalent = chosen.length > 0 && chosen.every((r) => keyOf(r) === keyOf(chosen[0]!));

  const focusCard = (i: number) => {
    setCursor(i);
    const el = listRef.current?.querySelectorAll<HTMLElement>('li[data-testid="handoff-card"]:not([hidden])')[
      i
    ];
    el?.focus();
    el?.scrollIntoView({ block: 'nearest' });
  };

  const decide = useCallback(
    async (row: HandoffRow, decision: 'approve' | 'deny') => {
      const h = row.handoff;
      setActionError(null);
      setNotice(null);
      setBusy(h.id);
      try {
        const next = await api<Handoff>('POST', `/v1/handoffs/${h.id}/decision`, { decision });
        onRow({ ...row, handoff: next });
        setNotice(
          `${h.short_code}: ${next.status === 'pending' ? 'your approval is recorded; more are needed' : next.status}.`,
        );
      } catch (err) {
        if (err instanceof ApiError && STEP_UP.has(err.code)) {
          // Not a silent failure: the detail page asks for the step-up (TOTP or a passkey).
          navigate(`/handoffs/${h.id}`);
          return;
        }
        setActionError(`${h.short_code}: ${errorText(err)}`);
      } finally {
        setBusy(null);
      }
    },
    [onRow],
  );

  const decideInline = useCallback(
    (row: HandoffRow, decision: 'approve' | 'deny') => {
      if (decision === 'approve' && row.handoff.totp_required) navigate(`/handoffs/${row.handoff.id}`);
      else void decide(row, decision);
    },
    [decide],
  );

  const toggle = (id: string, on: boolean) =>
    setSelected((s) => {
      const n = new Set(s);
      if (on) n.add(id);
      else n.delete(id);
      return n;
    });

  function openConfirm(decision: 'approve' | 'deny') {
    setConfirm(decision);
    confirmRef.current?.showModal();
  }

  async function runBatch() {
    if (confirm === null) return;
    const decision = confirm;
    confirmRef.current?.close();
    setActionError(null);
    setNotice(null);
    setBusy('batch');
    try {
      const r = await api<{ results: BatchResult[] }>('POST', '/v1/handoffs/batch-decision', {
        ids: chosen.map((x) => x.handoff.id),
        decision,
      });
      const done = r.results.filter((x) => x.outcome !== 'failed' && x.outcome !== 'not_attempted');
      const failed = r.results.filter((x) => x.outcome === 'failed' || x.outcome === 'not_attempted');
      setSelected(new Set());
      setNotice(
        `${decision === 'approve' ? 'Approved' : 'Denied'} ${done.length} of ${r.results.length}.` +
          (failed.length > 0
            ? ` Not decided: ${failed
                .map(
                  (f) =>
                    `${all.find((x) => x.handoff.id === f.id)?.handoff.short_code ?? f.id} (${f.problem?.detail ?? 'not attempted'})`,
                )
                .join('; ')}.`
            : ''),
      );
      await reload();
    } catch (err) {
      setActionError(errorText(err));
    } finally {
      setBusy(null);
      setConfirm(null);
    }
  }

  // Keyboard shortcuts: never while typing in a field or inside a dialog; never with modifiers.
  const keys = useRef<(e: KeyboardEvent) => void>(() => undefined);
  keys.current = (e: KeyboardEvent) => {
    if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
    if (e.key === '?') {
      e.preventDefault();
      helpRef.current?.showModal();
      return;
    }
    if (e.key === '/') {
      e.preventDefault();
      searchRef.current?.focus();
      return;
    }
    if (pending.length === 0) return;
    switch (e.key) {
      case 'j':
        e.preventDefault();
        focusCard(Math.min(at + 1, pending.length - 1));
        break;
      case 'k':
        e.preventDefault();
        focusCard(Math.max(at - 1, 0));
        break;
      case 'o':
      case 'Enter':
        if (e.key === 'Enter' && !(e.target instanceof HTMLLIElement)) return;
        if (current !== undefined) {
          e.preventDefault();
          navigate(`/handoffs/${current.handoff.id}`);
        }
        break;
      case 'x':
        if (current !== undefined && canDecide && batchable(current.handoff)) {
          e.preventDefault();
          toggle(current.handoff.id, !selected.has(current.handoff.id));
        }
        break;
      case 'a':
      case 'd':
        if (current !== undefined && canDecide && inlineDecidable(current.handoff) && busy === null) {
          e.preventDefault();
          decideInline(current, e.key === 'a' ? 'approve' : 'deny');
        }
        break;
    }
  };
  useEffect(() => {
    const on = (e: KeyboardEvent) => keys.current(e);
    document.addEventListener('keydown', on);
    return () => document.removeEventListener('keydown', on);
  }, []);

  const setFilter = (k: keyof QueueFilters, v: string) => {
    setFilters((f) => ({ ...f, [k]: v }));
    setCursor(0);
  };
  const filtered = filters.q !== '' || filters.risk !== '' || filters.device !== '' || filters.type !== '';

  return (
    <section>
      <PageTitle title="Queue">Waiting for a decision</PageTitle>
      <LiveIndicator state={live} />
      <p className="muted">
        Press <kbd>?</kbd> for keyboard shortcuts.{' '}
        <button type="button" className="link-button" onClick={() => helpRef.current?.showModal()}>
          Keyboard shortcuts
        </button>
      </p>
      <form
        className="queue-tools"
        role="search"
        aria-label="Queue filters"
        onSubmit={(e) => e.preventDefault()}
      >
        <div className="field">
          <label htmlFor="queue-q">Search</label>
          <input
            id="queue-q"
            ref={searchRef}
            type="search"
            value={filters.q}
            placeholder="title, target, code, device"
            onChange={(e) => setFilter('q', e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') e.currentTarget.blur();
              if (e.key === 'Enter' && pending.length > 0) focusCard(0);
            }}
          />
        </div>
        <div className="field">
          <label htmlFor="queue-risk">Risk</label>
          <select id="queue-risk" value={filters.risk} onChange={(e) => setFilter('risk', e.target.value)}>
            <option value="">any</option>
            {RISK_LEVELS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="queue-device">Device</label>
          <select
            id="queue-device"
            value={filters.device}
            onChange={(e) => setFilter('device', e.target.value)}
          >
            <option value="">any</option>
            {devices.map(([id, name]) => (
              <option key={id} value={id}>
                {shown(name)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="queue-type">Action type</label>
          <select id="queue-type" value={filters.type} onChange={(e) => setFilter('type', e.target.value)}>
            <option value="">any</option>
            {types.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
      </form>
      <ErrorBox error={error ?? actionError} />
      <Notice>{notice}</Notice>
      {canDecide && selected.size > 0 && (
        <div className="queue-batch" role="group" aria-label="Batch decision">
          <span data-testid="selection-count">{selected.size} selected</span>
          <button
            type="button"
            className="approve"
            disabled={!equivalent || busy !== null}
            onClick={() => openConfirm('approve')}
          >
            Approve {selected.size}…
          </button>
          <button
            type="button"
            className="deny"
            disabled={!equivalent || busy !== null}
            onClick={() => openConfirm('deny')}
          >
            Deny {selected.size}…
          </button>
          <button type="button" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
          {!equivalent && (
            <span className="muted">
              A batch needs the same device, action type and target; decide these one by one.
            </span>
          )}
        </div>
      )}
      {loading && data === undefined ? (
        <Loading />
      ) : all.length === 0 ? (
        <p>Nothing is waiting. New requests from agents appear here as they arrive.</p>
      ) : (
        <>
          <p className="muted" role="status" data-testid="queue-count">
            {filtered ? `${pending.length} of ${all.length} pending match` : `${all.length} pending`}
          </p>
          {pending.length === 0 && <p>No pending handoff matches these filters.</p>}
          <ul className="cards" aria-label="Pending handoffs" ref={listRef}>
            {all.map((row) => {
              const h = row.handoff;
              // Filtered-out cards stay mounted, hidden: filtering toggles attributes, never
              // re-creates 500 cards (the memoised body re-renders only when its text changes).
              const i = visibleIndex.get(h.id);
              const isCurrent = i !== undefined && i === at;
              const isSelected = selected.has(h.id);
              return (
                <li
                  key={h.id}
                  hidden={i === undefined}
                  className={`card queue-card${isCurrent ? ' current' : ''}${isSelected ? ' selected' : ''}`}
                  data-testid="handoff-card"
                  data-status={h.status}
                  data-id={h.id}
                  data-current={isCurrent}
                  tabIndex={isCurrent ? 0 : -1}
                  aria-labelledby={`card-${h.id}`}
                  onFocus={(e) => {
                    if (e.target === e.currentTarget && i !== undefined) setCursor(i);
                  }}
                >
                  <div className="select">
                    {canDecide && batchable(h) && (
                      <input
                        type="checkbox"
                        checked={isSelected}
                        aria-label={`Select ${h.short_code} for a batch decision`}
                        onChange={(e) => toggle(h.id, e.target.checked)}
                      />
                    )}
                  </div>
                  <div>
                    <HandoffCardBody
                      row={row}
                      relative={relativeTime(h.created_at, now)}
                      left={coarseTimeLeft(h.expires_at, now)}
                      timeZone={timeZone}
                    />
                    {canDecide && (
                      <div className="actions">
                        {inlineDecidable(h) ? (
                          <>
                            <button
                              type="button"
                              className="approve"
                              disabled={busy !== null}
                              aria-label={`Approve ${h.short_code}`}
                              onClick={() => decideInline(row, 'approve')}
                            >
                              Approve{h.totp_required ? '…' : ''}
                            </button>
                            <button
                              type="button"
                              className="deny"
                              disabled={busy !== null}
                              aria-label={`Deny ${h.short_code}`}
                              onClick={() => decideInline(row, 'deny')}
                            >
                              Deny
                            </button>
                          </>
                        ) : (
                          <Link to={`/handoffs/${h.id}`} className="button">
                            Open to decide
                          </Link>
                        )}
                      </div>
                    )}
                  </div>
                </li>
              );
            })}
          </ul>
        </>
      )}
      {left.length > 0 && (
        <>
          <h2>Just decided</h2>
          <ul className="cards" aria-label="Just decided">
            {left.map((row) => (
              <HandoffCardAt key={row.handoff.id} row={row} now={now} timeZone={timeZone} />
            ))}
          </ul>
        </>
      )}
      <p>
        <Link to="/history">All handoffs (history)</Link>
      </p>

      <dialog ref={helpRef} aria-labelledby="shortcuts-h" data-testid="shortcuts-dialog">
        <h2 id="shortcuts-h">Keyboard shortcuts</h2>
        <dl className="shortcuts">
          <dt>
            <kbd>j</kbd> / <kbd>k</kbd>
          </dt>
          <dd>next / previous handoff</dd>
          <dt>
            <kbd>o</kbd> or <kbd>Enter</kbd>
          </dt>
          <dd>open the handoff</dd>
          <dt>
            <kbd>a</kbd> / <kbd>d</kbd>
          </dt>
          <dd>approve / deny (low and medium risk; members and admins)</dd>
          <dt>
            <kbd>x</kbd>
          </dt>
          <dd>select for a batch decision (not critical)</dd>
          <dt>
            <kbd>/</kbd>
          </dt>
          <dd>search</dd>
          <dt>
            <kbd>?</kbd>
          </dt>
          <dd>this help</dd>
          <dt>
            <kbd>Esc</kbd>
          </dt>
          <dd>close a dialog; leave the search field</dd>
        </dl>
        <form method="dialog">
          <button type="submit" className="primary">
            Close
          </button>
        </form>
      </dialog>

      <dialog
        ref={confirmRef}
        aria-labelledby="batch-h"
        data-testid="batch-dialog"
        onClose={() => setConfirm(null)}
      >
        <h2 id="batch-h">
          {confirm === 'approve' ? 'Approve' : 'Deny'} these {chosen.length} handoffs?
        </h2>
        <p>Each one is decided and audited on its own, with the same answer.</p>
        <ul>
          {chosen.map((r) => (
            <li key={r.handoff.id}>
              <span className="mono">{r.handoff.short_code}</span> · {shown(r.handoff.title)} ·{' '}
              {r.handoff.risk.level} · from {shown(r.device?.name ?? 'a removed device')}
            </li>
          ))}
        </ul>
        <div className="actions">
          <button
            type="button"
            className={confirm === 'approve' ? 'approve' : 'deny'}
            onClick={() => void runBatch()}
          >
            {confirm === 'approve' ? 'Approve' : 'Deny'} all {chosen.length}
          </button>
          <button type="button" onClick={() => confirmRef.current?.close()}>
            Cancel
          </button>
        </div>
      </dialog>
    </section>
  );
}
