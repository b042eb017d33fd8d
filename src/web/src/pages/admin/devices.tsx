/**
 * Devices (admin): the agents' tokens. Create one (its token and callback signing secret are shown
 * this once, with copy buttons), rotate the signing secret, revoke; when each was last seen.
 */
import { useId, useState, type FormEvent } from 'react';
import { api } from '../../api';
import { ErrorBox, Loading, Notice, PageTitle, formatTime, useLoad } from '../../components';
import { useAction } from '../../use-action';
import { ConfirmButton, SecretField, Section, type Device } from './admin-kit';

interface Shown {
  readonly name: string;
  readonly token?: string;
  readonly webhookSecret: string;
}

export function DevicesPage() {
  const devices = useLoad(() => api<Device[]>('GET', '/v1/admin/devices'), []);
  const [name, setName] = useState('');
  const action = useAction();
  const [shown, setShown] = useState<Shown | null>(null);
  const nameId = useId();

  const create = (e: FormEvent) => {
    e.preventDefault();
    return action.run(async () => {
      const r = await api<{ device: Device; token: string; webhook_secret: string }>(
        'POST',
        '/v1/admin/devices',
        {
          name,
        },
      );
      setShown({ name: r.device.name, token: r.token, webhookSecret: r.webhook_secret });
      setName('');
      await devices.reload();
    });
  };
  const act = async (f: () => Promise<string | void>) => {
    await action.run(f);
  };

  return (
    <section>
      <PageTitle title="Devices">Devices</PageTitle>
      <p className="muted">
        A device is one agent (a laptop's Claude Code hook, a CI job, a script). It authenticates with its
        token; the signing secret lets it check ony's callbacks.
      </p>
      <Section title="New device">
        <form className="inline-form" onSubmit={(e) => void create(e)} aria-label="Create a device">
          <div className="field">
            <label htmlFor={nameId}>Device name</label>
            <input
              id={nameId}
              required
              maxLength={100}
              value={name}
              placeholder="e.g. ci-deploy"
              onChange={(e) => setName(e.target.value)}
            />
          </div>
          <div className="field">
            <button type="submit" className="primary" disabled={action.busy}>
              Create device
            </button>
          </div>
        </form>
        {shown !== null && (
          <div className="once" role="status" aria-live="polite">
            <p>
              <strong>Copy {shown.token !== undefined ? 'these now' : 'this now'}:</strong> ony keeps only a
              hash and shows {shown.token !== undefined ? 'them' : 'it'} this once ({shown.name}).
            </p>
            {shown.token !== undefined && <SecretField label="Device token" value={shown.token} />}
            <SecretField label="Callback signing secret" value={shown.webhookSecret} />
            <button type="button" onClick={() => setShown(null)}>
              I have copied {shown.token !== undefined ? 'them' : 'it'}: hide
            </button>
          </div>
        )}
      </Section>
      <Section title="Devices">
        <ErrorBox error={action.error ?? devices.error} />
        {action.notice !== null && <Notice>{action.notice}</Notice>}
        {devices.data === undefined ? (
          devices.loading && <Loading what="Loading devices" />
        ) : devices.data.length === 0 ? (
          <p className="muted">No devices yet.</p>
        ) : (
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Devices">
            <table className="admin-table stack">
              <caption className="visually-hidden">Agent devices</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Token</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">Status</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {devices.data.map((d) => (
                  <tr key={d.id}>
                    <th scope="row">{d.name}</th>
                    <td data-label="Token">
                      <span className="mono">{d.token_hint}…</span>
                    </td>
                    <td data-label="Created">{formatTime(d.created_at)}</td>
                    <td data-label="Last seen">
                      {d.last_seen_at !== null ? (
                        formatTime(d.last_seen_at)
                      ) : (
                        <span className="muted">never</span>
                      )}
                    </td>
                    <td data-label="Status">
                      {d.revoked_at !== null ? <span className="bad">revoked</span> : 'active'}
                    </td>
                    <td>
                      {d.revoked_at === null && (
                        <div className="row-actions">
                          <ConfirmButton
                            label="New signing secret"
                            confirmLabel={`Yes, replace ${d.name}'s signing secret`}
                            onConfirm={() =>
                              act(async () => {
                                const r = await api<{ webhook_secret: string }>(
                                  'POST',
                                  `/v1/admin/devices/${d.id}/webhook-secret`,
                                );
                                setShown({ name: d.name, webhookSecret: r.webhook_secret });
                              })
                            }
                          />
                          <ConfirmButton
                            label="Revoke"
                            confirmLabel={`Yes, revoke ${d.name}`}
                            danger
                            onConfirm={() =>
                              act(async () => {
                                await api('DELETE', `/v1/admin/devices/${d.id}`);
                                await devices.reload();
                                return `${d.name} was revoked: its token stopped working.`;
                              })
                            }
                          />
                        </div>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </section>
  );
}
