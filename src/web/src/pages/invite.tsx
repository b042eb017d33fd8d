/** Accept an invite (#token from the invite link): choose a name and password; signs you in. */
import { useState, type FormEvent } from 'react';
import { api } from '../api';
import { ErrorBox, Field, PageTitle } from '../components';
import { navigate } from '../router';
import { useSession } from '../session';
import { useAction } from '../use-action';
import { takeFragmentToken } from './link-token';

export function InvitePage() {
  const { refresh } = useSession();
  const [token] = useState(takeFragmentToken);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction(
    token === '' ? 'This invite link is incomplete: open the link from the invite mail again.' : null,
  );

  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      await api('POST', '/v1/invites/accept', { token, name, password });
      await refresh();
      navigate('/account', { replace: true });
    });
  }

  return (
    <section className="narrow">
      <PageTitle title="Accept invite">Join your team on ony</PageTitle>
      <form onSubmit={submit}>
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
