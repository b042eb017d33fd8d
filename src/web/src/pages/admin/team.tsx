/**
 * Team (admin): members with masked phones (the API masks them) and whether each number is verified,
 * invite with a role, change role, deactivate / reactivate, TOTP reset, and each member's linked chat
 * identities.
 */
import { useId, useState, type FormEvent } from 'react';
import { api, errorText } from '../../api';
import { ErrorBox, Loading, Notice, PageTitle, formatTime, useLoad } from '../../components';
import { useMe } from '../../session';
import { useAction } from '../../use-action';
import type { Member, Role } from '../../types';
import { ConfirmButton, SecretField, Section, type ChannelLink, type Invite } from './admin-kit';

const ROLES: readonly Role[] = ['viewer', 'member', 'admin'];

function InviteForm({ onInvited }: { onInvited: () => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const action = useAction();
  const [made, setMade] = useState<{ email: string; url: string } | null>(null);
  const emailId = useId();
  const roleId = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    return action.run(async () => {
      const r = await api<{ invite: Invite; url: string }>('POST', '/v1/admin/invites', { email, role });
      setMade({ email: r.invite.email, url: r.url });
      setEmail('');
      onInvited();
    });
  };
  return (
    <>
      <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label="Invite someone">
        <div className="field">
          <label htmlFor={emailId}>Email</label>
          <input
            id={emailId}
            type="email"
            required
            autoComplete="off"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={roleId}>Role</label>
          <select id={roleId} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <button type="submit" className="primary" disabled={action.busy}>
            Invite
          </button>
        </div>
      </form>
      <ErrorBox error={action.error} />
      {made !== null && (
        <div className="once" role="status">
          <p>
            Invite for <strong>{made.email}</strong> created (valid 7 days, used once). It was mailed if mail
            is configured; otherwise pass this link on yourself. It is not shown again.
          </p>
          <SecretField label="Invite link" value={made.url} />
        </div>
      )}
    </>
  );
}

