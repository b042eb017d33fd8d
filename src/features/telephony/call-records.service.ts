/** A handoff's call records, for whoever may read the handoff (numbers masked, no content). */
import type { Kysely } from 'kysely';
import { withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Principal } from '../auth/principal.js';
import type { HandoffsService } from '../handoffs/handoffs.service.js';
import { listPhoneCalls, type PhoneCall } from './telephony.repository.js';

export function createCallRecordsService({
  db,
  handoffs,
}: {
  readonly db: Kysely<DB>;
  readonly handoffs: Pick<HandoffsService, 'get'>;
}) {
  return {
    async forHandoff(p: Principal & { kind: 'member' }, handoffId: string): Promise<PhoneCall[]> {
      // 404 for a handoff of another org, like every other read.
      await handoffs.get(p, handoffId);
      return withTenant(db, p.orgId, (tx) => listPhoneCalls(tx, handoffId));
    },
  };
}

export type CallRecordsService = ReturnType<typeof createCallRecordsService>;
