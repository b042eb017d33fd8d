/**
 * Org erasure (docs/erasure.md, DESIGN.md §3.4): an admin asks with their password, a TOTP code and
 * the org's name typed back; the erasure is scheduled 30 days out (every admin is mailed, any admin
 * may cancel until then); then a job runs the one privileged eraser, which destroys the org's data
 * keys first, removes every row of the org (the audit chain included) and leaves a tombstone.
 * Operators can erase at once with `ony org erase --org <id> --now`.
 *
 * The job runs on the confined runtime login: it can erase only an org whose erasure is scheduled
 * and not cancelled (ony_erase_scheduled_org, migrations/0017_confined_login.sql). The operator's
 * immediate erasure runs as the owner, on the owner credential (ownerDb).
 */
import type { Kysely } from 'kysely';
import { withOwner, withTenant, isUuid, type Tx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import { auditEvents } from '../../core/audit-chain/events.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { appendAudit } from '../audit/audit.repository.js';
import type { AuthService } from '../auth/auth.service.js';
import { verifyPassword } from '../auth/password.js';
import { actorOf, type Principal } from '../auth/principal.js';
import type { ErasureLedger } from '../backup/erasure-ledger.js';
import type { MailNotices } from '../mail/mail.notices.js';
import { getCredentials } from '../members/members.repository.js';
import type { Keyring } from '../orgs/keyring.js';
import { getOrg } from '../orgs/orgs.repository.js';
import {
  cancelErasure,
  deleteOrgJobs,
  eraseOrgRows,
  eraseScheduledOrgRows,
  getScheduledErasure,
  getTombstone,
  insertErasure,
  orgNameAsOwner,
  setErasureJob,
  type Erasure,
  type Tombstone,
} from './erasure.repository.js';

/** How long a scheduled erasure waits, cancellable by any admin. */
export const ERASURE_GRACE_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export const ERASURE_JOBS = { erase: 'org.erase' } as const;

export interface ErasureDeps {
  readonly db: Kysely<DB>;
  /** The owner credential (operator commands): the immediate erasure. */
  readonly ownerDb: Kysely<DB>;
  readonly clock: Clock;
  readonly jobs: JobQueue;
  readonly keyring: Keyring;
  readonly auth: Pick<AuthService, 'checkStepUp'>;
  readonly notices: Pick<MailNotices, 'erasureScheduled'>;
  /**
   * Where each erasure is recorded outside the database (docs/backups.md), inside the erasing
   * transaction: if it cannot be written, nothing is erased, so no backup can bring the org back.
   */
  readonly ledger: ErasureLedger;
  readonly logger: Logger;
}

export interface ErasureRequest {
  readonly password: string;
  readonly totpCode?: string | undefined;
  /** The org's name, typed back exactly. */
  readonly orgName: string;
}

export interface ErasureResult {
  readonly rows: number;
  readonly jobs: number;
  readonly tombstone: Tombstone;
}

type Member = Principal & { kind: 'member' };

export function createErasureService(deps: ErasureDeps) {
  const { db, ownerDb, clock, jobs, keyring, auth, notices, ledger, logger } = deps;

  function erased(orgId: string, rows: number, removedJobs: number): void {
    keyring.forget(orgId);
    logger.warn({ org_id: orgId, rows, jobs: removedJobs }, 'organization erased');
  }

  /**
   * Erases the org now, as the owner (operator command, owner credential). The org's pg-boss jobs
   * go right after, in a transaction of their own on the runtime login, which owns pg-boss's schema
   * (the owner credential may have no rights there); a job left behind by a crash in between finds
   * no org.
   */
  async function eraseNow(orgId: string): Promise<ErasureResult> {
    if (!isUuid(orgId)) throw new AppError('validation_failed', 'org id must be a uuid');
    const result = await withOwner(ownerDb, async (tx) => {
      if ((await orgNameAsOwner(tx, orgId)) === undefined)
        throw new AppError('not_found', `no organization ${orgId}`);
      const rows = await eraseOrgRows(tx, orgId);
      const tombstone = await getTombstone(tx, orgId);
      if (tombstone === undefined) throw new Error('org erasure left no tombstone');
      await ledger.record(orgId, clock.now());
      return { rows, tombstone };
    });
    const removedJobs = await db.transaction().execute((tx: Tx) => deleteOrgJobs(tx, orgId));
    erased(orgId, result.rows, removedJobs);
    return { ...result, jobs: removedJobs };
  }

  return {
    eraseNow,

    /** The org's name, for the operator's typed confirmation (undefined: no such org). */
    async orgName(orgId: string): Promise<string | undefined> {
      if (!isUuid(orgId)) return undefined;
      return withTenant(db, orgId, async (tx) => (await getOrg(tx))?.name);
    },

    async status(p: Member): Promise<Erasure | undefined> {
      return withTenant(db, p.orgId, (tx) => getScheduledErasure(tx));
    },

    /**
     * Schedules the erasure. Checks, each a clear error with nothing changed: the password (403),
     * a TOTP code of an enrolled admin (403), the org name typed back (422), no erasure already
     * scheduled (409). The TOTP step is recorded only when all pass (the transaction commits).
     */
    async request(p: Member, input: ErasureRequest): Promise<Erasure> {
      const now = clock.now();
      return withTenant(db, p.orgId, async (tx) => {
        const cred = await getCredentials(tx, p.memberId);
        if (!(await verifyPassword(cred?.passwordHash ?? null, input.password)))
          throw new AppError('forbidden', 'password is wrong: erasing the organization needs your password');
        const step = await auth.checkStepUp(tx, p.memberId, input.totpCode);
        if (step === 'not_enrolled')
          throw new AppError('forbidden', 'set up TOTP first: erasing the organization needs a TOTP code');
        if (step !== 'ok')
          throw new AppError(
            'forbidden',
            step === 'missing' ? 'a TOTP code is required' : 'the TOTP code is wrong or was already used',
          );
        const org = await getOrg(tx);
        if (org === undefined) throw new AppError('not_found', 'organization not found');
        if (input.orgName !== org.name)
          throw new AppError('unprocessable', 'type the organization name exactly as it is shown');
        if ((await getScheduledErasure(tx, true)) !== undefined)
          throw new AppError('conflict', 'an erasure of this organization is already scheduled');
        const eraseAt = new Date(now.getTime() + ERASURE_GRACE_DAYS * DAY_MS);
        let erasure: Erasure;
        try {
          erasure = await insertErasure(tx, { requestedBy: p.memberId, requestedAt: now, eraseAt });
        } catch (err) {
          // A concurrent request won the unique index.
          if ((err as { code?: string }).code === '23505')
            throw new AppError('conflict', 'an erasure of this organization is already scheduled');
          throw err;
        }
        const jobId = await jobs.send(
          ERASURE_JOBS.erase,
          { org_id: p.orgId, erasure_id: erasure.id },
          { startAfter: eraseAt, retryLimit: 20, retryDelaySeconds: 300, expireInSeconds: 3600 },
          tx.db,
        );
        await setErasureJob(tx, erasure.id, jobId);
        await appendAudit(tx, auditEvents.orgErasureScheduled(actorOf(p), erasure), now);
        await notices.erasureScheduled(tx, eraseAt);
        return { ...erasure, jobId };
      });
    },

    /** Any admin cancels a scheduled erasure (404 when none is). */
    async cancel(p: Member): Promise<void> {
      const now = clock.now();
      await withTenant(db, p.orgId, async (tx) => {
        const e = await getScheduledErasure(tx, true);
        if (e === undefined) throw new AppError('not_found', 'no erasure of this organization is scheduled');
        await cancelErasure(tx, e.id, p.memberId, now);
        if (e.jobId !== null) await jobs.cancel(ERASURE_JOBS.erase, e.jobId, tx.db);
        await appendAudit(tx, auditEvents.orgErasureCancelled(actorOf(p), e), now);
      });
    },

    /**
     * The scheduled job: erases when the request still stands and is due by this server's clock;
     * a cancelled or unknown request is a no-op; one not yet due throws, so pg-boss retries later.
     */
    async runJob(data: Record<string, unknown>): Promise<void> {
      const orgId = data.org_id;
      const erasureId = data.erasure_id;
      if (typeof orgId !== 'string' || typeof erasureId !== 'string' || !isUuid(orgId))
        throw new Error('erasure job lacks org_id or erasure_id');
      // An erased org (or an unknown one) has no scheduled erasure: RLS shows none.
      const e = await withTenant(db, orgId, (tx) => getScheduledErasure(tx));
      if (e === undefined || e.id !== erasureId) return;
      if (e.eraseAt.getTime() > clock.now().getTime())
        throw new Error(`org erasure ${erasureId} is not due until ${e.eraseAt.toISOString()}`);
      // The eraser and the org's pg-boss jobs in one transaction (both on the runtime login).
      const { rows, removedJobs } = await withTenant(db, orgId, async (tx) => {
        const erasedRows = await eraseScheduledOrgRows(tx, erasureId);
        const jobsRemoved = await deleteOrgJobs(tx.db, orgId);
        await ledger.record(orgId, clock.now());
        return { rows: erasedRows, removedJobs: jobsRemoved };
      });
      erased(orgId, rows, removedJobs);
    },
  };
}

export type ErasureService = ReturnType<typeof createErasureService>;
