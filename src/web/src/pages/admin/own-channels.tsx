/**
 * The org's own Telegram bot and phone account (docs/channels.md): which one the org uses (its own
 * or the server's), and forms to set, replace or remove them. Credentials are write-only: the page
 * never shows one, and the inputs are emptied after each save.
 */
import { useId, useState, type FormEvent } from 'react';
import { api, errorText } from '../../api';
import { ErrorBox, Loading, Notice, useLoad } from '../../components';
import { ConfirmButton, Section } from './admin-kit';

interface OwnChannels {
  telegram: {
    source: 'own' | 'server' | 'none';
    bot_username: string | null;
    mode: 'webhook' | 'polling';
    webhook_url: string | null;
    updated_at: string | null;
  };
  telephony: {
    source: 'own' | 'server' | 'none';
    provider: string | null;
    from_masked: string | null;
    sms_webhook_url: string | null;
    updated_at: string | null;
  };
}

/** GET /v1/admin/channels/slack/installation: answered only when the server runs Slack. */
interface SlackStatus {
  source: 'own' | 'server' | 'none';
  team_name: string | null;
  channel_id: string | null;
  installed_at: string | null;
  install_available: boolean;
}

const SOURCE: Record<OwnChannels['telegram']['source'], string> = {
  own: "this organization's own",
  server: "the server's (set by the operator)",
  none: 'none configured',
};

/** The credential fields each provider asks for (all write-only but the ids). */
const FIELDS: Record<string, readonly { name: string; label: string; secret: boolean }[]> = {
  twilio: [
    { name: 'account_sid', label: 'Account SID (AC…)', secret: false },
    { name: 'auth_token', label: 'Auth token', secret: true },
  ],
  signalwire: [
    { name: 'project_id', label: 'Project id', secret: false },
    { name: 'space', label: 'Space (the <space> of <space>.signalwire.com)', secret: false },
    { name: 'api_token', label: 'API token', secret: true },
    { name: 'signing_key', label: 'Signing key', secret: true },
  ],
  telnyx: [
    { name: 'api_key', label: 'API key', secret: true },
    { name: 'public_key', label: 'Public key (base64)', secret: false },
    { name: 'texml_app_id', label: 'TeXML application id', secret: false },
    { name: 'messaging_profile_id', label: 'Messaging profile id (optional)', secret: false },
  ],
  plivo: [
    { name: 'auth_id', label: 'Auth ID (MA…)', secret: false },
    { name: 'auth_token', label: 'Auth token', secret: true },
  ],
};

function TextField(props: { label: string; value: string; secret?: boolean; onChange: (v: string) => void }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type={props.secret === true ? 'password' : 'text'}
        autoComplete="off"
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </div>
  );
}

