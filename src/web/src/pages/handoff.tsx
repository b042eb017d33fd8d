import { PageTitle } from '../components';

export function HandoffPage(_props: { params: Record<string, string> }) {
  return <PageTitle title="Handoff">Handoff</PageTitle>;
}
