/**
 * The admin's view of the channels: which adapters the operator configured, what each transmits and
 * whether it is healthy, and a "send test" that proves a channel reaches a person. The test goes to
 * the calling admin's own identity on that channel only (never a shared Slack channel, never other
 * members), carries a fake gist clearly marked as a test (no handoff, no options, so no buttons),
 * is rate limited per admin and recorded in the audit chain.
 */
import type { Kysely } from 'kysely';
import type { ChannelAdapter, ChannelHealth, OutboundMessage, Recipient } from '../../channels/channel.js';
import { auditEvents } from '../../core/audit-chain/events.js';
import { gist } from '../../core/gist/index.js';
import { CHANNELS } from '../../core/policy/escalation.js';
import { withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { EphemeralStore } from '../../state/store.js';
import { appendAudit } from '../audit/audit.repository.js';
import type { Principal } from '../auth/principal.js';
import { findMember } from '../members/members.repository.js';
import { addressesOf, PHONE_CHANNELS } from './channels.repository.js';

export interface ChannelsAdminDeps {
  readonly db: Kysely<DB>;
  readonly channels: Readonly<Record<string, ChannelAdapter>>;
  /** The org's own adapters (its own bot or phone account), shown and tested before the server's. */
  readonly orgChannels?: {
    adaptersFor(orgId: string): Promise<Partial<Record<string, ChannelAdapter>>>;
  };
  readonly store: Pick<EphemeralStore, 'hit'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: { readonly publicUrl: string };
}

export interface ChannelStatus {
  readonly name: string;
  readonly configured: boolean;
  readonly transmits: readonly string[];
  /** null: not configured. */
  readonly health: ChannelHealth | null;
}

export interface ChannelTestResult {
  readonly channel: string;
  readonly ok: boolean;
  /** How many messages the provider accepted. */
  readonly sent: number;
  /** One line for the admin; never a credential or an address. */
  readonly detail: string;
}

/** A health check that hangs must not hang the page. */
export const HEALTH_TIMEOUT_MS = 5_000;
/** Test messages an admin may send per window (all channels together). */
export const TESTS_PER_WINDOW = 5;
export const TEST_WINDOW_MS = 10 * 60_000;
/** Not a handoff id: nothing can be decided through a test message. */
const TEST_HANDOFF_ID = '00000000-0000-0000-0000-000000000000';

async function healthOf(adapter: ChannelAdapter, orgId: string): Promise<ChannelHealth> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ChannelHealth>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, detail: `no answer within ${HEALTH_TIMEOUT_MS / 1000} s` }),
      HEALTH_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([
      adapter.health({ orgId }).catch(() => ({ ok: false, detail: 'the health check failed' })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The fake request a test sends: marked as a test in the title and the gist, with no options. */
export function testMessage(publicUrl: string): OutboundMessage {
  const title = 'TEST from ony: no action needed';
  return {
    handoffId: TEST_HANDOFF_ID,
    shortCode: 'TEST',
    actionType: 'other',
    riskLevel: 'low',
    title,
    summary: null,
    gist: gist(
      {
        action: { type: 'other' },
        title,
        summary: 'An admin sent this test message to check that this channel reaches you.',
      },
      { level: 'low', reasons: [] },
    ),
    options: [],
    link: `${publicUrl}/admin/channels`,
  };
}

export function createChannelsAdminService({
  db,
  channels: serverChannels,
  orgChannels,
  store,
  clock,
  logger,
  config,
}: ChannelsAdminDeps) {
  const names = () => [...new Set<string>([...CHANNELS, ...Object.keys(serverChannels)])];
  /** This org's adapters: its own where it has them, else the server's. */
  const channelsOf = async (
    orgId: string,
  ): Promise<Readonly<Record<string, ChannelAdapter | undefined>>> => ({
    ...serverChannels,
    ...(await orgChannels?.adaptersFor(orgId)),
  });

  return {
    /** Every channel a policy step may name, configured or not, with the health of the configured ones. */
    async list(orgId: string): Promise<ChannelStatus[]> {
      const channels = await channelsOf(orgId);
      return Promise.all(
        names().map(async (name): Promise<ChannelStatus> => {
          const adapter = channels[name];
          if (adapter === undefined) return { name, configured: false, transmits: [], health: null };
          return {
            name,
            configured: true,
            transmits: adapter.transmits,
            health: await healthOf(adapter, orgId),
          };
        }),
      );
    },

    /** Sends the test message to the calling admin on one channel; audited, rate limited. */
    async sendTest(p: Principal & { kind: 'member' }, name: string): Promise<ChannelTestResult> {
      const adapter = (await channelsOf(p.orgId))[name];
      if (adapter === undefined) {
        if (!names().includes(name)) throw notFound('channel');
        throw new AppError('unprocessable', `the ${name} channel is not configured on this server`);
      }
      const recipient = await withTenant(db, p.orgId, async (tx): Promise<Recipient> => {
        const me = await findMember(tx, p.memberId);
        if (me === undefined || me.status !== 'active') throw new AppError('forbidden');
        if (name === 'email') return { memberId: me.id, name: me.name, address: me.email };
        if (name === 'console') return { memberId: me.id, name: me.name, address: null };
        const address = (await addressesOf(tx, name, [me.id])).get(me.id);
        if (address === undefined)
          throw new AppError(
            'unprocessable',
            PHONE_CHANNELS.includes(name)
              ? 'verify your own phone number first (Account page): the test goes only to you'
              : `link your own ${name} account first (Account page): the test goes only to you`,
          );
        return { memberId: me.id, name: me.name, address };
      });
      const { count } = await store.hit(`channel-test:${p.memberId}`, TEST_WINDOW_MS);
      if (count > TESTS_PER_WINDOW)
        throw new AppError(
          'rate_limited',
          `at most ${TESTS_PER_WINDOW} test messages per ${TEST_WINDOW_MS / 60_000} minutes`,
        );
      let result: ChannelTestResult;
      try {
        const sent = await adapter.send(testMessage(config.publicUrl), [recipient], {
          directOnly: true,
          orgId: p.orgId,
        });
        const n = sent.messages.length;
        result =
          n > 0
            ? { channel: name, ok: true, sent: n, detail: `sent: check your ${name}` }
            : { channel: name, ok: false, sent: 0, detail: `${name} accepted nothing for your identity` };
      } catch (err) {
        logger.warn({ err, channel: name }, 'channel test failed');
        result = {
          channel: name,
          ok: false,
          sent: 0,
          detail: `${name} refused the message (see the server log)`,
        };
      }
      await withTenant(db, p.orgId, (tx) =>
        appendAudit(
          tx,
          auditEvents.channelTested({ type: 'member', id: p.memberId }, name, result.ok ? 'sent' : 'failed'),
          clock.now(),
        ),
      );
      return result;
    },
  };
}

export type ChannelsAdminService = ReturnType<typeof createChannelsAdminService>;