export function OwnChannelsSection() {
  const own = useLoad(() => api<OwnChannels>('GET', '/v1/admin/channels/own'), []);
  // The Slack routes exist only when the operator configured Slack: without them, no Slack block.
  const slack = useLoad(
    () => api<SlackStatus>('GET', '/v1/admin/channels/slack/installation').catch(() => null),
    [],
  );
  const [token, setToken] = useState('');
  const [provider, setProvider] = useState('twilio');
  const [from, setFrom] = useState('');
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const providerId = useId();

  const run = async (what: () => Promise<unknown>, done: string) => {
    setError(null);
    setSaved(null);
    try {
      await what();
      setSaved(done);
      await Promise.all([own.reload(), slack.reload()]);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const saveBot = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      await api('PUT', '/v1/admin/channels/own/telegram', { bot_token: token.trim() });
      setToken('');
    }, 'Bot saved: Telegram accepted it.');
  };
  const saveAccount = (e: FormEvent) => {
    e.preventDefault();
    const body: Record<string, string> = { provider, from: from.trim() };
    for (const f of FIELDS[provider] ?? []) {
      const v = (fields[f.name] ?? '').trim();
      if (v !== '') body[f.name] = v;
    }
    void run(async () => {
      await api('PUT', '/v1/admin/channels/own/telephony', body);
      setFields({});
    }, 'Phone account saved: the provider accepted it.');
  };

  const addToSlack = () =>
    void run(async () => {
      const { url } = await api<{ url: string }>('POST', '/v1/admin/channels/slack/install');
      window.location.assign(url);
    }, 'Opening Slack…');

  const o = own.data;
  const s = slack.data ?? null;
  return (
    <Section title="Own Slack workspace, bot and phone account">
      <p className="muted">
        On a shared server this organization can use its own Slack workspace, Telegram bot and phone account
        instead of the server&apos;s. They are checked with the provider before they are stored, stored
        encrypted, and never shown again.
      </p>
      <ErrorBox error={own.error} />
      {o === undefined ? (
        own.loading && <Loading what="Loading the channel configuration" />
      ) : (
        <>
          {s !== null && (
            <>
              <h3>Slack</h3>
              <p>
                Workspace in use: <strong>{SOURCE[s.source]}</strong>
                {s.team_name !== null && <> ({s.team_name})</>}
              </p>
              {s.install_available && (
                <button type="button" onClick={addToSlack}>
                  {s.source === 'own' ? 'Reinstall in Slack' : 'Add to Slack'}
                </button>
              )}
              {s.source === 'own' && (
                <ConfirmButton
                  label="Uninstall the own workspace"
                  confirmLabel="Yes, revoke its token and go back to the server's bot"
                  danger
                  onConfirm={() =>
                    run(
                      () => api('DELETE', '/v1/admin/channels/slack/installation'),
                      'Slack workspace uninstalled.',
                    )
                  }
                />
              )}
            </>
          )}
          <h3>Telegram</h3>
          <p>
            Bot in use: <strong>{SOURCE[o.telegram.source]}</strong>
            {o.telegram.bot_username !== null && <> (@{o.telegram.bot_username})</>}
          </p>
          {o.telegram.webhook_url !== null && <p className="muted">Webhook: {o.telegram.webhook_url}</p>}
          <form className="inline-form" aria-label="Own Telegram bot" onSubmit={saveBot}>
            <TextField label="Bot token from @BotFather" secret value={token} onChange={setToken} />
            <div className="field">
              <button type="submit" disabled={token.trim() === ''}>
                {o.telegram.source === 'own' ? 'Replace the bot' : 'Use this bot'}
              </button>
            </div>
          </form>
          {o.telegram.source === 'own' && (
            <ConfirmButton
              label="Remove the own bot"
              confirmLabel="Yes, go back to the server's bot"
              danger
              onConfirm={() =>
                run(() => api('DELETE', '/v1/admin/channels/own/telegram'), 'Own bot removed.')
              }
            />
          )}

          <h3>Phone calls and SMS</h3>
          <p>
            Account in use: <strong>{SOURCE[o.telephony.source]}</strong>
            {o.telephony.provider !== null && (
              <>
                {' '}
                ({o.telephony.provider}, from {o.telephony.from_masked})
              </>
            )}
          </p>
          {o.telephony.sms_webhook_url !== null && (
            <p className="muted">
              Point the number&apos;s inbound SMS webhook at: {o.telephony.sms_webhook_url}
            </p>
          )}
          <form className="inline-form" aria-label="Own phone account" onSubmit={saveAccount}>
            <div className="field">
              <label htmlFor={providerId}>Provider</label>
              <select id={providerId} value={provider} onChange={(e) => setProvider(e.target.value)}>
                {Object.keys(FIELDS).map((p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </select>
            </div>
            <TextField label="From number (E.164)" value={from} onChange={setFrom} />
            {(FIELDS[provider] ?? []).map((f) => (
              <TextField
                key={`${provider}:${f.name}`}
                label={f.label}
                secret={f.secret}
                value={fields[f.name] ?? ''}
                onChange={(v) => setFields((x) => ({ ...x, [f.name]: v }))}
              />
            ))}
            <div className="field">
              <button type="submit">
                {o.telephony.source === 'own' ? 'Replace the account' : 'Use this account'}
              </button>
            </div>
          </form>
          {o.telephony.source === 'own' && (
            <ConfirmButton
              label="Remove the own account"
              confirmLabel="Yes, go back to the server's account"
              danger
              onConfirm={() =>
                run(() => api('DELETE', '/v1/admin/channels/own/telephony'), 'Own phone account removed.')
              }
            />
          )}
        </>
      )}
      <ErrorBox error={error} />
      {saved !== null && <Notice>{saved}</Notice>}
    </Section>
  );
}
