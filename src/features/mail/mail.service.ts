/**
 * The mail outbox. A change that causes a mail enqueues it in its own transaction: a delivery
 * record (state only) and a durable `mail-send` job whose data is the message, encrypted with the
 * org's data key (it may hold a one-time link). The job renders the template and hands the result
 * to the SMTP relay; a failure keeps the delivery queued and the job retries with backoff (SMTP
 * down means delayed, never lost) until its attempts run out or the relay refuses the message for
 * good. Admins read the delivery records at GET /v1/admin/mail.
 */
import type { Kysely } from 'kysely';
import { withTenant, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { MailConfig } from '../../config/index.js';
import { maskEmail, renderMail, type MailData } from '../../core/mail/templates.js';
import { MailSendError, type MailTransport } from '../../channels/email/transport.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { Keyring } from '../orgs/keyring.js';
import type { Principal } from '../auth/principal.js';
import {
  insertDelivery,
  listDeliveries,
  lockDelivery,
  recordAttempt,
  type DeliveryStatus,
  type MailDelivery,
} from './mail.repository.js';

export const MAIL_JOBS = { send: 'mail-send', passwordReset: 'mail-password-reset' } as const;

/** What a feature hands the outbox: who gets it and what it says. */
export interface OutboundMail {
  /** The address, and the member it belongs to (null: not a member yet, e.g. an invitee). */
  readonly to: { readonly address: string; readonly memberId: string | null };
  readonly data: MailData;
}

/** The part of the outbox other features use. */
export interface MailOutbox {
  /** False when ONY_SMTP_URL is unset: nothing is queued, nothing is sent. */
  readonly enabled: boolean;
  /** Queues a mail inside the caller's transaction; answers the delivery id (null: mail is off). */
  enqueue(tx: TenantTx, mail: OutboundMail): Promise<string | null>;
}

export interface MailDeps {
  readonly db: Kysely<DB>;
  readonly jobs: Pick<JobQueue, 'send'>;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly logger: Logger;
  /** undefined: mail is off. */
  readonly transport: MailTransport | undefined;
  readonly config: Pick<MailConfig, 'retryLimit' | 'retryDelaySeconds'>;
}

const aadOf = (deliveryId: string) => `mail:${deliveryId}`;

export function createMailService(deps: MailDeps) {
  const { db, jobs, keyring, clock, transport, config } = deps;
  const log = deps.logger.child({ component: 'mail' });
  const enabled = transport !== undefined;
  if (!enabled) {
    log.info(
      'mail is off (ONY_SMTP_URL is unset): invites answer their link only, password resets and notices send nothing',
    );
  }

  const outbox: MailOutbox = {
    enabled,
    async enqueue(tx, mail) {
      if (!enabled) return null;
      const delivery = await insertDelivery(tx, {
        kind: mail.data.kind,
        memberId: mail.to.memberId,
        recipient: maskEmail(mail.to.address),
        maxAttempts: config.retryLimit + 1,
        now: clock.now(),
      });
      const sealed = await keyring.encrypt(
        tx,
        Buffer.from(JSON.stringify({ to: mail.to.address, data: mail.data }), 'utf8'),
        aadOf(delivery.id),
      );
      await jobs.send(
        MAIL_JOBS.send,
        { org_id: tx.orgId, delivery_id: delivery.id, sealed: sealed.toString('base64') },
        {
          retryLimit: config.retryLimit,
          retryDelaySeconds: config.retryDelaySeconds,
          retryBackoff: true,
          expireInSeconds: 300,
        },
        tx.db,
      );
      return delivery.id;
    },
  };

  return {
    ...outbox,
    outbox,

    /**
     * Job: renders and sends one queued mail. Throws (so the queue retries) while the relay is
     * unreachable or answers a temporary failure and attempts are left; a sent or failed delivery
     * is left alone (the queue delivers at least once).
     */
    async deliver(data: Record<string, unknown>): Promise<void> {
      const orgId = data.org_id;
      const deliveryId = data.delivery_id;
      const sealed = data.sealed;
      if (typeof orgId !== 'string' || typeof deliveryId !== 'string' || typeof sealed !== 'string')
        throw new Error('mail job lacks org_id, delivery_id or sealed');
      const prepared = await withTenant(db, orgId, async (tx) => {
        const d = await lockDelivery(tx, deliveryId);
        if (d === undefined || d.status !== 'queued') return undefined;
        const plain = await keyring.decrypt(tx, Buffer.from(sealed, 'base64'), aadOf(deliveryId));
        return { delivery: d, message: JSON.parse(plain.toString('utf8')) as { to: string; data: MailData } };
      });
      if (prepared === undefined) return;
      const { delivery, message } = prepared;
      const logFields = { delivery_id: delivery.id, org_id: orgId, kind: delivery.kind };
      let failure: MailSendError | undefined;
      if (transport === undefined) {
        failure = new MailSendError('other', undefined);
        log.warn(logFields, 'mail not sent: mail is off now (ONY_SMTP_URL unset)');
      } else {
        try {
          await transport.send({ to: message.to, ...renderMail(message.data) });
        } catch (err) {
          failure = err instanceof MailSendError ? err : new MailSendError('other', undefined);
        }
      }
      const attempt = delivery.attempts + 1;
      const final = failure === undefined || failure.permanent || attempt >= delivery.maxAttempts;
      const status: DeliveryStatus = failure === undefined ? 'sent' : final ? 'failed' : 'queued';
      await withTenant(db, orgId, (tx) =>
        recordAttempt(tx, delivery.id, {
          status,
          lastError: failure?.errorClass ?? null,
          now: clock.now(),
        }),
      );
      if (failure === undefined) {
        log.info({ ...logFields, attempts: attempt }, 'mail sent');
        return;
      }
      const where = { ...logFields, attempts: attempt, error_class: failure.errorClass };
      if (final) {
        log.error(where, 'mail failed for good; see GET /v1/admin/mail');
        return;
      }
      log.warn(where, 'mail not sent yet; it will be retried');
      throw failure;
    },

    /** Delivery records of the caller's org, newest first. */
    list(
      p: Principal & { kind: 'member' },
      filter: { status?: DeliveryStatus | undefined; limit?: number | undefined },
    ): Promise<MailDelivery[]> {
      return withTenant(db, p.orgId, (tx) =>
        listDeliveries(tx, { status: filter.status, limit: filter.limit ?? 100 }),
      );
    },
  };
}

export type MailService = ReturnType<typeof createMailService>;
