/**
 * Policy and channels (admin): the escalation policy per risk level (rule, steps with channel,
 * delay and targets, quorum, TOTP step-up, repeats), the agent timeout bounds, the payload retention
 * window (when the server has it), and each channel's status with a "send test" button.
 */
import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { api, ApiError, errorText } from '../../api';
import { previewSentence, type PreviewPolicy } from '../../../../core/policy/preview';
import { AgentText, ErrorBox, Loading, Notice, PageTitle, useLoad } from '../../components';
import type { Member } from '../../types';
import { ConfirmButton, Section, type ChannelStatus } from './admin-kit';
import { OwnChannelsSection } from './own-channels';
import {
  fromForm,
  RISK_LEVELS,
  RULES,
  ASSURANCE_LEVELS,
  STEP_CHANNELS,
  toForm,
  type LevelForm,
  type PolicyForm,
  type RiskLevel,
  type StepForm,
} from './policy-form';

interface Policies {
  readonly risk_policy: unknown;
  readonly escalation_policy: unknown;
}

function NumberField({
  label,
  value,
  onChange,
  hint,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  hint?: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        inputMode="numeric"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        {...(hint !== undefined && { 'aria-describedby': `${id}-hint` })}
      />
      {hint !== undefined && (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      )}
    </div>
  );
}

