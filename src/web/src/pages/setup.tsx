/** First run: create the organization and its first admin with the one-time setup token. */
import { useEffect, useState, type FormEvent } from 'react';
import { api, errorText } from '../api';
import { ErrorBox, Field, Loading, PageTitle } from '../components';
import { navigate } from '../router';
import { useSession } from '../session';
import { useAction } from '../use-action';

export function SetupPage() {
  const { refresh } = useSession();
  const [needed, setNeeded] = useState<boolean | undefined>(undefined);
  const [f, setF] = useState({
    setup_token: '',
    org_name: '',
    org_slug: '',
    email: '',
    name: '',
    password: '',
  });
  const action = useAction();

  useEffect(() => {
    api<{ needed: boolean }>('GET', '/v1/setup')
      .then((s) => {
        setNeeded(s.needed);
        if (!s.needed) navigate('/sign-in', { replace: true });
      })
      .catch((err) => action.setError(errorText(err)));
  }, []);

  const set = (k: keyof typeof f) => (e: { target: { value: string } }) =>
    setF({ ...f, [k]: e.target.value });

  function submit(e: FormEvent) {
    e.preventDefault();
    return action.run(async () => {
      const { org_slug, ...rest } = f;
      await api('POST', '/v1/setup', {
        ...rest,
        ...(org_slug.trim() !== '' && { org_slug: org_slug.trim() }),
      });
      await refresh();
      navigate('/account', { replace: true });
    });
  }

  if (needed === undefined) return action.error !== null ? <ErrorBox error={action.error} /> : <Loading />;
  return (
    <section className="narrow">
      <PageTitle title="First-run setup">Set up ony</PageTitle>
      <p>
        No organization exists yet. Paste the one-time setup token that <code>ony serve</code> printed (or run{' '}
        <code>ony setup</code>), then create the first admin.
      </p>
      <form onSubmit={(e) => void submit(e)}>
        <Field
          label="Setup token"
          required
          autoComplete="off"
          value={f.setup_token}
          onChange={set('setup_token')}
        />
        <Field label="Organization name" required value={f.org_name} onChange={set('org_name')} />
        <Field
          label="Short name (optional)"
          hint="lowercase letters, digits and dashes"
          pattern="[a-z0-9][a-z0-9-]{0,62}"
          value={f.org_slug}
          onChange={set('org_slug')}
        />
        <Field label="Your name" required autoComplete="name" value={f.name} onChange={set('name')} />
        <Field
          label="Your email"
          type="email"
          required
          autoComplete="username"
          value={f.email}
          onChange={set('email')}
        />
        <Field
          label="Password"
          type="password"
          required
          autoComplete="new-password"
          value={f.password}
          onChange={set('password')}
        />
        <ErrorBox error={action.error} />
        <button type="submit" className="primary" disabled={action.busy}>
          {action.busy ? 'Creating…' : 'Create organization'}
        </button>
      </form>
    </section>
  );
}
