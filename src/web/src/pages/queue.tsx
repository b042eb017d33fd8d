import { PageTitle } from '../components';

export function QueuePage(_props: { params: Record<string, string> }) {
  return <PageTitle title="Queue">Queue</PageTitle>;
}
