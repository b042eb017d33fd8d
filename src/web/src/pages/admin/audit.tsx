/**
 * Audit (admin): the hash chain, newest first, with names (members, devices, handoffs linked by
 * short code), filters (action, actor, time), a CSV download of the filtered view, paging by
 * sequence number and a disclosure per row for its details; "Verify chain" re-checks every hash and signed checkpoint on the server and shows
 * the result, the first bad seq if any, and the latest signed checkpoint's text.
 */
import { Fragment, useId, useState, type FormEvent } from 'react';
import { api } from '../../api';
import { absoluteTime, compactTime } from '../../compact-time';
import { AgentText, ErrorBox, Loading, Notice, PageTitle, formatTime, useLoad } from '../../components';
import { Link } from '../../router';
import type { Member } from '../../types';
import { useAction } from '../../use-action';
import { Section, shortId, type AuditEntry, type Checkpoint, type VerifyReport } from './admin-kit';
import { AUDIT_ACTION_SUGGESTIONS } from './audit-actions';
import { auditQuery } from './policy-form';

interface Filters {
  action: string;
  actor_id: string;
  from: string;
  to: string;
}
const EMPTY: Filters = { action: '', actor_id: '', from: '', to: '' };
const PAGE = 50;

function VerifyPanel() {
  const [report, setReport] = useState<VerifyReport | null>(null);
  const { busy, error, notice: signed, run, setNotice } = useAction();
  const sign = () =>
    run(async () => {
      const c = await api<Checkpoint>('POST', '/v1/admin/audit/checkpoints');
      return `Checkpoint signed at seq ${c.seq}. Verify the chain to check it.`;
    });
  const verify = () =>
    run(async () => {
      setNotice(null);
      setReport(await api<VerifyReport>('GET', '/v1/admin/audit/verify'));
    });
  return (
    <Section title="Verify">
      <div className="actions">
        <button type="button" className="primary" onClick={() => void verify()} disabled={busy}>
          {busy ? 'Verifying…' : 'Verify chain'}
        </button>
        <button type="button" onClick={() => void sign()} disabled={busy}>
          Sign a checkpoint now
        </button>
      </div>
      {signed !== null && <Notice>{signed}</Notice>}
      <ErrorBox error={error} />
      {report !== null && (
        <div role="status" aria-live="polite" className="verify-result">
          {report.ok ? (
            <p className="ok">
              Chain intact: {report.entries} entries, head seq {report.head_seq};{' '}
              {report.checkpoints_verified} signed checkpoint(s) verified.
            </p>
          ) : (
            <p className="bad">
              Chain broken at seq {report.bad_seq} ({report.reason})
              {report.detail !== undefined ? `: ${report.detail}` : ''}. {report.entries} entries checked,{' '}
              {report.checkpoints_verified} checkpoint(s) verified before it.
            </p>
          )}
          {report.head_hash !== undefined && (
            <p>
              Head hash <code className="mono">{report.head_hash}</code>
            </p>
          )}
          <h3>Latest signed checkpoint</h3>
          {report.latest_checkpoint === null ? (
            <p className="muted">No checkpoint signed yet.</p>
          ) : (
            <>
              <p className="muted">
                seq {report.latest_checkpoint.seq}, signed {formatTime(report.latest_checkpoint.at)} by{' '}
                {report.latest_checkpoint.key_name} (public key at /.well-known/ony-audit-key)
              </p>
              <pre className="checkpoint-note">{report.latest_checkpoint.note}</pre>
            </>
          )}
        </div>
      )}
    </Section>
  );
}

/** Who did it: a member's or device's name (an erased member's pseudonym), or "system". */
function Actor({ e }: { e: AuditEntry }) {
  if (e.actor_id === null) return <span className="muted">{e.actor_type}</span>;
  const name = e.actor_name ?? shortId(e.actor_id);
  return e.actor_type === 'member' ? (
    <AgentText>{name}</AgentText>
  ) : (
    <>
      <span className="muted">{e.actor_type} </span>
      <AgentText>{name}</AgentText>
    </>
  );
}

/** What it was done to: a handoff links to its page by short code and title. */
function Subject({ e }: { e: AuditEntry }) {
  if (e.subject_type === 'handoff' && e.subject_id !== null && e.subject_short_code !== null) {
    return (
      <Link to={`/handoffs/${e.subject_id}`} className="audit-subject">
        <code>{e.subject_short_code}</code> <AgentText>{e.subject_name ?? ''}</AgentText>
      </Link>
    );
  }
  return (
    <span className="audit-subject">
      <span className="muted">{e.subject_type} </span>
      {e.subject_name !== null ? (
        <AgentText>{e.subject_name}</AgentText>
      ) : (
        e.subject_id !== null && <span className="mono">{shortId(e.subject_id)}</span>
      )}
    </span>
  );
}

/** The disclosed details of one entry: ids, every meta field, the hash. */
function Details({ e, id }: { e: AuditEntry; id: string }) {
  const meta =
    typeof e.meta === 'object' && e.meta !== null && !Array.isArray(e.meta)
      ? Object.entries(e.meta as Record<string, unknown>)
      : [];
  return (
    <dl className="facts audit-details" id={id}>
      <dt>Time</dt>
      <dd>{absoluteTime(new Date(e.at))}</dd>
      {e.actor_id !== null && (
        <>
          <dt>Actor id</dt>
          <dd className="mono">{e.actor_id}</dd>
        </>
      )}
      {e.subject_id !== null && (
        <>
          <dt>Subject id</dt>
          <dd className="mono">{e.subject_id}</dd>
        </>
      )}
      {meta.map(([k, v]) => (
        <Fragment key={k}>
          <dt>{k}</dt>
          <dd>
            <code>
              <AgentText>{typeof v === 'string' ? v : JSON.stringify(v)}</AgentText>
            </code>
          </dd>
        </Fragment>
      ))}
      <dt>Hash</dt>
      <dd className="mono">{e.hash}</dd>
    </dl>
  );
}

