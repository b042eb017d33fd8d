/**
 * What the database keeps of phone calls: the call records (masked number, status, duration,
 * outcome; never audio) and the audit entry for a step-up that failed on a call. A call is written
 * to the org of the member who was called (the org where that number is verified).
 */
import type { Kysely } from 'kysely';
import { auditEvents } from '../../core/audit-chain/events.js';
import { withTenant } from '../../db/client.js';
import type { DB, PhoneCallsTable } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { maskPhone } from '../../lib/phone.js';
import { appendAudit } from '../audit/audit.repository.js';
import type { Principal } from '../auth/principal.js';
import { resolveIdentity } from '../channels/channels.repository.js';
import type { HandoffsService } from '../handoffs/handoffs.service.js';
import { insertPhoneCall, listPhoneCalls, type PhoneCall } from './telephony.repository.js';

/** Who was called: their number and member id, and the org when already known. */
interface Callee {
  readonly phone: string;
  readonly memberId: string;
  readonly orgId?: string;
}

export function createCallRecordsService({
  db,
  handoffs,
  clock,
}: {
  readonly db: Kysely<DB>;
  readonly handoffs: Pick<HandoffsService, 'get'>;
  readonly clock: Clock;
}) {
  /** The org that holds the member who was called (the number is verified there). */
  async function orgOf(c: Callee): Promise<string | undefined> {
    if (c.orgId !== undefined) return c.orgId;
    return (await resolveIdentity(db, 'phone', c.phone)).find((o) => o.memberId === c.memberId)?.orgId;
  }

  return {
    async forHandoff(p: Principal & { kind: 'member' }, handoffId: string): Promise<PhoneCall[]> {
      // 404 for a handoff of another org, like every other read.
      await handoffs.get(p, handoffId);
      return withTenant(db, p.orgId, (tx) => listPhoneCalls(tx, handoffId));
    },

    /** Stores a finished call once; false when the callee's org is no longer known. */
    async record(
      callee: Callee,
      call: {
        handoffId: string | null;
        provider: PhoneCallsTable['provider'];
        providerCallId: string;
        status: PhoneCallsTable['status'];
        durationS: number | null;
        outcome: string;
      },
    ): Promise<boolean> {
      const orgId = await orgOf(callee);
      if (orgId === undefined) return false;
      await withTenant(db, orgId, (tx) =>
        insertPhoneCall(tx, {
          ...call,
          memberId: callee.memberId,
          phoneMasked: maskPhone(callee.phone),
          endedAt: clock.now(),
        }),
      );
      return true;
    },

    /** Wrong TOTP codes ended a call: audited in the callee's org (nothing was decided). */
    async stepUpFailed(callee: Callee, handoffId: string, attempts: number): Promise<void> {
      const orgId = await orgOf(callee);
      if (orgId === undefined) return;
      await withTenant(db, orgId, (tx) =>
        appendAudit(
          tx,
          auditEvents.handoffStepUpFailed(
            { type: 'member', id: callee.memberId },
            { id: handoffId },
            { channel: 'phone', attempts },
          ),
          clock.now(),
        ),
      );
    },
  };
}

export type CallRecordsService = ReturnType<typeof createCallRecordsService>;
