/** Password reset: ask for a link (no hash) or choose a new password with the link's token (#token). */
import { useState, type FormEvent } from 'react';
import { api } from '../api';
import { ErrorBox, Field, Notice, PageTitle } from '../components';
import { Link } from '../router';
import { useAction } from '../use-action';
import { takeFragmentToken } from './link-token';

export function ResetPasswordPage() {
  const [token] = useState(takeFragmentToken);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, notice: done, run } = useAction();

  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      if (token === '') {
        await api('POST', '/v1/auth/password-reset', { email });
        return 'If that address belongs to an account, a reset link is on its way. It works once and expires soon.';
      }
      await api('POST', '/v1/auth/password-reset/confirm', { token, password });
      return 'Your password is changed and every session was signed out. Sign in with the new password.';
    });
  }

  return (
    <section className="narrow">
      <PageTitle title="Reset password">
        {token === '' ? 'Forgot your password?' : 'Choose a new password'}
      </PageTitle>
      {done !== null ? (
        <>
          <Notice>{done}</Notice>
          <p>
            <Link to="/sign-in">Go to sign-in</Link>
          </p>
        </>
      ) : (
        <form onSubmit={submit}>
          {token === '' ? (
            <Field
              label="Email"
              type="email"
              required
              autoComplete="username"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          ) : (
            <Field
              label="New password"
              type="password"
              required
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
          <ErrorBox error={error} />
          <button type="submit" className="primary" disabled={busy}>
            {token === '' ? 'Send reset link' : 'Set password'}
          </button>
        </form>
      )}
    </section>
  );
}
