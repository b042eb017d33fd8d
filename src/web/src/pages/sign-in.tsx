/**
 * Sign in: email + password, then a second factor when the account has one (a TOTP code, a
 * recovery code or a passkey); SSO when configured.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, errorText } from '../api';
import { ErrorBox, Field, PageTitle } from '../components';
import { answer, ceremonyText } from '../passkeys';
import { Link, navigate, useLocation } from '../router';
import { useSession } from '../session';
import type { SessionAnswer } from '../types';

interface SsoInfo {
  configured: boolean;
  display_name: string | null;
  required: boolean;
  start_url: string | null;
}

const ORG_KEY = 'ony.org';
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Only paths inside the app: `?next=` never sends anyone to another origin. */
export function safeNext(search: string): string {
  const next = new URLSearchParams(search).get('next');
  return next !== null && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\')
    ? next
    : '/';
}

function readOrg(search: string): string {
  const fromUrl = new URLSearchParams(search).get('org');
  if (fromUrl !== null && SLUG.test(fromUrl)) return fromUrl;
  try {
    return window.localStorage.getItem(ORG_KEY) ?? '';
  } catch {
    return '';
  }
}

export function SignInPage() {
  const { search } = useLocation();
  const { member, refresh } = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [org, setOrg] = useState(() => readOrg(search));
  const [needOrg, setNeedOrg] = useState(false);
  const [step, setStep] = useState<'password' | 'totp'>('password');
  const [useRecovery, setUseRecovery] = useState(false);
  /** The second factors the account has (from the server's answer): totp, recovery_code, passkey. */
  const [factors, setFactors] = useState<string[]>(['totp', 'recovery_code']);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState<SsoInfo | null>(null);
  const urlError = new URLSearchParams(search).get('error');

  useEffect(() => {
    if (member) navigate(safeNext(search), { replace: true });
  }, [member, search]);

  useEffect(() => {
    api<{ needed: boolean }>('GET', '/v1/setup')
      .then((s) => s.needed && navigate('/setup', { replace: true }))
      .catch(() => undefined);
  }, []);

  useEffect(() => {
    if (!SLUG.test(org)) {
      setSso(null);
      return;
    }
    const t = window.setTimeout(() => {
      api<SsoInfo>('GET', `/v1/auth/sso/${encodeURIComponent(org)}`)
        .then(setSso)
        .catch(() => setSso(null));
    }, 250);
    return () => window.clearTimeout(t);
  }, [org]);

  const orgField = () => (org !== '' && (needOrg || SLUG.test(org)) ? { org } : {});

  /** The second factor with a passkey: options for this account's passkeys, the browser's answer, sign-in. */
  async function withPasskey() {
    setBusy(true);
    setError(null);
    try {
      const optionsJSON = await api<Parameters<typeof answer>[0]>('POST', '/v1/auth/login/passkey-options', {
        email,
        password,
        ...orgField(),
      });
      const passkey = await answer(optionsJSON);
      await api<SessionAnswer>('POST', '/v1/auth/login', { email, password, ...orgField(), passkey });
      await refresh();
    } catch (err) {
      setError(
        ceremonyText(err) ??
          (err instanceof ApiError && err.code === 'passkey_invalid'
            ? 'That passkey was not accepted. Use one of the passkeys you added to this account.'
            : errorText(err)),
      );
    } finally {
      setBusy(false);
    }
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api<SessionAnswer>('POST', '/v1/auth/login', {
        email,
        password,
        ...orgField(),
        ...(step === 'totp' && (useRecovery ? { recovery_code: code.trim() } : { totp_code: code.trim() })),
      });
      try {
        if (org !== '') window.localStorage.setItem(ORG_KEY, org);
      } catch {
        // storage may be off; remembering the org is only a convenience
      }
      await refresh();
    } catch (err) {
      if (err instanceof ApiError && (err.code === 'totp_required' || err.code === 'passkey_required')) {
        const sent = (err.problem as { factors?: unknown }).factors;
        setFactors(
          Array.isArray(sent)
            ? sent.filter((f): f is string => typeof f === 'string')
            : err.code === 'passkey_required'
              ? ['passkey']
              : ['totp', 'recovery_code'],
        );
        setStep('totp');
        setCode('');
      } else if (
        err instanceof ApiError &&
        err.code === 'conflict' &&
        /several organizations/.test(err.message)
      ) {
        setNeedOrg(true);
        setError('This email belongs to several organizations: enter the organization’s short name.');
      } else if (err instanceof ApiError && err.code === 'totp_invalid') {
        setError(
          useRecovery
            ? 'That recovery code is wrong or was used already.'
            : 'That code is wrong or was used already. Wait for the next one.',
        );
        setCode('');
      } else {
        setError(errorText(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="narrow">
      <PageTitle title="Sign in">Sign in to ony</PageTitle>
      {urlError !== null && <ErrorBox error={`Single sign-on failed: ${urlError}`} />}
      {sso?.configured === true && sso.start_url !== null && (
        <p>
          <a className="button" href={sso.start_url}>
            Sign in with {sso.display_name ?? 'single sign-on'}
          </a>
        </p>
      )}
      {sso?.required === true ? (
        <p className="muted">This organization signs in with single sign-on only.</p>
      ) : (
        <form onSubmit={(e) => void submit(e)} noValidate={false}>
          {step === 'password' ? (
            <>
              <Field
                label="Email"
                type="email"
                autoComplete="username"
                required
                value={email}
                onChange={(e) => setEmail(e.target.value)}
              />
              <Field
                label="Password"
                type="password"
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            </>
          ) : (
            <>
              <p>
                Two-factor sign-in for <strong>{email}</strong>.
              </p>
              {factors.includes('passkey') && (
                <p>
                  <button
                    type="button"
                    className="primary"
                    disabled={busy}
                    onClick={() => void withPasskey()}
                  >
                    Use a passkey
                  </button>
                </p>
              )}
              {!factors.includes('totp') ? null : useRecovery ? (
                <Field
                  label="Recovery code"
                  autoComplete="off"
                  required
                  value={code}
                  onChange={(e) => setCode(e.target.value)}
                />
              ) : (
                <Field
                  label="Authentication code"
                  hint="The 6 digits from your authenticator app"
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  pattern="[0-9]{6}"
                  maxLength={6}
                  required
                  autoFocus
                  value={code}
                  onChange={(e) => setCode(e.target.value)}
                />
              )}
              {factors.includes('totp') && (
                <button
                  type="button"
                  className="link-button"
                  onClick={() => {
                    setUseRecovery((r) => !r);
                    setCode('');
                  }}
                >
                  {useRecovery ? 'Use an authenticator code' : 'Use a recovery code instead'}
                </button>
              )}
            </>
          )}
          <Field
            label={needOrg ? 'Organization (short name)' : 'Organization (optional: for single sign-on)'}
            autoComplete="organization"
            required={needOrg}
            value={org}
            onChange={(e) => setOrg(e.target.value.trim().toLowerCase())}
          />
          <ErrorBox error={error} />
          <div className="actions">
            {(step === 'password' || factors.includes('totp')) && (
              <button
                type="submit"
                className={step === 'password' || !factors.includes('passkey') ? 'primary' : undefined}
                disabled={busy}
              >
                {busy ? 'Signing in…' : step === 'password' ? 'Sign in' : 'Verify'}
              </button>
            )}
            {step === 'totp' && (
              <button
                type="button"
                onClick={() => {
                  setStep('password');
                  setError(null);
                }}
              >
                Back
              </button>
            )}
          </div>
        </form>
      )}
      <p>
        <Link to="/reset-password">Forgot your password?</Link>
      </p>
    </section>
  );
}
