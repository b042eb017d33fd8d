/**
 * Insights (admin): are approvers reading, or rubber-stamping? Over a window of handoffs: time from
 * escalation to decision, rubber-stamp rates, outcomes, deciding channels, the share allowed by
 * policy, each approver, and noisy actions with a suggestion (docs/insights.md). Every chart has a
 * table view with the same numbers.
 */
import { useId, useState, type FormEvent } from 'react';
import { api } from '../../api';
import { ErrorBox, Loading, PageTitle, useLoad } from '../../components';
import { Link } from '../../router';
import { Section } from './admin-kit';
import { BarChart, count, pct, secs } from './bar-chart';

interface People {
  readonly decisions: number;
  readonly approvals: number;
  readonly denials: number;
  readonly decision_seconds: { readonly median: number | null; readonly p90: number | null };
  readonly rubber_stamp: {
    readonly approvals_opened_first: number;
    readonly approved_within_5s_of_opening: number;
    readonly fast_after_opening_rate: number | null;
    readonly approvals_with_payload: number;
    readonly approved_payload_never_expanded: number;
    readonly payload_never_expanded_rate: number | null;
  };
}
interface Outcomes {
  readonly handoffs: number;
  readonly approved: number;
  readonly denied: number;
  readonly expired: number;
  readonly allowed_by_policy: number;
  readonly expiry_rate: number | null;
  readonly deny_rate: number | null;
  readonly policy_allowed_share: number | null;
  readonly decision_seconds: { readonly median: number | null; readonly p90: number | null };
  readonly people: People;
}
interface Insights {
  readonly window: { readonly from: string; readonly to: string };
  readonly totals: Outcomes & { readonly channels: readonly { channel: string; decisions: number }[] };
  readonly by_risk_level: readonly (Outcomes & { readonly risk_level: string })[];
  readonly by_action_type: readonly (Outcomes & { readonly action_type: string })[];
  readonly by_approver:
    | readonly (People & {
        readonly member_id: string;
        readonly name: string | null;
        readonly channels: readonly { channel: string; decisions: number }[];
      })[]
    | null;
  readonly noisy_actions: {
    readonly items: readonly {
      readonly action_type: string;
      readonly target: string | null;
      readonly device: { readonly name: string | null };
      readonly handoffs: number;
      readonly suggestion: string;
      readonly policy_link: string;
    }[];
  };
}

const DAY = 86_400_000;
const day = (d: Date) => d.toISOString().slice(0, 10);
const show = (v: number | null, f: (v: number) => string) => (v === null ? '—' : f(v));

