/** The queue: pending handoffs, riskiest and newest first, kept live over Server-Sent Events. */
import { useCallback, useState } from 'react';
import { api } from '../api';
import { ErrorBox, Loading, PageTitle, useLoad } from '../components';
import { byRiskThenNewest, HandoffCard } from '../handoff-list';
import { LiveIndicator, useEventStream } from '../live';
import { Link } from '../router';
import type { HandoffRow } from '../types';

export function QueuePage(_props: { params: Record<string, string> }) {
  const { data, setData, error, loading, reload } = useLoad(
    () => api<HandoffRow[]>('GET', '/v1/dashboard/handoffs?status=pending&limit=500'),
    [],
  );
  const [left, setLeft] = useState<HandoffRow[]>([]);

  const onRow = useCallback(
    (row: HandoffRow) => {
      const id = row.handoff.id;
      setData((list) => {
        const rest = (list ?? []).filter((x) => x.handoff.id !== id);
        return row.handoff.status === 'pending' ? [row, ...rest] : rest;
      });
      if (row.handoff.status !== 'pending')
        setLeft((l) => [row, ...l.filter((x) => x.handoff.id !== id)].slice(0, 5));
    },
    [setData],
  );
  const live = useEventStream<HandoffRow>('/v1/handoffs/stream', 'handoff', onRow, () => void reload());
  const pending = [...(data ?? [])].sort(byRiskThenNewest);

  return (
    <section>
      <PageTitle title="Queue">Waiting for a decision</PageTitle>
      <LiveIndicator state={live} />
      <ErrorBox error={error} />
      {loading && data === undefined ? (
        <Loading />
      ) : pending.length === 0 ? (
        <p>Nothing is waiting. New requests from agents appear here as they arrive.</p>
      ) : (
        <ul className="cards" aria-label="Pending handoffs">
          {pending.map((row) => (
            <HandoffCard key={row.handoff.id} row={row} />
          ))}
        </ul>
      )}
      {left.length > 0 && (
        <>
          <h2>Just decided</h2>
          <ul className="cards" aria-label="Just decided">
            {left.map((row) => (
              <HandoffCard key={row.handoff.id} row={row} />
            ))}
          </ul>
        </>
      )}
      <p>
        <Link to="/history">All handoffs (history)</Link>
      </p>
    </section>
  );
}
