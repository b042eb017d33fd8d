/** Accept an invite (#token from the invite link): choose a name and password; signs you in. */
import { useState, type FormEvent } from 'react';
import { api, errorText } from '../api';
import { ErrorBox, Field, PageTitle } from '../components';
import { navigate } from '../router';
import { useSession } from '../session';
import { takeFragmentToken } from './link-token';

export function InvitePage() {
  const { refresh } = useSession();
  const [token] = useState(takeFragmentToken);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(
    token === '' ? 'This invite link is incomplete: open the link from the invite mail again.' : null,
  );
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('POST', '/v1/invites/accept', { token, name, password });
      await refresh();
      navigate('/account', { replace: true });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="narrow">
      <PageTitle title="Accept invite">Join your team on ony</PageTitle>
      <form onSubmit={(e) => void submit(e)}>
        <Field
          label="Your name"
          required
          autoComplete="name"
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <Field
          label="Password"
          type="password"
          required
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <ErrorBox error={error} />
        <button type="submit" className="primary" disabled={busy || token === ''}>
          Accept invite
        </button>
      </form>
    </section>
  );
}
