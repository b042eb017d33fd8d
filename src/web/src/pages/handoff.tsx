/**
 * One handoff: what the agent asks, the derived risk with its reasons, the payload as text, the
 * escalation timeline (with the phone calls made for it), the decision buttons (members and admins;
 * viewers see none and the API refuses them anyway; where a step-up is needed, a TOTP code or
 * "Approve with passkey", bound to this handoff and option) and the decision record. Live while
 * pending. A deny may say why (a preset reason plus the comment); approving a critical handoff asks
 * for its short code typed as a deliberate confirmation; Extend gives a pending handoff more time
 * within the policy's maximum.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, errorText } from '../api';
import {
  AgentText,
  ErrorBox,
  formatTime,
  Loading,
  Notice,
  PageTitle,
  RiskBadge,
  StatusBadge,
  TimeLeft,
  useLoad,
} from '../components';
import { LiveIndicator, useEventStream } from '../live';
import { answer, ceremonyText, passkeysSupported, type PasskeyRow } from '../passkeys';
import { payloadLines } from '../payload-lines';
import { attemptText } from '../attempt-text';
import { Link } from '../router';
import { roleAtLeast, useMe } from '../session';
import { shown } from '../shown';
import type { CallRecord, Handoff, HandoffDetail } from '../types';
import { describeAssurance } from '../../../core/approval/assurance';
import {
  REJECTION_REASONS,
  REJECTION_REASON_TEXT,
  type RejectionReason,
} from '../../../core/approval/rejection';

function Payload({ payload }: { payload: NonNullable<HandoffDetail['payload']> }) {
  const { lines, truncated } = payloadLines(payload.content, payload.kind);
  return (
    <>
      <div className="payload" tabIndex={0} role="region" aria-label={`Payload (${payload.kind})`}>
        <pre>
          <code>
            {lines.map((l, i) => (
              <span key={i} className={`line ${l.kind}`}>
                <AgentText>{l.text}</AgentText>
                {'\n'}
              </span>
            ))}
          </code>
        </pre>
      </div>
      {truncated > 0 && <p className="muted">{truncated} more lines are not shown.</p>}
    </>
  );
}

/**
 * The payload stays folded until asked for: opening it is recorded (GET /v1/handoffs/{id}/payload),
 * so the insights can tell approvals made with the payload read from those made without it.
 */
function WithheldPayload({ id }: { id: string }) {
  const [payload, setPayload] = useState<HandoffDetail['payload']>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (payload !== null) return <Payload payload={payload} />;
  return (
    <>
      <button
        type="button"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          setError(null);
          api<NonNullable<HandoffDetail['payload']>>('GET', `/v1/handoffs/${encodeURIComponent(id)}/payload`)
            .then(setPayload, (err: unknown) => setError(errorText(err)))
            .finally(() => setBusy(false));
        }}
      >
        Show payload
      </button>
      <ErrorBox error={error} />
    </>
  );
}

interface TimelineEntry {
  at: string;
  text: string;
}

/** A call's outcome in words (the API's closed list; anything newer shows as it is). */
const CALL_OUTCOME: Readonly<Record<string, string>> = {
  approved: 'approved',
  denied: 'denied',
  recorded: 'vote recorded',
  refused: 'refused',
  no_input: 'no key pressed',
  voicemail: 'reached voicemail',
  totp_failed: 'wrong authenticator codes',
  hung_up: 'hung up',
  not_answered: 'not answered',
};