function StepRow({
  level,
  index,
  step,
  onChange,
  onRemove,
  unconfigured,
  choices,
}: {
  level: RiskLevel;
  index: number;
  step: StepForm;
  onChange: (s: StepForm) => void;
  onRemove: (() => void) | undefined;
  unconfigured: ReadonlySet<string>;
  choices: readonly TargetChoice[];
}) {
  const channelId = useId();
  const afterId = useId();
  const targetsId = useId();
  const pickId = useId();
  const pick = (value: string) => {
    if (value === '') return;
    const current = step.targets
      .split(/[\s,]+/)
      .map((x) => x.trim())
      .filter((x) => x !== '' && x !== 'all');
    const targets = value === 'all' ? 'all' : [...new Set([...current, value])].join(', ');
    onChange({ ...step, targets });
  };
  const n = index + 1;
  return (
    <div className="step" role="group" aria-label={`${level} step ${n}`}>
      <div className="field">
        <label htmlFor={channelId}>Step {n} channel</label>
        <select
          id={channelId}
          value={step.channel}
          onChange={(e) => onChange({ ...step, channel: e.target.value })}
        >
          {STEP_CHANNELS.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={afterId}>After (s)</label>
        <input
          id={afterId}
          inputMode="numeric"
          value={step.after_s}
          onChange={(e) => onChange({ ...step, after_s: e.target.value })}
        />
      </div>
      <div className="field targets">
        <label htmlFor={targetsId}>Targets</label>
        <input
          id={targetsId}
          value={step.targets}
          aria-describedby={`${targetsId}-hint`}
          onChange={(e) => onChange({ ...step, targets: e.target.value })}
        />
        <small id={`${targetsId}-hint`} className="muted">
          all, or member ids and group:&lt;name&gt;, comma separated; or pick below
        </small>
        <label htmlFor={pickId} className="visually-hidden">
          Add a target to {level} step {n}
        </label>
        <select id={pickId} value="" onChange={(e) => pick(e.target.value)}>
          <option value="">Add a target…</option>
          {choices.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </div>
      {unconfigured.has(step.channel) && (
        <p className="error step-warning" role="note">
          {step.channel} is not configured on this server: this step would reach nobody (recorded as
          channel_not_configured).
        </p>
      )}
      <div className="field">
        {onRemove !== undefined && (
          <button type="button" onClick={onRemove} aria-label={`Remove ${level} step ${n}`}>
            Remove
          </button>
        )}
      </div>
    </div>
  );
}

/** A member or on-call group a step can reach, as the Targets picker lists it. */
interface TargetChoice {
  readonly value: string;
  readonly label: string;
}

function LevelFields({
  level,
  value,
  onChange,
  unconfigured,
  choices,
  preview,
}: {
  level: RiskLevel;
  value: LevelForm;
  onChange: (l: LevelForm) => void;
  unconfigured: ReadonlySet<string>;
  choices: readonly TargetChoice[];
  /** The level's plan in one sentence; null while the form has errors. */
  preview: string | null;
}) {
  const ruleId = useId();
  const totpId = useId();
  const assuranceId = useId();
  const setStep = (i: number, s: StepForm) =>
    onChange({ ...value, steps: value.steps.map((x, j) => (j === i ? s : x)) });
  return (
    <fieldset className="level">
      <legend>
        <span className={`badge risk-${level}`}>risk: {level}</span>
      </legend>
      <div className="level-grid">
        <div className="field">
          <label htmlFor={ruleId}>Rule</label>
          <select
            id={ruleId}
            value={value.rule}
            onChange={(e) => onChange({ ...value, rule: e.target.value as LevelForm['rule'] })}
          >
            {RULES.map((r) => (
              <option key={r} value={r}>
                {r === 'allow'
                  ? 'allow (no human asked)'
                  : r === 'approve'
                    ? 'approve (ask humans)'
                    : 'deny (refuse at once)'}
              </option>
            ))}
          </select>
        </div>
        <NumberField
          label="Approvals needed (quorum)"
          value={value.required_approvals}
          onChange={(v) => onChange({ ...value, required_approvals: v })}
        />
        <div className="field check">
          <label htmlFor={totpId}>
            <input
              id={totpId}
              type="checkbox"
              checked={value.require_totp}
              onChange={(e) => onChange({ ...value, require_totp: e.target.checked })}
            />{' '}
            Approving needs TOTP
          </label>
        </div>
        <div className="field">
          <label htmlFor={assuranceId}>Minimum assurance</label>
          <select
            id={assuranceId}
            value={value.min_assurance}
            onChange={(e) =>
              onChange({ ...value, min_assurance: e.target.value as LevelForm['min_assurance'] })
            }
          >
            {ASSURANCE_LEVELS.map((a) => (
              <option key={a} value={a}>
                {a === 'A1'
                  ? 'A1 (any channel)'
                  : a === 'A2'
                    ? 'A2 (TOTP or fresh MFA sign-in)'
                    : 'A3 (passkey)'}
              </option>
            ))}
          </select>
        </div>
        <NumberField
          label="Repeat the steps (times)"
          value={value.repeat}
          onChange={(v) => onChange({ ...value, repeat: v })}
        />
        <NumberField
          label="Repeat every (s)"
          value={value.repeat_every_s}
          onChange={(v) => onChange({ ...value, repeat_every_s: v })}
        />
        <NumberField
          label="Longest life with Extend (s)"
          value={value.max_lifetime_s}
          onChange={(v) => onChange({ ...value, max_lifetime_s: v })}
        />
      </div>
      {value.rule === 'approve' ? (
        <>
          {value.steps.map((s, i) => (
            <StepRow
              key={i}
              level={level}
              index={i}
              step={s}
              unconfigured={unconfigured}
              choices={choices}
              onChange={(x) => setStep(i, x)}
              onRemove={
                value.steps.length > 1
                  ? () => onChange({ ...value, steps: value.steps.filter((_, j) => j !== i) })
                  : undefined
              }
            />
          ))}
          <button
            type="button"
            disabled={value.steps.length >= 10}
            onClick={() => {
              const last = value.steps.at(-1);
              const after = last !== undefined && /^\d+$/.test(last.after_s) ? Number(last.after_s) + 300 : 0;
              onChange({
                ...value,
                steps: [...value.steps, { channel: 'console', after_s: String(after), targets: 'all' }],
              });
            }}
          >
            Add a {level} step
          </button>
        </>
      ) : (
        <p className="muted">
          {value.rule === 'allow'
            ? 'Handoffs of this level are allowed by policy'
            : 'Handoffs of this level are denied by policy'}{' '}
          at once and recorded in the audit chain; nobody is asked.
        </p>
      )}
      <p className="policy-preview">
        <strong>Preview:</strong>{' '}
        {preview === null ? (
          <span className="muted">fix the fields above to see what this level will do.</span>
        ) : (
          <AgentText>{preview}</AgentText>
        )}
      </p>
    </fieldset>
  );
}

function PolicyEditor({ unconfigured }: { unconfigured: ReadonlySet<string> }) {
  const loaded = useLoad(() => api<Policies>('GET', '/v1/admin/policies'), []);
  const members = useLoad(() => api<Member[]>('GET', '/v1/admin/members'), []);
  const [form, setForm] = useState<PolicyForm | null>(null);
  const [errors, setErrors] = useState<string[]>([]);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Filled once: a late or repeated load never overwrites what the admin is typing.
  useEffect(() => {
    if (loaded.data !== undefined) setForm((f) => f ?? toForm(loaded.data!.escalation_policy));
  }, [loaded.data]);
  if (loaded.error !== null) return <ErrorBox error={loaded.error} />;
  if (form === null) return <Loading what="Loading the policy" />;
  const active = (members.data ?? []).filter((m) => m.status === 'active');
  const names = new Map(active.map((m) => [m.id, m.name]));
  const groups = form.rest.groups;
  const choices: TargetChoice[] = [
    { value: 'all', label: 'everyone (members and admins)' },
    ...active.map((m) => ({ value: m.id, label: `${m.name} (${m.role})` })),
    ...(typeof groups === 'object' && groups !== null
      ? Object.keys(groups).map((g) => ({ value: `group:${g}`, label: `on-call group ${g}` }))
      : []),
  ];
  // The same plan the escalation runs: the form as it would be saved.
  const plan = fromForm(form);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(null);
    const r = fromForm(form);
    if (!r.ok) {
      setErrors(r.errors);
      return;
    }
    setBusy(true);
    try {
      const p = await api<Policies>('PUT', '/v1/admin/policies', { escalation_policy: r.value });
      setForm(toForm(p.escalation_policy));
      setErrors([]);
      setSaved('Policy saved. It applies to handoffs created from now on.');
    } catch (err) {
      setErrors([errorText(err)]);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void save(e)} aria-label="Escalation policy" noValidate>
      {RISK_LEVELS.map((level) => (
        <LevelFields
          key={level}
          level={level}
          value={form.levels[level]}
          unconfigured={unconfigured}
          choices={choices}
          preview={plan.ok ? previewSentence(level, plan.value as unknown as PreviewPolicy, names) : null}
          onChange={(l) => setForm({ ...form, levels: { ...form.levels, [level]: l } })}
        />
      ))}
      <fieldset className="level">
        <legend>Agent timeout (seconds)</legend>
        <div className="level-grid">
          <NumberField
            label="Default"
            value={form.timeout_default}
            onChange={(v) => setForm({ ...form, timeout_default: v })}
            hint="when the agent asks for none; expiry counts as deny"
          />
          <NumberField
            label="Minimum"
            value={form.timeout_min}
            onChange={(v) => setForm({ ...form, timeout_min: v })}
          />
          <NumberField
            label="Maximum"
            value={form.timeout_max}
            onChange={(v) => setForm({ ...form, timeout_max: v })}
          />
        </div>
      </fieldset>
      {errors.length > 0 && (
        <div className="error" role="alert">
          <p>The policy was not saved:</p>
          <ul>
            {errors.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        </div>
      )}
      {saved !== null && <Notice>{saved}</Notice>}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          Save policy
        </button>
        <button
          type="button"
          onClick={() => {
            if (loaded.data !== undefined) setForm(toForm(loaded.data.escalation_policy));
            setErrors([]);
            setSaved(null);
          }}
        >
          Discard changes
        </button>
      </div>
    </form>
  );
}

/** The payload retention window; hidden when the server has no such setting. */
function Retention() {
  const [days, setDays] = useState<string | null>(null);
  const [absent, setAbsent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const id = useId();
  useEffect(() => {
    api<{ payload_retention_days: number }>('GET', '/v1/admin/retention').then(
      (r) => setDays(String(r.payload_retention_days)),
      (err: unknown) =>
        err instanceof ApiError && err.status === 404 ? setAbsent(true) : setError(errorText(err)),
    );
  }, []);
  if (absent) return null;
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(null);
    const n = Number(days);
    if (days === null || !/^\d{1,3}$/.test(days.trim())) {
      setError('The retention window is a whole number of days.');
      return;
    }
    try {
      const r = await api<{ payload_retention_days: number }>('PUT', '/v1/admin/retention', {
        payload_retention_days: n,
      });
      setDays(String(r.payload_retention_days));
      setError(null);
      setSaved('Retention window saved.');
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <Section title="Retention">
      {days === null && error === null ? (
        <Loading what="Loading the retention window" />
      ) : (
        <form className="inline-form" onSubmit={(e) => void save(e)} aria-label="Retention window">
          <div className="field">
            <label htmlFor={id}>Keep payloads of decided handoffs (days)</label>
            <input
              id={id}
              inputMode="numeric"
              value={days ?? ''}
              aria-describedby={`${id}-hint`}
              onChange={(e) => setDays(e.target.value)}
            />
            <small id={`${id}-hint`} className="muted">
              0 to 365; 0 means payloads are not kept. The audit chain keeps only their salted hash.
            </small>
          </div>
          <div className="field">
            <button type="submit">Save retention</button>
          </div>
        </form>
      )}
      <ErrorBox error={error} />
      {saved !== null && <Notice>{saved}</Notice>}
    </Section>
  );
}

function Channels({ channels }: { channels: ReturnType<typeof useLoad<ChannelStatus[]>> }) {
  const [results, setResults] = useState<Record<string, { ok: boolean; text: string }>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const test = async (name: string) => {
    setBusy(name);
    try {
      const r = await api<{ ok: boolean; detail: string }>(
        'POST',
        `/v1/admin/channels/${encodeURIComponent(name)}/test`,
      );
      setResults((x) => ({ ...x, [name]: { ok: r.ok, text: r.detail } }));
    } catch (err) {
      setResults((x) => ({ ...x, [name]: { ok: false, text: errorText(err) } }));
    } finally {
      setBusy(null);
    }
  };
  return (
    <Section title="Channels">
      <p className="muted">
        A test message goes only to you (your linked chat account, your email, or the server log for console),
        is marked as a test and has no buttons.
      </p>
      <ErrorBox error={channels.error} />
      {channels.data === undefined ? (
        channels.loading && <Loading what="Checking the channels" />
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Policy rules">
          <table className="admin-table">
            <caption className="visually-hidden">Channel status</caption>
            <thead>
              <tr>
                <th scope="col">Channel</th>
                <th scope="col">Status</th>
                <th scope="col">Transmits</th>
                <th scope="col">Test</th>
              </tr>
            </thead>
            <tbody>
              {channels.data.map((c) => {
                const result = results[c.name];
                return (
                  <tr key={c.name}>
                    <th scope="row">{c.name}</th>
                    <td>
                      {!c.configured ? (
                        <span className="muted">not configured</span>
                      ) : c.health?.ok === true ? (
                        <span className="ok">connected</span>
                      ) : (
                        <span className="bad">unhealthy</span>
                      )}
                      {c.health !== null && <div className="muted">{c.health.detail}</div>}
                    </td>
                    <td>{c.transmits.length > 0 ? c.transmits.join(', ') : '—'}</td>
                    <td>
                      {c.configured && (
                        <button type="button" disabled={busy !== null} onClick={() => void test(c.name)}>
                          Send test ({c.name})
                        </button>
                      )}
                      {result !== undefined && (
                        <div role="status" className={result.ok ? 'ok' : 'bad'}>
                          {result.text}
                        </div>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <button type="button" onClick={() => void channels.reload()}>
        Check again
      </button>
    </Section>
  );
}

/** A scheduled erasure of the whole organization: shown to every admin, who may cancel it. */
function Erasure() {
  const [state, setState] = useState<{ erase_at: string } | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    api<{ scheduled: { erase_at: string } | null }>('GET', '/v1/admin/org/erasure').then(
      (r) => setState(r.scheduled),
      (err: unknown) => setError(errorText(err)),
    );
  useEffect(() => void load(), []);
  if (state === undefined && error === null) return null;
  return (
    <Section title="Organization erasure">
      {state === null ? (
        <p className="muted">No erasure is scheduled.</p>
      ) : state !== undefined ? (
        <>
          <p role="alert">
            This organization and all its data are scheduled to be erased on{' '}
            <strong>{new Date(state.erase_at).toUTCString()}</strong>. Any admin can cancel until then.
          </p>
          <ConfirmButton
            label="Cancel the erasure"
            confirmLabel="Yes, keep the organization"
            onConfirm={async () => {
              try {
                await api('DELETE', '/v1/admin/org/erasure');
                await load();
              } catch (err) {
                setError(errorText(err));
              }
            }}
          />
        </>
      ) : null}
      <ErrorBox error={error} />
    </Section>
  );
}

export function PolicyPage() {
  const channels = useLoad(() => api<ChannelStatus[]>('GET', '/v1/admin/channels'), []);
  const unconfigured = useMemo(
    () => new Set((channels.data ?? []).filter((c) => !c.configured).map((c) => c.name)),
    [channels.data],
  );
  return (
    <section>
      <PageTitle title="Policy and channels">Policy and channels</PageTitle>
      <Section title="Escalation policy">
        <PolicyEditor unconfigured={unconfigured} />
      </Section>
      <Retention />
      <Channels channels={channels} />
      <OwnChannelsSection />
      <Erasure />
    </section>
  );
}
