/**
 * Your account: profile and phone (proved with a 6-digit code by SMS or a call before ony calls or
 * texts it), two-factor sign-in (enrol with the secret or the otpauth URI, recovery codes shown
 * once; turn off), passkeys (add, name, rename, remove), notifications (levels, this browser's
 * opt-in), linked chats (link codes, removal) and sessions.
 */
import { useState, type FormEvent } from 'react';
import { api, ApiError, errorText } from '../api';
import {
  browserTimeZone,
  ErrorBox,
  Field,
  formatTime,
  Loading,
  Notice,
  PageTitle,
  useLoad,
} from '../components';
import { addPasskey, ceremonyText, passkeysSupported, type PasskeyRow } from '../passkeys';
import {
  disableNotifications,
  enableNotifications,
  notificationsChanged,
  notificationsSupported,
  optedIn,
  type NotificationSettings,
} from '../notify';
import { roleAtLeast, useSession } from '../session';
import type { Member } from '../types';
import { useAction } from '../use-action';
import { describeUserAgent } from '../user-agent';

/** The runtime's IANA timezones (the server checks the same way), keeping a saved one listed. */
function timeZones(saved: string): string[] {
  const list = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : ['UTC'];
  return saved === '' || list.includes(saved) ? list : [saved, ...list];
}

function Profile() {
  const { member, refresh } = useSession();
  const [name, setName] = useState(member?.name ?? '');
  const [phone, setPhone] = useState(member?.phone ?? '');
  const [timezone, setTimezone] = useState(member?.timezone ?? '');
  const [msg, setMsg] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (member == null) return null;

  async function save(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setMsg(null);
    try {
      await api<Member>('PATCH', '/v1/me', {
        name,
        phone: phone.trim() === '' ? null : phone.trim(),
        timezone: timezone === '' ? null : timezone,
      });
      await refresh();
      setMsg('Saved.');
    } catch (err) {
      setError(errorText(err));
    }
  }

  return (
    <section aria-labelledby="profile-h">
      <h2 id="profile-h">Profile</h2>
      <p>
        {member.email} · role <strong>{member.role}</strong>
      </p>
      <form onSubmit={(e) => void save(e)}>
        <Field label="Name" required value={name} onChange={(e) => setName(e.target.value)} />
        <Field
          label="Phone (for calls and SMS)"
          hint="international format, e.g. +14155550123; only you see it unmasked"
          type="tel"
          autoComplete="tel"
          value={phone}
          onChange={(e) => setPhone(e.target.value)}
        />
        <div className="field">
          <label htmlFor="profile-timezone">Timezone (for the times the dashboard shows)</label>
          <select id="profile-timezone" value={timezone} onChange={(e) => setTimezone(e.target.value)}>
            <option value="">this browser&apos;s ({browserTimeZone()})</option>
            {timeZones(timezone).map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </div>
        {member.phone !== null && (
          <p className="phone-state" data-testid="phone-state">
            Saved number <span className="mono">{member.phone}</span>:{' '}
            {member.phone_verified ? (
              <span className="badge phone-verified">verified</span>
            ) : (
              <span className="badge phone-unverified">not verified</span>
            )}
            {member.phone_verified && phone.trim() !== member.phone && (
              <span className="muted"> — a new number must be verified again</span>
            )}
          </p>
        )}
        <ErrorBox error={error} />
        <Notice>{msg}</Notice>
        <button type="submit" className="primary">
          Save profile
        </button>
      </form>
      <p className="muted">
        Calls and SMS reach only a verified number; to approve a high or critical handoff by SMS, reply with
        its code and your authenticator code, e.g. <span className="mono">1A 123456</span>.
      </p>
      {member.phone !== null && !member.phone_verified && (
        <PhoneVerification
          key={member.phone}
          phone={member.phone}
          onVerified={async () => {
            await refresh();
            setMsg('Your phone number is verified.');
          }}
        />
      )}
    </section>
  );
}

/** The problem+json detail as a sentence ("that code is not right (4 tries left)" -> "That code …"). */
function detailText(err: unknown): string {
  if (!(err instanceof ApiError)) return errorText(err);
  const d = err.problem.detail ?? errorText(err);
  return d.charAt(0).toUpperCase() + d.slice(1) + (/[.!?)]$/.test(d) ? '' : '.');
}