function ChatLinks({ member }: { member: Member }) {
  const links = useLoad(
    () => api<ChannelLink[]>('GET', `/v1/admin/members/${member.id}/channel-links`),
    [member.id],
  );
  const [error, setError] = useState<string | null>(null);
  if (links.loading && links.data === undefined) return <Loading what="Loading linked chats" />;
  if (links.error !== null) return <ErrorBox error={links.error} />;
  const list = links.data ?? [];
  return (
    <div>
      {list.length === 0 ? (
        <p className="muted">No linked Slack or Telegram account.</p>
      ) : (
        <ul>
          {list.map((l) => (
            <li key={l.id}>
              {l.channel}: {l.label} <span className="muted">(linked {formatTime(l.created_at)})</span>{' '}
              <ConfirmButton
                label={`Unlink ${l.channel}`}
                confirmLabel={`Yes, unlink ${l.channel}`}
                danger
                onConfirm={async () => {
                  try {
                    await api('DELETE', `/v1/admin/members/${member.id}/channel-links/${l.id}`);
                    setError(null);
                    await links.reload();
                  } catch (err) {
                    setError(errorText(err));
                  }
                }}
              />
            </li>
          ))}
        </ul>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

function MemberRow({
  m,
  isMe,
  onChanged,
  onError,
  onDone,
}: {
  m: Member;
  isMe: boolean;
  onChanged: (m: Member) => void;
  onError: (e: string | null) => void;
  onDone: (text: string) => void;
}) {
  const [showChats, setShowChats] = useState(false);
  const roleId = useId();
  const run = async (f: () => Promise<void>) => {
    try {
      onError(null);
      await f();
    } catch (err) {
      onError(errorText(err));
    }
  };
  const active = m.status === 'active';
  return (
    <>
      <tr>
        <th scope="row">
          {m.name}
          {isMe && <span className="muted"> (you)</span>}
          <div className="muted">{m.email}</div>
        </th>
        <td data-label="Role">
          <label htmlFor={roleId} className="visually-hidden">
            Role of {m.name}
          </label>
          <select
            id={roleId}
            value={m.role}
            disabled={!active}
            onChange={(e) =>
              void run(async () => {
                const updated = await api<Member>('PATCH', `/v1/admin/members/${m.id}`, {
                  role: e.target.value,
                });
                onChanged(updated);
                onDone(`${updated.name} is now ${updated.role}.`);
              })
            }
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </td>
        <td data-label="Status">{active ? 'active' : <span className="bad">deactivated</span>}</td>
        <td data-label="Phone">
          <span className="mono">{m.phone ?? '—'}</span>
          {m.phone !== null &&
            (m.phone_verified ? (
              <>
                {' '}
                <span className="badge phone-verified" title="proved with a code: calls and SMS reach it">
                  ✓ verified
                </span>
              </>
            ) : (
              <>
                {' '}
                <span className="badge phone-unverified" title="not proved yet: no calls or SMS go to it">
                  not verified
                </span>
              </>
            ))}
        </td>
        <td data-label="TOTP">{m.totp_enabled ? 'on' : 'off'}</td>
        <td>
          <div className="row-actions">
            <button
              type="button"
              aria-expanded={showChats}
              onClick={() => setShowChats((s) => !s)}
              aria-label={`Linked chats of ${m.name}`}
            >
              Chats
            </button>
            {active ? (
              <ConfirmButton
                label="Deactivate"
                confirmLabel={`Yes, deactivate ${m.name}`}
                danger
                disabled={isMe}
                onConfirm={() =>
                  run(async () => {
                    onChanged(await api<Member>('POST', `/v1/admin/members/${m.id}/deactivate`));
                    onDone(`${m.name} was deactivated: access revoked, sessions ended.`);
                  })
                }
              />
            ) : (
              <ConfirmButton
                label="Reactivate"
                confirmLabel={`Yes, reactivate ${m.name}`}
                onConfirm={() =>
                  run(async () => {
                    onChanged(await api<Member>('POST', `/v1/admin/members/${m.id}/reactivate`));
                    onDone(`${m.name} was reactivated.`);
                  })
                }
              />
            )}
            {m.totp_enabled && (
              <ConfirmButton
                label="Reset TOTP"
                confirmLabel={`Yes, reset ${m.name}'s TOTP`}
                danger
                onConfirm={() =>
                  run(async () => {
                    await api('POST', `/v1/admin/members/${m.id}/totp-reset`);
                    onChanged({ ...m, totp_enabled: false });
                    onDone(`${m.name}'s TOTP was cleared; their sessions ended and they enrol again.`);
                  })
                }
              />
            )}
            <ConfirmButton
              label="Reset passkeys"
              confirmLabel={`Yes, remove ${m.name}'s passkeys`}
              danger
              onConfirm={() =>
                run(async () => {
                  const r = await api<{ removed: number }>(
                    'POST',
                    `/v1/admin/members/${m.id}/passkeys-reset`,
                  );
                  onDone(
                    r.removed === 0
                      ? `${m.name} had no passkey.`
                      : `${m.name}'s ${r.removed} passkey${r.removed === 1 ? ' was' : 's were'} removed; they add new ones on their Account page.`,
                  );
                })
              }
            />
          </div>
        </td>
      </tr>
      {showChats && (
        <tr>
          <td colSpan={6}>
            <ChatLinks member={m} />
          </td>
        </tr>
      )}
    </>
  );
}

export function TeamPage() {
  const me = useMe();
  const members = useLoad(() => api<Member[]>('GET', '/v1/admin/members'), []);
  const invites = useLoad(() => api<Invite[]>('GET', '/v1/admin/invites'), []);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const replace = (m: Member) => members.setData((list) => list?.map((x) => (x.id === m.id ? m : x)));
  return (
    <section>
      <PageTitle title="Team">Team</PageTitle>
      <Section title="Invite">
        <InviteForm
          onInvited={() => {
            void invites.reload();
          }}
        />
      </Section>
      <Section title="Members">
        <ErrorBox error={error ?? members.error} />
        {done !== null && <Notice>{done}</Notice>}
        {members.data === undefined ? (
          members.loading && <Loading what="Loading the team" />
        ) : (
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Members">
            <table className="admin-table stack">
              <caption className="visually-hidden">Members of your organization</caption>
              <thead>
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Phone</th>
                  <th scope="col">TOTP</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {members.data.map((m) => (
                  <MemberRow
                    key={m.id}
                    m={m}
                    isMe={m.id === me.id}
                    onChanged={replace}
                    onError={setError}
                    onDone={setDone}
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      <Section title="Open invites">
        <ErrorBox error={invites.error} />
        {invites.data !== undefined && invites.data.length === 0 && <p className="muted">No open invites.</p>}
        {invites.data !== undefined && invites.data.length > 0 && (
          <ul>
            {invites.data.map((i) => (
              <li key={i.id}>
                {i.email} as {i.role}, expires {formatTime(i.expires_at)}{' '}
                <ConfirmButton
                  label="Revoke"
                  confirmLabel={`Yes, revoke the invite for ${i.email}`}
                  danger
                  onConfirm={async () => {
                    try {
                      await api('DELETE', `/v1/admin/invites/${i.id}`);
                      await invites.reload();
                    } catch (err) {
                      setError(errorText(err));
                    }
                  }}
                />
              </li>
            ))}
          </ul>
        )}
      </Section>
    </section>
  );
}