function EntryRows({ e, now }: { e: AuditEntry; now: Date }) {
  const [open, setOpen] = useState(false);
  const detailsId = useId();
  const at = new Date(e.at);
  return (
    <>
      <tr>
        <th scope="row">{e.seq}</th>
        <td className="nowrap">
          <time dateTime={e.at} title={absoluteTime(at)}>
            {compactTime(at, now)}
          </time>
        </td>
        <td>
          <Actor e={e} />
        </td>
        <td>
          <code>{e.action}</code>
        </td>
        <td>
          <Subject e={e} />
        </td>
        <td>
          <button
            type="button"
            className="link-button"
            aria-expanded={open}
            aria-controls={open ? detailsId : undefined}
            onClick={() => setOpen(!open)}
          >
            {open ? 'Hide' : 'Show'}
            <span className="visually-hidden"> details of entry {e.seq}</span>
          </button>
        </td>
      </tr>
      {open && (
        <tr className="audit-details-row">
          <td colSpan={6}>
            <Details e={e} id={detailsId} />
          </td>
        </tr>
      )}
    </>
  );
}

export function AuditPage() {
  const members = useLoad(() => api<Member[]>('GET', '/v1/admin/members'), []);
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  // The before_seq of each page seen, to go back to newer pages.
  const [cursors, setCursors] = useState<(number | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const page = useLoad(
    () =>
      api<{ entries: AuditEntry[]; next_before_seq: number | null }>(
        'GET',
        `/v1/admin/audit?${auditQuery({ ...applied, before_seq: cursor, limit: PAGE })}`,
      ),
    [applied, cursor],
  );
  const ids = { action: useId(), actor: useId(), from: useId(), to: useId(), list: useId() };
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setApplied(draft);
    setCursors([null]);
  };
  // The CSV has the applied filters and every page, not only the one shown.
  const csv = new URLSearchParams(auditQuery(applied));
  csv.delete('limit');
  const now = new Date();
  return (
    <section>
      <PageTitle title="Audit">Audit chain</PageTitle>
      <VerifyPanel />
      <Section title="Entries">
        <form className="filters" onSubmit={apply} aria-label="Filter the audit chain">
          <div className="field">
            <label htmlFor={ids.action}>Action</label>
            <input
              id={ids.action}
              list={ids.list}
              value={draft.action}
              placeholder="any"
              onChange={(e) => setDraft({ ...draft, action: e.target.value })}
            />
            <datalist id={ids.list}>
              {AUDIT_ACTION_SUGGESTIONS.map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
          </div>
          <div className="field">
            <label htmlFor={ids.actor}>Actor</label>
            <select
              id={ids.actor}
              value={draft.actor_id}
              onChange={(e) => setDraft({ ...draft, actor_id: e.target.value })}
            >
              <option value="">anyone</option>
              {(members.data ?? []).map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={ids.from}>From</label>
            <input
              id={ids.from}
              type="datetime-local"
              value={draft.from}
              onChange={(e) => setDraft({ ...draft, from: e.target.value })}
            />
          </div>
          <div className="field">
            <label htmlFor={ids.to}>To</label>
            <input
              id={ids.to}
              type="datetime-local"
              value={draft.to}
              onChange={(e) => setDraft({ ...draft, to: e.target.value })}
            />
          </div>
          <button type="submit">Apply filters</button>
          <button
            type="button"
            onClick={() => {
              setDraft(EMPTY);
              setApplied(EMPTY);
              setCursors([null]);
            }}
          >
            Clear
          </button>
        </form>
        <p>
          <a href={`/v1/admin/audit/csv?${csv.toString()}`} download="audit.csv">
            Download these entries as CSV
          </a>{' '}
          <span className="muted">
            (every page of the filtered view; the download is recorded in the chain)
          </span>
        </p>
        <ErrorBox error={page.error} />
        {/* Never the previous filter's rows while the new ones load. */}
        {page.data === undefined || page.loading ? (
          page.loading && <Loading what="Loading the chain" />
        ) : page.data.entries.length === 0 ? (
          <p className="muted">No entries match.</p>
        ) : (
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Audit entries">
            <table className="admin-table audit-table">
              <caption className="visually-hidden">Audit entries, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Seq</th>
                  <th scope="col">Time</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Subject</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {page.data.entries.map((e) => (
                  <EntryRows key={e.seq} e={e} now={now} />
                ))}
              </tbody>
            </table>
          </div>
        )}
        <nav className="actions" aria-label="Audit pages">
          <button
            type="button"
            disabled={cursors.length <= 1}
            onClick={() => setCursors((c) => c.slice(0, -1))}
          >
            Newer
          </button>
          <button
            type="button"
            disabled={page.data?.next_before_seq == null}
            onClick={() => {
              const next = page.data?.next_before_seq;
              if (next != null) setCursors((c) => [...c, next]);
            }}
          >
            Older
          </button>
        </nav>
      </Section>
    </section>
  );
}
