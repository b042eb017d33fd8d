import { PageTitle } from '../components';

export function AccountPage(_props: { params: Record<string, string> }) {
  return <PageTitle title="Account">Account</PageTitle>;
}
