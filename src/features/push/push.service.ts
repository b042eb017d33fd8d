/**
 * Notifications on the phone (issue #22 §2, docs/notifications.md): each member's choice of the risk
 * levels that notify them, their browsers' Web Push subscriptions, and the job that pushes a new high
 * or critical handoff's redacted gist to them. Sending is a job (JOBS.push, enqueued with the
 * handoff), never on the create request's path.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { PushChannel } from '../../channels/push/adapter.js';
import { pushHostAllowed } from '../../channels/push/adapter.js';
import {
  isNotifyLevel,
  subscriptionProblem,
  type NotifyLevel,
  type PushSubscriptionInput,
} from '../../core/push/notification.js';
import { withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { checkCallbackUrl, SsrfError } from '../../lib/ssrf.js';
import type { Principal } from '../auth/principal.js';
import type { Keyring } from '../orgs/keyring.js';
import { findHandoff } from '../handoffs/handoffs.repository.js';
import {
  countMemberSubscriptions,
  deleteMemberSubscription,
  deleteSubscriptions,
  findSubscriptionByEndpoint,
  insertSubscription,
  markSent,
  notifyLevelsOf,
  setNotifyLevels,
  subscriptionsFor,
} from './push.repository.js';

type MemberPrincipal = Principal & { kind: 'member' };

export interface PushDeps {
  readonly db: Kysely<DB>;
  readonly keyring: Pick<Keyring, 'encrypt' | 'decrypt'>;
  readonly clock: Clock;
  readonly channel: PushChannel;
  readonly logger: Logger;
  readonly config: {
    /** The VAPID public key the browser subscribes with (`applicationServerKey`). */
    readonly publicKey: string;
    /** ONY_WEB_PUSH: off, no browser may subscribe and nothing is pushed. */
    readonly enabled: boolean;
    readonly allowHosts: readonly string[];
  };
}

export interface NotificationSettings {
  readonly levels: readonly NotifyLevel[];
  /** Whether this server pushes at all (ONY_WEB_PUSH). */
  readonly webPush: boolean;
  readonly vapidPublicKey: string;
  readonly subscriptions: number;
}

const keysAad = (id: string) => `push-keys:${id}`;

