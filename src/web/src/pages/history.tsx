/** History: every handoff, newest first, filtered by status, risk, device and date (kept in the URL). */
import { type ChangeEvent } from 'react';
import { api, qs } from '../api';
import { ErrorBox, Loading, PageTitle, useLoad, useNow } from '../components';
import { HandoffCardAt, useTimeZone } from '../handoff-list';
import { navigate, useLocation } from '../router';
import { shown } from '../shown';
import type { DeviceName, HandoffRow } from '../types';

const STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'];
const RISKS = ['low', 'medium', 'high', 'critical'];

export function HistoryPage(_props: { params: Record<string, string> }) {
  const { search } = useLocation();
  // One clock for the whole list (relative times), and the member's timezone for absolute ones.
  const now = useNow(15_000);
  const timeZone = useTimeZone();
  const q = new URLSearchParams(search);
  const status = q.get('status') ?? '';
  const risk = q.get('risk') ?? '';
  const device = q.get('device') ?? '';
  const from = q.get('from') ?? '';
  const to = q.get('to') ?? '';

  const devices = useLoad(() => api<DeviceName[]>('GET', '/v1/devices'), []);
  const { data, error, loading } = useLoad(
    () =>
      api<HandoffRow[]>(
        'GET',
        `/v1/dashboard/handoffs${qs({ status, risk, device_id: device, limit: '500' })}`,
      ),
    [status, risk, device],
  );

  const set = (key: string) => (e: ChangeEvent<HTMLSelectElement | HTMLInputElement>) => {
    const next = new URLSearchParams(search);
    if (e.target.value === '') next.delete(key);
    else next.set(key, e.target.value);
    const s = next.toString();
    navigate(`/history${s === '' ? '' : `?${s}`}`, { replace: true });
  };

  // The date range is applied here (the API filters by status, risk and device).
  const fromMs = from !== '' ? new Date(`${from}T00:00:00`).getTime() : -Infinity;
  const toMs = to !== '' ? new Date(`${to}T23:59:59.999`).getTime() : Infinity;
  const rows = (data ?? []).filter((r) => {
    const t = new Date(r.handoff.created_at).getTime();
    return t >= fromMs && t <= toMs;
  });

  return (
    <section>
      <PageTitle title="History">History</PageTitle>
      <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="f-status">Status</label>
          <select id="f-status" value={status} onChange={set('status')}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-risk">Risk</label>
          <select id="f-risk" value={risk} onChange={set('risk')}>
            <option value="">any</option>
            {RISKS.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-device">Device</label>
          <select id="f-device" value={device} onChange={set('device')}>
            <option value="">any</option>
            {(devices.data ?? []).map((d) => (
              <option key={d.id} value={d.id}>
                {shown(d.name)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-from">From</label>
          <input id="f-from" type="date" value={from} onChange={set('from')} />
        </div>
        <div className="field">
          <label htmlFor="f-to">To</label>
          <input id="f-to" type="date" value={to} onChange={set('to')} />
        </div>
      </form>
      <ErrorBox error={error} />
      {loading && data === undefined ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p>No handoff matches these filters.</p>
      ) : (
        <>
          <p className="muted" role="status">
            {rows.length} handoff{rows.length === 1 ? '' : 's'}
            {(data?.length ?? 0) >= 500 && ' (the newest 500; narrow the filters to see older ones)'}
          </p>
          <ul className="cards" aria-label="Handoffs">
            {rows.map((row) => (
              <HandoffCardAt key={row.handoff.id} row={row} now={now} timeZone={timeZone} />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