/** "42 s", "3 min 5 s". */
function callDuration(s: number): string {
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function callText(c: CallRecord): string {
  const outcome = CALL_OUTCOME[c.outcome] ?? c.outcome.replace(/_/g, ' ');
  // busy, failed, canceled: why it was not answered ("no_answer" would only repeat the outcome).
  const status =
    c.status === 'completed' || c.status === 'no_answer' ? '' : ` (${c.status.replace(/_/g, ' ')})`;
  const duration = c.duration_s === null ? '' : `, ${callDuration(c.duration_s)}`;
  return `Phone call to ${c.phone}: ${outcome}${status}${duration}`;
}

function timeline(d: HandoffDetail, calls: readonly CallRecord[]): TimelineEntry[] {
  const h = d.handoff;
  const entries: TimelineEntry[] = [{ at: h.created_at, text: 'Requested by the agent' }];
  for (const a of d.attempts) entries.push({ at: a.at, text: attemptText(a) });
  for (const c of calls) entries.push({ at: c.ended_at, text: callText(c) });
  for (const a of d.approvals)
    entries.push({
      at: a.at,
      text: `${a.name ?? 'A member'} chose “${a.option}” (${a.assurance !== null ? describeAssurance(a.assurance) : a.channel})`,
    });
  if (h.decision !== null)
    entries.push({
      at: h.decision.at,
      text: `${h.decision.outcome === 'approved' ? 'Approved' : 'Denied'} by ${h.decision.decided_by?.name ?? 'the org policy'} via ${h.decision.channel}${h.decision.reason != null ? ` (${REJECTION_REASON_TEXT[h.decision.reason]})` : ''}`,
    });
  if (h.status === 'expired') entries.push({ at: h.expires_at, text: 'Expired without a decision (denied)' });
  return entries.sort((a, b) => a.at.localeCompare(b.at));
}

function DecisionForm({ h, onDone }: { h: Handoff; onDone: (h: Handoff, recorded: boolean) => void }) {
  const [comment, setComment] = useState('');
  const [reason, setReason] = useState<RejectionReason | ''>('');
  // Critical handoffs: the short code, typed by the approver before approving (the server checks it).
  const critical = h.risk.level === 'critical';
  const [typedCode, setTypedCode] = useState('');
  const confirmation = critical ? { confirm_short_code: typedCode.trim() } : {};
  const [totp, setTotp] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [needTotp, setNeedTotp] = useState(h.totp_required);
  // Whether this member has a passkey to step up with (loaded once; a failure just hides the buttons).
  const [hasPasskey, setHasPasskey] = useState(false);
  useEffect(() => {
    if (!passkeysSupported()) return;
    api<PasskeyRow[]>('GET', '/v1/me/passkeys')
      .then((keys) => setHasPasskey(keys.length > 0))
      .catch(() => setHasPasskey(false));
  }, []);

  /** Step-up with a passkey: options bound to (this handoff, option), the browser's answer, the decision. */
  async function decideWithPasskey(option: string) {
    setBusy(`passkey:${option}`);
    setError(null);
    try {
      const optionsJSON = await api<Parameters<typeof answer>[0]>(
        'POST',
        `/v1/handoffs/${h.id}/passkey-options`,
        {
          decision: option,
        },
      );
      const passkey = await answer(optionsJSON);
      const next = await api<Handoff>('POST', `/v1/handoffs/${h.id}/decision`, {
        decision: option,
        ...(comment.trim() !== '' && { comment: comment.trim() }),
        ...confirmation,
        passkey,
      });
      onDone(next, next.status === 'pending');
    } catch (err) {
      setError(
        ceremonyText(err) ??
          (err instanceof ApiError && err.code === 'passkey_invalid'
            ? `That passkey was not accepted: ${err.message}`
            : errorText(err)),
      );
    } finally {
      setBusy(null);
    }
  }

  async function decide(option: string) {
    setBusy(option);
    setError(null);
    try {
      const isDeny = option === 'deny';
      const next = await api<Handoff>('POST', `/v1/handoffs/${h.id}/decision`, {
        decision: option,
        ...(comment.trim() !== '' && { comment: comment.trim() }),
        ...(isDeny && reason !== '' && { reason }),
        ...(!isDeny && confirmation),
        ...(!isDeny && totp.trim() !== '' && { totp: totp.trim() }),
      });
      onDone(next, next.status === 'pending');
    } catch (err) {
      if (err instanceof ApiError && err.code === 'totp_required') {
        setNeedTotp(true);
        setError(
          hasPasskey
            ? 'Enter the code from your authenticator app, or approve with your passkey.'
            : 'Enter the code from your authenticator app to approve this.',
        );
      } else if (err instanceof ApiError && err.problem.field === 'confirm_short_code') {
        setError(
          typedCode.trim() === ''
            ? `Type the short code ${h.short_code} to confirm this critical approval.`
            : `That is not this handoff's short code. Type ${h.short_code} to approve it.`,
        );
      } else if (err instanceof ApiError && err.code === 'totp_invalid') {
        setError('That code is wrong or was used already. Wait for the next one.');
        setTotp('');
      } else setError(errorText(err));
    } finally {
      setBusy(null);
    }
  }

  const submit = (e: FormEvent) => e.preventDefault();
  return (
    <form onSubmit={submit} aria-label="Decision">
      <h2>Your decision</h2>
      <div className="field">
        <label htmlFor="decision-reason">Reason, if you deny (sent back to the agent)</label>
        <select
          id="decision-reason"
          value={reason}
          onChange={(e) => setReason(e.target.value as RejectionReason | '')}
        >
          <option value="">No reason given</option>
          {REJECTION_REASONS.map((r) => (
            <option key={r} value={r}>
              {REJECTION_REASON_TEXT[r][0]!.toUpperCase() + REJECTION_REASON_TEXT[r].slice(1)}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="decision-comment">Comment (optional, sent back to the agent)</label>
        <textarea
          id="decision-comment"
          maxLength={1000}
          value={comment}
          onChange={(e) => setComment(e.target.value)}
        />
      </div>
      {critical && (
        <div className="field">
          <label htmlFor="decision-confirm">
            Critical: type the short code <span className="mono">{h.short_code}</span> to approve
          </label>
          <input
            id="decision-confirm"
            className="mono"
            autoComplete="off"
            autoCapitalize="characters"
            spellCheck={false}
            maxLength={32}
            value={typedCode}
            onChange={(e) => setTypedCode(e.target.value)}
          />
        </div>
      )}
      {needTotp && (
        <div className="field">
          <label htmlFor="decision-totp">Authentication code (needed to approve at this risk)</label>
          <input
            id="decision-totp"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            value={totp}
            onChange={(e) => setTotp(e.target.value)}
          />
        </div>
      )}
      <ErrorBox error={error} />
      <div className="actions">
        {h.options.map((o) => {
          const isDeny = o.id === 'deny';
          return (
            <button
              key={o.id}
              type="button"
              className={isDeny ? 'deny' : 'approve'}
              disabled={busy !== null}
              onClick={() => void decide(o.id)}
            >
              {busy === o.id ? 'Sending…' : <AgentText>{o.label}</AgentText>}
            </button>
          );
        })}
      </div>
      {needTotp && hasPasskey && (
        <div className="actions" aria-label="Approve with a passkey" role="group">
          {h.options
            .filter((o) => o.id !== 'deny')
            .map((o) => (
              <button
                key={o.id}
                type="button"
                className="approve"
                disabled={busy !== null}
                onClick={() => void decideWithPasskey(o.id)}
              >
                {busy === `passkey:${o.id}` ? (
                  'Waiting for your passkey…'
                ) : (
                  <>
                    <AgentText>{o.label}</AgentText> with passkey
                  </>
                )}
              </button>
            ))}
        </div>
      )}
    </form>
  );
}

/** What Extend offers: more time, in seconds, and how it reads. */
const EXTEND_CHOICES: readonly { readonly s: number; readonly label: string }[] = [
  { s: 900, label: '15 minutes' },
  { s: 3600, label: '1 hour' },
  { s: 4 * 3600, label: '4 hours' },
];

/** "1 h 30 min", "45 min", "30 s". */
function spanText(s: number): string {
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h === 0 ? `${m} min` : m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/**
 * Extend: more time for a pending handoff (POST /v1/handoffs/{id}/extend), within its risk level's
 * maximum life; the agent's wait sees the new expiry. Shows the time left beside the button.
 */
function ExtendForm({ h, onDone }: { h: Handoff; onDone: (h: Handoff) => void }) {
  const [by, setBy] = useState(EXTEND_CHOICES[0]!.s);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function extend() {
    setBusy(true);
    setError(null);
    try {
      onDone(await api<Handoff>('POST', `/v1/handoffs/${h.id}/extend`, { by_s: by }));
    } catch (err) {
      setError(
        err instanceof ApiError && err.problem.max_extend_s !== undefined
          ? err.problem.max_extend_s < 60
            ? 'This handoff already lives as long as the policy allows.'
            : `The policy allows at most ${spanText(err.problem.max_extend_s)} more.`
          : errorText(err),
      );
    } finally {
      setBusy(false);
    }
  }
  return (
    <form
      aria-label="Extend"
      onSubmit={(e) => {
        e.preventDefault();
        void extend();
      }}
    >
      <h2>More time</h2>
      <p>
        Time left: <TimeLeft expiresAt={h.expires_at} /> (expires at {formatTime(h.expires_at)}).
      </p>
      <div className="field">
        <label htmlFor="extend-by">Add</label>
        <select id="extend-by" value={by} onChange={(e) => setBy(Number(e.target.value))}>
          {EXTEND_CHOICES.map((c) => (
            <option key={c.s} value={c.s}>
              {c.label}
            </option>
          ))}
        </select>
      </div>
      <ErrorBox error={error} />
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Extending…' : 'Extend'}
        </button>
      </div>
    </form>
  );
}

export function HandoffPage({ params }: { params: Record<string, string> }) {
  const id = params.id ?? '';
  const me = useMe();
  const { data, setData, error, loading, reload } = useLoad(
    () => api<HandoffDetail>('GET', `/v1/handoffs/${encodeURIComponent(id)}/detail?payload=omit`),
    [id],
  );
  const [notice, setNotice] = useState<string | null>(null);
  const h = data?.handoff;
  // Calls are recorded when they end (after the decision they carried): loaded again on every
  // status change. An empty list shows nothing.
  const calls = useLoad(
    () => api<CallRecord[]>('GET', `/v1/handoffs/${encodeURIComponent(id)}/calls`),
    [id, h?.status, h?.approvals.received],
  );
  // The provider's final status comes a few seconds after a decision made on the phone: look again
  // for that call's record now and then (for half a minute) until it is there.
  const decidedByPhone = h?.decision?.channel === 'phone';
  const callsSeen = calls.data?.length ?? 0;
  const reloadCalls = calls.reload;
  useEffect(() => {
    if (!decidedByPhone || callsSeen > 0) return undefined;
    let tries = 0;
    const timer = setInterval(() => {
      tries += 1;
      if (tries >= 10) clearInterval(timer);
      void reloadCalls();
    }, 3_000);
    return () => clearInterval(timer);
  }, [decidedByPhone, callsSeen, reloadCalls]);
  const pending = h?.status === 'pending';
  const live = useEventStream<Handoff>(
    h === undefined || !pending ? null : `/v1/handoffs/${encodeURIComponent(id)}/events`,
    'handoff',
    (next) => {
      if (h !== undefined && (next.status !== h.status || next.approvals.received !== h.approvals.received))
        void reload();
      // Extended (here or by another member): the new expiry shows at once.
      else if (data !== undefined && h !== undefined && next.expires_at !== h.expires_at)
        setData({ ...data, handoff: { ...h, expires_at: next.expires_at } });
    },
  );

  if (loading && data === undefined) return <Loading />;
  if (data === undefined || h === undefined)
    return (
      <section>
        <PageTitle title="Handoff">Handoff</PageTitle>
        <ErrorBox error={error ?? 'not found'} />
        <Link to="/">Back to the queue</Link>
      </section>
    );

  const canDecide = roleAtLeast(me.role, 'member');
  return (
    <section>
      <p>
        <Link to="/">← Queue</Link>
      </p>
      <PageTitle title={shown(h.title)}>
        <AgentText>{h.title}</AgentText>
      </PageTitle>
      <div className="meta card">
        <RiskBadge level={h.risk.level} /> <StatusBadge status={h.status} />{' '}
        {pending && <TimeLeft expiresAt={h.expires_at} />}
      </div>
      {pending && <LiveIndicator state={live} />}
      <Notice>{notice}</Notice>
      <dl className="facts">
        <dt>Summary</dt>
        <dd className="summary">{h.summary === '' ? '—' : <AgentText>{h.summary}</AgentText>}</dd>
        {h.summary_source === 'model' && h.model_summary !== null && (
          <>
            <dt>Summary (model)</dt>
            <dd className="model-summary" data-testid="model-summary">
              <AgentText>{h.model_summary}</AgentText>
              <br />
              <small>
                Written by a model from the redacted payload; the gist and the payload below are what the
                agent sent.
              </small>
            </dd>
          </>
        )}
        {h.summary_source === 'deterministic' && (
          <>
            <dt>Summary (model)</dt>
            <dd data-testid="model-summary-unused">
              not used: the model failed or its answer was refused, so channels sent the gist alone
            </dd>
          </>
        )}
        <dt>Action</dt>
        <dd>
          {h.action.type}
          {h.action.target !== null && (
            <>
              {' '}
              on{' '}
              <code>
                <AgentText>{h.action.target}</AgentText>
              </code>
            </>
          )}
        </dd>
        <dt>Short code</dt>
        <dd className="mono">{h.short_code}</dd>
        <dt>Requested by</dt>
        <dd>
          <AgentText>{data.device?.name ?? 'a removed device'}</AgentText>
        </dd>
        <dt>Requested at</dt>
        <dd>{formatTime(h.created_at)}</dd>
        {Object.entries(data.context).map(([k, v]) => (
          <div key={k} className="contents">
            <dt>
              <AgentText>{k}</AgentText>
            </dt>
            <dd className="mono">
              <AgentText>{v}</AgentText>
            </dd>
          </div>
        ))}
        {h.approvals.required > 1 && (
          <>
            <dt>Approvals</dt>
            <dd>
              {h.approvals.received} of {h.approvals.required}
            </dd>
          </>
        )}
      </dl>

      <h2>Why this risk</h2>
      {data.reasons.length === 0 ? (
        <p>No risk signal found: {h.risk.level} by default for this action.</p>
      ) : (
        <ul>
          {data.reasons.map((r) => (
            <li key={r.code}>
              <code>{r.code}</code>
              {r.level !== null && <> ({r.level})</>}
              {r.explanation !== null && <>: {r.explanation}</>}
            </li>
          ))}
        </ul>
      )}

      <h2>Payload</h2>
      {data.payload_withheld ? (
        <WithheldPayload id={h.id} />
      ) : data.payload === null ? (
        <p className="muted">
          {/* "payload removed by retention on <date>", or why none is kept */}
          {h.payload?.note ?? 'No payload was sent.'}
        </p>
      ) : (
        <Payload payload={data.payload} />
      )}

      {pending && canDecide && (
        <DecisionForm
          h={h}
          onDone={(next, recorded) => {
            setNotice(
              recorded
                ? `Your approval is recorded: ${next.approvals.received} of ${next.approvals.required}.`
                : `Decision recorded: ${next.status}.`,
            );
            setData({ ...data, handoff: next });
            void reload();
          }}
        />
      )}
      {pending && canDecide && (
        <ExtendForm
          h={h}
          onDone={(next) => {
            setNotice(`Extended: it now expires at ${formatTime(next.expires_at)}.`);
            setData({ ...data, handoff: next });
          }}
        />
      )}
      {pending && !canDecide && <p className="muted">Viewers can follow handoffs but not decide them.</p>}

      {h.decision !== null && (
        <>
          <h2>Decision</h2>
          <dl className="facts" aria-label="Decision record">
            <dt>Outcome</dt>
            <dd>
              {h.decision.outcome} (option “<AgentText>{h.decision.option}</AgentText>”)
            </dd>
            <dt>By</dt>
            <dd>
              <AgentText>{h.decision.decided_by?.name ?? 'the org policy'}</AgentText>
            </dd>
            <dt>Channel</dt>
            <dd>{h.decision.channel}</dd>
            {h.decision.assurance !== null && (
              <>
                <dt>Assurance</dt>
                <dd>{describeAssurance(h.decision.assurance)}</dd>
              </>
            )}
            <dt>At</dt>
            <dd>{formatTime(h.decision.at)}</dd>
            {h.decision.reason != null && (
              <>
                <dt>Reason</dt>
                <dd>{REJECTION_REASON_TEXT[h.decision.reason]}</dd>
              </>
            )}
            {h.decision.comment !== null && (
              <>
                <dt>Comment</dt>
                <dd>
                  <AgentText>{h.decision.comment}</AgentText>
                </dd>
              </>
            )}
          </dl>
        </>
      )}

      <h2>Timeline</h2>
      <ol className="timeline">
        {timeline(data, calls.data ?? []).map((e, i) => (
          <li key={i}>
            <time dateTime={e.at}>{formatTime(e.at)}</time>: <AgentText>{e.text}</AgentText>
          </li>
        ))}
      </ol>
      {calls.error !== null && <p className="muted">Phone calls could not be loaded: {calls.error}</p>}
    </section>
  );
}