export function createPushService(deps: PushDeps) {
  const { db, keyring, clock, channel, logger, config } = deps;

  /** The SSRF guard of a subscription's endpoint, at request time (delivery checks it again). */
  function checkEndpoint(endpoint: string): void {
    try {
      checkCallbackUrl(endpoint, {
        allowHosts: config.allowHosts,
        allowHttp: pushHostAllowed(endpoint, config.allowHosts),
      });
    } catch (err) {
      if (err instanceof SsrfError)
        throw new AppError(
          'bad_request',
          `endpoint: ${err.message.replace(/^callback_url\b/, 'the push endpoint')}`,
        );
      throw err;
    }
  }

  return {
    async settings(p: MemberPrincipal): Promise<NotificationSettings> {
      return withTenant(db, p.orgId, async (tx) => ({
        levels: (await notifyLevelsOf(tx, p.memberId)) ?? [],
        webPush: config.enabled,
        vapidPublicKey: config.publicKey,
        subscriptions: await countMemberSubscriptions(tx, p.memberId),
      }));
    },

    async setLevels(p: MemberPrincipal, levels: readonly string[]): Promise<NotificationSettings> {
      const bad = levels.find((l) => !isNotifyLevel(l));
      if (bad !== undefined)
        throw new AppError('bad_request', `levels: "${bad}" is not a level that notifies (high, critical)`);
      const chosen = [...new Set(levels as NotifyLevel[])].sort();
      await withTenant(db, p.orgId, (tx) => setNotifyLevels(tx, p.memberId, chosen, clock.now()));
      return this.settings(p);
    },

    /**
     * Stores a browser's subscription for the member. The same endpoint again (the browser
     * re-subscribed, or another member signed in on it) replaces the old row: one browser, one owner.
     */
    async subscribe(p: MemberPrincipal, input: PushSubscriptionInput): Promise<{ id: string }> {
      if (!config.enabled)
        throw new AppError(
          'conflict',
          'Web Push is off on this server: the operator turns it on with ONY_WEB_PUSH=true (docs/notifications.md); notifications while the dashboard is open work without it',
        );
      checkEndpoint(input.endpoint);
      const problem = subscriptionProblem(input.keys);
      if (problem === 'p256dh')
        throw new AppError(
          'bad_request',
          'keys.p256dh must be an uncompressed P-256 public key (65 bytes, base64url)',
        );
      if (problem === 'auth')
        throw new AppError('bad_request', 'keys.auth must be a 16-byte secret, base64url');
      return withTenant(db, p.orgId, async (tx) => {
        const existing = await findSubscriptionByEndpoint(tx, input.endpoint);
        if (existing !== undefined) await deleteSubscriptions(tx, [existing.id]);
        const id = randomUUID();
        const keysEnc = await keyring.encrypt(
          tx,
          Buffer.from(JSON.stringify({ p256dh: input.keys.p256dh, auth: input.keys.auth })),
          keysAad(id),
        );
        await insertSubscription(tx, {
          id,
          memberId: p.memberId,
          endpoint: input.endpoint,
          keysEnc,
          at: clock.now(),
        });
        return { id };
      });
    },

    /** Removes the member's subscription of that endpoint (none: nothing to do). */
    async unsubscribe(p: MemberPrincipal, endpoint: string): Promise<void> {
      await withTenant(db, p.orgId, (tx) => deleteMemberSubscription(tx, p.memberId, endpoint));
    },

    /**
     * Job: push a new handoff's gist to every subscription of a member who chose its level. A
     * handoff no longer pending is left alone. A subscription the push service says is gone (404,
     * 410) is deleted; any other failure is logged and not retried (a retry would notify the others
     * twice).
     */
    async pushHandoff(orgId: string, handoffId: string): Promise<void> {
      if (!config.enabled) return;
      const prepared = await withTenant(db, orgId, async (tx) => {
        const h = await findHandoff(tx, handoffId);
        if (h === undefined || h.status !== 'pending' || !isNotifyLevel(h.riskLevel)) return undefined;
        const subs = await subscriptionsFor(tx, h.riskLevel);
        const recipients = await Promise.all(
          subs.map(async (s) => {
            const keys = JSON.parse(
              (await keyring.decrypt(tx, s.keysEnc, keysAad(s.id))).toString('utf8'),
            ) as PushSubscriptionInput['keys'];
            return {
              id: s.id,
              memberId: s.memberId,
              address: JSON.stringify({ endpoint: s.endpoint, keys }),
            };
          }),
        );
        return { h, recipients };
      });
      if (prepared === undefined || prepared.recipients.length === 0) return;
      const { h, recipients } = prepared;
      const outcomes = await channel.deliver(
        {
          handoffId: h.id,
          shortCode: h.shortCode,
          actionType: h.actionType,
          riskLevel: h.riskLevel,
          title: h.title,
          gist: { speech: '', sms: '', chat: '' },
          // A push carries no summary (it goes out at creation, before any model summary exists).
          summary: null,
          options: [],
          link: `/handoffs/${h.id}`,
        },
        recipients.map((r) => ({ memberId: r.memberId, name: '', address: r.address })),
      );
      const sent = recipients.filter((_, i) => outcomes[i] === 'sent').map((r) => r.id);
      const gone = recipients.filter((_, i) => outcomes[i] === 'gone').map((r) => r.id);
      const failed = outcomes.filter((o) => o === 'failed').length;
      await withTenant(db, orgId, async (tx) => {
        await deleteSubscriptions(tx, gone);
        await markSent(tx, sent, clock.now());
      });
      logger.info({ handoff_id: h.id, sent: sent.length, gone: gone.length, failed }, 'web push delivered');
    },
  };
}

export type PushService = ReturnType<typeof createPushService>;