/**
 * Proves the saved number: a 6-digit code by SMS or read out on a call (valid 15 minutes, at most
 * one a minute), typed here. Keyed by the number: a changed number starts over.
 */
function PhoneVerification({ phone, onVerified }: { phone: string; onVerified: () => Promise<void> }) {
  const [sent, setSent] = useState<{ via: 'sms' | 'call'; expires_at: string } | null>(null);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const send = async (via: 'sms' | 'call') => {
    setBusy(true);
    setError(null);
    try {
      setSent(
        await api<{ via: 'sms' | 'call'; expires_at: string }>('POST', '/v1/me/phone/verification', { via }),
      );
      setCode('');
    } catch (err) {
      setError(detailText(err));
    } finally {
      setBusy(false);
    }
  };

  const confirm = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api<Member>('POST', '/v1/me/phone/verification/confirm', { code: code.trim() });
      await onVerified();
    } catch (err) {
      setError(detailText(err));
      // 410: none pending, expired or the number changed; 429: too many wrong codes. Either way
      // this code is gone: ask for a new one.
      if (err instanceof ApiError && (err.status === 410 || err.status === 429)) setSent(null);
      setCode('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="card phone-verify" aria-labelledby="phone-verify-h" role="group">
      <h3 id="phone-verify-h">Verify your phone number</h3>
      <p>
        Prove that <span className="mono">{phone}</span> is yours: ony sends it a 6-digit code.
      </p>
      <div className="actions">
        <button type="button" disabled={busy} onClick={() => void send('sms')}>
          Send code by SMS
        </button>
        <button type="button" disabled={busy} onClick={() => void send('call')}>
          Call me with the code
        </button>
      </div>
      {sent !== null && (
        <form onSubmit={(e) => void confirm(e)} aria-label="Confirm the phone code">
          <Notice>
            {sent.via === 'sms' ? 'Code sent by SMS' : 'Calling you to read the code out'}; it is valid until{' '}
            {formatTime(sent.expires_at)}.
          </Notice>
          <Field
            label="6-digit code"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
          <button type="submit" className="primary" disabled={busy}>
            Confirm
          </button>
        </form>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

function TwoFactor() {
  const { member, refresh } = useSession();
  const [enrol, setEnrol] = useState<{ secret: string; otpauth_uri: string } | null>(null);
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [off, setOff] = useState({ code: '', recovery: '' });
  if (member == null) return null;

  const run = async (f: () => Promise<void>) => {
    setError(null);
    try {
      await f();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section aria-labelledby="totp-h">
      <h2 id="totp-h">Two-factor sign-in (TOTP)</h2>
      {recovery !== null && (
        <div className="card">
          <p>
            <strong>Recovery codes</strong> — shown once. Keep them somewhere safe; each works once if you
            lose your authenticator.
          </p>
          <ul className="secret" aria-label="Recovery codes">
            {recovery.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
          <button type="button" onClick={() => setRecovery(null)}>
            I saved them
          </button>
        </div>
      )}
      {member.totp_enabled ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              await api('POST', '/v1/me/totp/disable', {
                ...(off.code !== '' && { totp_code: off.code.trim() }),
                ...(off.recovery !== '' && { recovery_code: off.recovery.trim() }),
              });
              setOff({ code: '', recovery: '' });
              await refresh();
            });
          }}
        >
          <p>
            Two-factor sign-in is <strong>on</strong>. To turn it off, confirm with a current code or a
            recovery code.
          </p>
          <Field
            label="Current code"
            inputMode="numeric"
            autoComplete="one-time-code"
            value={off.code}
            onChange={(e) => setOff({ ...off, code: e.target.value })}
          />
          <Field
            label="or a recovery code"
            autoComplete="off"
            value={off.recovery}
            onChange={(e) => setOff({ ...off, recovery: e.target.value })}
          />
          <ErrorBox error={error} />
          <button type="submit" className="deny">
            Turn off two-factor sign-in
          </button>
        </form>
      ) : enrol === null ? (
        <>
          <p>Two-factor sign-in is off. Approving risky handoffs may need it.</p>
          <ErrorBox error={error} />
          <button
            type="button"
            className="primary"
            onClick={() =>
              void run(async () =>
                setEnrol(await api<{ secret: string; otpauth_uri: string }>('POST', '/v1/me/totp')),
              )
            }
          >
            Set up two-factor sign-in
          </button>
        </>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              const r = await api<{ recovery_codes: string[] }>('POST', '/v1/me/totp/confirm', {
                code: code.trim(),
              });
              setRecovery(r.recovery_codes);
              setEnrol(null);
              setCode('');
              await refresh();
            });
          }}
        >
          <p>
            Add this key to your authenticator app (type it in, or paste the URI), then enter the first code.
          </p>
          <p>
            Secret key:{' '}
            <span className="secret" data-testid="totp-secret">
              {enrol.secret}
            </span>
          </p>
          <p>
            otpauth URI: <span className="secret">{enrol.otpauth_uri}</span>
          </p>
          <Field
            label="First code from the app"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
          <ErrorBox error={error} />
          <button type="submit" className="primary">
            Turn on
          </button>
        </form>
      )}
    </section>
  );
}