export function InsightsPage() {
  const [from, setFrom] = useState(() => day(new Date(Date.now() - 29 * DAY)));
  const [to, setTo] = useState(() => day(new Date(Date.now() + DAY)));
  const [asked, setAsked] = useState({ from, to });
  const fromId = useId();
  const toId = useId();
  const data = useLoad(
    () =>
      api<Insights>(
        'GET',
        `/v1/admin/insights?from=${encodeURIComponent(asked.from)}&to=${encodeURIComponent(asked.to)}`,
      ),
    [asked.from, asked.to],
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAsked({ from, to });
  };
  const d = data.data;
  const t = d?.totals;

  return (
    <section>
      <PageTitle title="Insights">Insights</PageTitle>
      <p className="muted">
        Are approvers reading, or rubber-stamping? Times run from a handoff&apos;s first escalation to the
        decision; &ldquo;fast&rdquo; means within 5 s. What each number means: docs/insights.md.
      </p>
      <form className="inline-form" onSubmit={submit} aria-label="Window">
        <div className="field">
          <label htmlFor={fromId}>From</label>
          <input id={fromId} type="date" required value={from} onChange={(e) => setFrom(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={toId}>To (exclusive)</label>
          <input id={toId} type="date" required value={to} onChange={(e) => setTo(e.target.value)} />
        </div>
        <div className="field">
          <button type="submit" className="primary">
            Show
          </button>
        </div>
      </form>
      <ErrorBox error={data.error} />
      {data.loading && d === undefined && <Loading />}
      {d !== undefined && t !== undefined && (
        <>
          <dl className="facts" aria-label="Totals">
            <dt>Handoffs</dt>
            <dd>{t.handoffs}</dd>
            <dt>Allowed by policy</dt>
            <dd>
              {t.allowed_by_policy} ({show(t.policy_allowed_share, pct)})
            </dd>
            <dt>Time to decision</dt>
            <dd>
              median {show(t.decision_seconds.median, secs)}, p90 {show(t.decision_seconds.p90, secs)}
            </dd>
            <dt>Deny rate</dt>
            <dd>{show(t.deny_rate, pct)}</dd>
            <dt>Expiry rate</dt>
            <dd>{show(t.expiry_rate, pct)}</dd>
            <dt>Approved within 5 s of opening</dt>
            <dd>
              {t.people.rubber_stamp.approved_within_5s_of_opening} of{' '}
              {t.people.rubber_stamp.approvals_opened_first} (
              {show(t.people.rubber_stamp.fast_after_opening_rate, pct)})
            </dd>
            <dt>Approved with the payload never opened</dt>
            <dd>
              {t.people.rubber_stamp.approved_payload_never_expanded} of{' '}
              {t.people.rubber_stamp.approvals_with_payload} (
              {show(t.people.rubber_stamp.payload_never_expanded_rate, pct)})
            </dd>
          </dl>

          <Section title="Noisy actions">
            {d.noisy_actions.items.length === 0 ? (
              <p className="muted">No action type is nearly always approved fast in this window.</p>
            ) : (
              <ul aria-label="Noisy actions">
                {d.noisy_actions.items.map((n) => (
                  <li key={`${n.action_type} ${n.target ?? ''} ${n.device.name ?? ''}`}>
                    {n.suggestion} <Link to={n.policy_link}>Change the policy</Link>
                  </li>
                ))}
              </ul>
            )}
          </Section>

          <Section title="By risk level">
            <BarChart
              title="Time to decision by risk level"
              series={[
                { name: 'median', format: secs },
                { name: 'p90', format: secs },
              ]}
              rows={d.by_risk_level.map((r) => ({
                label: r.risk_level,
                values: [r.decision_seconds.median, r.decision_seconds.p90],
              }))}
            />
            <BarChart
              title="Rubber-stamp rates by risk level"
              max={1}
              series={[
                { name: 'fast after opening', format: pct },
                { name: 'payload never opened', format: pct },
              ]}
              rows={d.by_risk_level.map((r) => ({
                label: r.risk_level,
                values: [
                  r.people.rubber_stamp.fast_after_opening_rate,
                  r.people.rubber_stamp.payload_never_expanded_rate,
                ],
              }))}
            />
            <BarChart
              title="Outcomes by risk level"
              max={1}
              series={[
                { name: 'deny rate', format: pct },
                { name: 'expiry rate', format: pct },
                { name: 'allowed by policy', format: pct },
              ]}
              rows={d.by_risk_level.map((r) => ({
                label: r.risk_level,
                values: [r.deny_rate, r.expiry_rate, r.policy_allowed_share],
              }))}
            />
          </Section>

          <Section title="By action type">
            <BarChart
              title="Time to decision by action type"
              series={[
                { name: 'median', format: secs },
                { name: 'p90', format: secs },
              ]}
              rows={d.by_action_type.map((r) => ({
                label: r.action_type,
                values: [r.decision_seconds.median, r.decision_seconds.p90],
              }))}
            />
            <BarChart
              title="Outcomes by action type"
              max={1}
              series={[
                { name: 'deny rate', format: pct },
                { name: 'expiry rate', format: pct },
                { name: 'allowed by policy', format: pct },
              ]}
              rows={d.by_action_type.map((r) => ({
                label: r.action_type,
                values: [r.deny_rate, r.expiry_rate, r.policy_allowed_share],
              }))}
            />
          </Section>

          <Section title="Channels">
            <BarChart
              title="Decisions by channel"
              series={[{ name: 'decisions', format: count }]}
              rows={t.channels.map((c) => ({ label: c.channel, values: [c.decisions] }))}
            />
          </Section>

          {d.by_approver !== null && (
            <Section title="By approver">
              <BarChart
                title="Rubber-stamp rates by approver"
                max={1}
                series={[
                  { name: 'fast after opening', format: pct },
                  { name: 'payload never opened', format: pct },
                ]}
                rows={d.by_approver.map((a) => ({
                  label: a.name ?? a.member_id.slice(0, 8),
                  values: [
                    a.rubber_stamp.fast_after_opening_rate,
                    a.rubber_stamp.payload_never_expanded_rate,
                  ],
                }))}
              />
              <BarChart
                title="Time to decision by approver"
                series={[
                  { name: 'median', format: secs },
                  { name: 'p90', format: secs },
                ]}
                rows={d.by_approver.map((a) => ({
                  label: a.name ?? a.member_id.slice(0, 8),
                  values: [a.decision_seconds.median, a.decision_seconds.p90],
                }))}
              />
            </Section>
          )}
        </>
      )}
    </section>
  );
}
