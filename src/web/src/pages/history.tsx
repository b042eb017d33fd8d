import { PageTitle } from '../components';

export function HistoryPage(_props: { params: Record<string, string> }) {
  return <PageTitle title="History">History</PageTitle>;
}