/** Passkeys: a second factor at sign-in and a way to approve risky handoffs (docs/passkeys.md). */
function Passkeys() {
  const keys = useLoad(() => api<PasskeyRow[]>('GET', '/v1/me/passkeys'), []);
  const [name, setName] = useState('');
  const [renaming, setRenaming] = useState<{ id: string; name: string } | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (f: () => Promise<string>) => {
    setError(null);
    setMsg(null);
    setBusy(true);
    try {
      setMsg(await f());
      await keys.reload();
    } catch (err) {
      setError(ceremonyText(err) ?? errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="passkeys-h">
      <h2 id="passkeys-h">Passkeys</h2>
      <p>
        A passkey (your device's screen lock, or a security key) is a second factor at sign-in and approves
        handoffs that need a step-up, bound to the very handoff and answer you chose.
      </p>
      {keys.data === undefined ? (
        <Loading />
      ) : keys.data.length === 0 ? (
        <p>You have no passkey.</p>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Passkeys">
          <table aria-label="Your passkeys">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Added</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="muted">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr key={k.id}>
                  <td>
                    {renaming?.id === k.id ? (
                      <form
                        aria-label={`Rename ${k.name}`}
                        onSubmit={(e) => {
                          e.preventDefault();
                          void act(async () => {
                            await api('PATCH', `/v1/me/passkeys/${k.id}`, { name: renaming.name.trim() });
                            setRenaming(null);
                            return 'Passkey renamed.';
                          });
                        }}
                      >
                        <Field
                          label="New name"
                          required
                          maxLength={64}
                          value={renaming.name}
                          onChange={(e) => setRenaming({ id: k.id, name: e.target.value })}
                        />
                        <button type="submit" disabled={busy}>
                          Save name
                        </button>
                      </form>
                    ) : (
                      k.name
                    )}
                  </td>
                  <td>{formatTime(k.created_at)}</td>
                  <td>{k.last_used_at === null ? 'never' : formatTime(k.last_used_at)}</td>
                  <td>
                    <button type="button" onClick={() => setRenaming({ id: k.id, name: k.name })}>
                      Rename {k.name}
                    </button>{' '}
                    <button
                      type="button"
                      className="deny"
                      disabled={busy}
                      onClick={() =>
                        void act(async () => {
                          await api('DELETE', `/v1/me/passkeys/${k.id}`);
                          return `Passkey “${k.name}” removed.`;
                        })
                      }
                    >
                      Remove {k.name}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {passkeysSupported() ? (
        <form
          aria-label="Add a passkey"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              const k = await addPasskey(name.trim());
              setName('');
              return `Passkey “${k.name}” added.`;
            });
          }}
        >
          <Field
            label="Passkey name"
            hint="so you can tell your passkeys apart, e.g. “Work laptop”"
            required
            maxLength={64}
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
          <button type="submit" className="primary" disabled={busy}>
            Add a passkey
          </button>
        </form>
      ) : (
        <p className="muted">This browser cannot use passkeys.</p>
      )}
      <Notice>{msg}</Notice>
      <ErrorBox error={error ?? keys.error} />
    </section>
  );
}

interface ChannelLink {
  id: string;
  channel: 'slack' | 'telegram';
  external_id: string;
  label: string;
  created_at: string;
}

function LinkedChats() {
  const links = useLoad(() => api<ChannelLink[]>('GET', '/v1/me/channel-links'), []);
  const [code, setCode] = useState<{
    channel: string;
    code: string;
    expires_at: string;
    deep_link: string | null;
  } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const newCode = async (channel: 'slack' | 'telegram') => {
    setError(null);
    try {
      setCode(await api('POST', '/v1/me/channel-links/codes', { channel }));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const unlink = async (id: string) => {
    setError(null);
    try {
      await api('DELETE', `/v1/me/channel-links/${id}`);
      await links.reload();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section aria-labelledby="chats-h">
      <h2 id="chats-h">Linked chats</h2>
      {links.data === undefined ? (
        <Loading />
      ) : links.data.length === 0 ? (
        <p>No chat is linked. Link Slack or Telegram to approve from there.</p>
      ) : (
        <ul>
          {links.data.map((l) => (
            <li key={l.id}>
              {l.channel}: {l.label} <span className="muted">(since {formatTime(l.created_at)})</span>{' '}
              <button type="button" onClick={() => void unlink(l.id)}>
                Unlink {l.channel} {l.label}
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="actions">
        <button type="button" onClick={() => void newCode('telegram')}>
          Link Telegram
        </button>
        <button type="button" onClick={() => void newCode('slack')}>
          Link Slack
        </button>
      </div>
      {code !== null && (
        <Notice>
          Send <span className="secret">/start {code.code}</span> to the ony {code.channel} bot before{' '}
          {formatTime(code.expires_at)}.
          {code.deep_link !== null && (
            <>
              {' '}
              Or open <a href={code.deep_link}>{code.deep_link}</a>.
            </>
          )}
        </Notice>
      )}
      <ErrorBox error={error ?? links.error} />
    </section>
  );
}

const LEVEL_TEXT: Record<string, string> = {
  critical: 'New critical-risk handoffs',
  high: 'New high-risk handoffs',
};

function Notifications() {
  const { member } = useSession();
  const canDecide = member != null && roleAtLeast(member.role, 'member');
  const settings = useLoad(
    () => (canDecide ? api<NotificationSettings>('GET', '/v1/me/notifications') : Promise.resolve(undefined)),
    [canDecide],
  );
  const [on, setOn] = useState(optedIn);
  const [msg, setMsg] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (!canDecide) return null;
  const s = settings.data;

  async function toggleLevel(level: string, checked: boolean) {
    if (s === undefined) return;
    setError(null);
    setMsg(null);
    const levels = checked ? [...s.levels, level] : s.levels.filter((l) => l !== level);
    try {
      settings.setData(await api<NotificationSettings>('PUT', '/v1/me/notifications', { levels }));
      notificationsChanged();
      setMsg('Saved.');
    } catch (err) {
      setError(errorText(err));
    }
  }

  async function enable() {
    if (s === undefined) return;
    setError(null);
    setMsg(null);
    const result = await enableNotifications(s);
    setOn(optedIn());
    notificationsChanged();
    setMsg(
      result === 'enabled'
        ? 'Notifications are on for this browser, also when the dashboard is closed (Web Push).'
        : result === 'enabled-no-push'
          ? s.web_push
            ? 'Notifications are on while the dashboard is open in this browser (it offers no Web Push).'
            : 'Notifications are on while the dashboard is open in this browser (this server does not push to phones: ONY_WEB_PUSH).'
          : result === 'denied'
            ? 'The browser blocked notifications for this site; allow them in its site settings.'
            : 'This browser cannot show notifications.',
    );
    await settings.reload();
  }

  async function disable() {
    setError(null);
    await disableNotifications();
    setOn(false);
    notificationsChanged();
    setMsg('Notifications are off for this browser.');
    await settings.reload();
  }

  return (
    <section aria-labelledby="notify-h">
      <h2 id="notify-h">Notifications</h2>
      <p>
        ony can notify you of new handoffs on this browser, and on your phone when you install the dashboard
        (Add to Home Screen). A notification shows the action, the risk level, the redacted title and the
        short code, never the payload.
      </p>
      {s === undefined ? (
        <Loading />
      ) : (
        <fieldset>
          <legend>Notify me of</legend>
          {(['critical', 'high'] as const).map((level) => (
            <label key={level} className="check">
              <input
                type="checkbox"
                checked={s.levels.includes(level)}
                onChange={(e) => void toggleLevel(level, e.currentTarget.checked)}
              />{' '}
              {LEVEL_TEXT[level]}
            </label>
          ))}
          <p className="muted">
            {s.subscriptions === 0
              ? 'No browser of yours receives Web Push.'
              : `${s.subscriptions} browser${s.subscriptions === 1 ? '' : 's'} of yours receive${s.subscriptions === 1 ? 's' : ''} Web Push.`}
          </p>
        </fieldset>
      )}
      <div className="actions">
        {!notificationsSupported() ? (
          <p>This browser cannot show notifications.</p>
        ) : on ? (
          <button type="button" onClick={() => void disable()}>
            Turn off notifications on this browser
          </button>
        ) : (
          <button type="button" disabled={s === undefined} onClick={() => void enable()}>
            Turn on notifications on this browser
          </button>
        )}
      </div>
      <Notice>{msg}</Notice>
      <ErrorBox error={error ?? settings.error} />
    </section>
  );
}

interface SessionRow {
  id: string;
  current: boolean;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  user_agent: string | null;
}

function Sessions() {
  const sessions = useLoad(() => api<SessionRow[]>('GET', '/v1/me/sessions'), []);
  const action = useAction();
  const act = async (f: () => Promise<string>) => {
    if (await action.run(f)) await sessions.reload();
  };
  return (
    <section aria-labelledby="sessions-h">
      <h2 id="sessions-h">Sessions</h2>
      {sessions.data === undefined ? (
        <Loading />
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Sessions">
          <table>
            <thead>
              <tr>
                <th scope="col">Browser</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last seen</th>
                <th scope="col">
                  <span className="muted">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sessions.data.map((s) => (
                <tr key={s.id}>
                  <td>
                    <span title={s.user_agent ?? undefined}>{describeUserAgent(s.user_agent)}</span>{' '}
                    {s.current && <strong>(this one)</strong>}
                  </td>
                  <td>{formatTime(s.created_at)}</td>
                  <td>{formatTime(s.last_seen_at)}</td>
                  <td>
                    {!s.current && (
                      <button
                        type="button"
                        disabled={action.busy}
                        onClick={() =>
                          void act(async () => {
                            await api('DELETE', `/v1/me/sessions/${s.id}`);
                            return 'Session revoked.';
                          })
                        }
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="actions">
        <button
          type="button"
          disabled={action.busy}
          onClick={() =>
            void act(async () => {
              const r = await api<{ revoked: number }>('POST', '/v1/me/sessions/revoke-others');
              return `Signed out ${r.revoked} other session${r.revoked === 1 ? '' : 's'}.`;
            })
          }
        >
          Sign out everywhere else
        </button>
      </div>
      <Notice>{action.notice}</Notice>
      <ErrorBox error={action.error ?? sessions.error} />
    </section>
  );
}

export function AccountPage(_props: { params: Record<string, string> }) {
  return (
    <section>
      <PageTitle title="Account">Your account</PageTitle>
      <Profile />
      <TwoFactor />
      <Passkeys />
      <Notifications />
      <LinkedChats />
      <Sessions />
    </section>
  );
}
