/** Confirm a new sign-in address with the link it received (#token), signed in as yourself. */
import { useEffect, useState } from 'react';
import { api, errorText } from '../api';
import { ErrorBox, Loading, Notice, PageTitle } from '../components';
import { Link } from '../router';
import { useSession } from '../session';
import { takeFragmentToken } from './link-token';

export function ConfirmEmailPage() {
  const { refresh } = useSession();
  const [token] = useState(takeFragmentToken);
  const [state, setState] = useState<{ done?: boolean; error?: string }>({});

  useEffect(() => {
    if (token === '') {
      setState({ error: 'This link is incomplete: open the link from the mail again.' });
      return;
    }
    api('POST', '/v1/me/email/confirm', { token })
      .then(() => refresh())
      .then(() => setState({ done: true }))
      .catch((err) => setState({ error: errorText(err) }));
  }, [token, refresh]);

  return (
    <section className="narrow">
      <PageTitle title="Confirm email">Confirm your new address</PageTitle>
      {state.done === true ? (
        <Notice>Your sign-in address is changed.</Notice>
      ) : state.error !== undefined ? (
        <ErrorBox error={state.error} />
      ) : (
        <Loading what="Confirming" />
      )}
      <p>
        <Link to="/account">Back to your account</Link>
      </p>
    </section>
  );
}
