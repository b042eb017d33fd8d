/**
 * The running side of each org's own Telegram bot and telephony account (docs/channels.md,
 * docs/telephony.md): the adapters that send with the org's credentials, the bot that takes the
 * org's updates on its own webhook path (/webhooks/telegram/o/<route id>, with its own secret token)
 * or, in polling mode, its own poller, and the call and SMS services behind the org's own signed
 * telephony webhooks (/webhooks/telephony/o/<route id>/…, verified with the org's credentials).
 * The org's per-number windows and call state live under its own prefix of the ephemeral store.
 *
 * Nothing is kept that the database does not say: every use reads the org's row (one indexed read)
 * and reuses the built client only while the row is unchanged, so a replaced or removed token takes
 * effect on every replica at its next use. The org's bot acts only within its org
 * (ChannelsService.actionsOf): a tap on another org's handoff, or by a person linked only elsewhere,
 * decides nothing.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ChannelActions, ChannelAdapter } from '../../channels/channel.js';
import { createTelegramChannel } from '../../channels/telegram/adapter.js';
import { createTelegramBot, type TelegramBot } from '../../channels/telegram/bot.js';
import { createTelegramApi } from '../../channels/telegram/client.js';
import { createPhoneChannel, createSmsChannel } from '../../channels/telephony/adapter.js';
import { createTelephonyProvider } from '../../channels/telephony/index.js';
import type { TelephonyProvider } from '../../channels/telephony/provider.js';
import type { ReplyCodeCounter } from '../../channels/telephony/state.js';
import { TELEPHONY_WEBHOOK_PATH } from '../../channels/telephony/state.js';
import type { OrgChannelsConfig } from '../../config/index.js';
import type { TelephonyProviderConfig } from '../../config/telephony.js';
import type { CallRecordsService } from '../telephony/call-records.service.js';
import { createCallsService, type CallsService } from '../telephony/calls.service.js';
import { createSmsService, type SmsService } from '../telephony/sms.service.js';
import { withApp, withTenant, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { EphemeralStore } from '../../state/store.js';
import type { Keyring } from '../orgs/keyring.js';
import type { ReplayGuard } from '../replay/replay-guard.js';
import {
  findOwnChannel,
  listChannelRoutes,
  resolveChannelRoute,
  type OwnChannelKind,
  type OwnChannelRow,
} from './org-channels.repository.js';

export const ORG_TELEGRAM_WEBHOOK_PREFIX = '/webhooks/telegram/o/';
export const orgTelephonyWebhookPath = (routeId: string): string => `${TELEPHONY_WEBHOOK_PATH}/o/${routeId}`;

/** What the telephony row's encrypted config holds (the API base is the operator's, not stored). */
export interface OwnTelephonyConfig {
  readonly provider: TelephonyProviderConfig;
  readonly from: string;
}
export const orgTelegramWebhookPath = (routeId: string): string => `${ORG_TELEGRAM_WEBHOOK_PREFIX}${routeId}`;

/** What the telegram row's encrypted config holds. */
export interface OwnTelegramConfig {
  readonly bot_token: string;
  readonly webhook_secret: string;
}

/** The associated data a row's blob is bound to (keys.repository.ts ENCRYPTED_COLUMNS). */
export const credentialsAad = (rowId: string): string => `channel-credentials:${rowId}`;

export async function decryptOwnConfig<T>(keyring: Keyring, tx: TenantTx, row: OwnChannelRow): Promise<T> {
  return JSON.parse((await keyring.decrypt(tx, row.configEnc, credentialsAad(row.id))).toString('utf8')) as T;
}

export interface OrgChannelsRuntimeDeps {
  readonly db: Kysely<DB>;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly inbound: {
    readonly store: Pick<EphemeralStore, 'get' | 'set' | 'take' | 'del' | 'hit' | 'claim'>;
    readonly replay: ReplayGuard;
    readonly actionsOf: (orgId: string) => ChannelActions;
  };
  readonly telephony: {
    readonly records: Pick<CallRecordsService, 'record' | 'stepUpFailed'>;
    readonly replyCodes: ReplyCodeCounter;
    readonly limits: {
      readonly callsPer15Min: number;
      readonly smsPer15Min: number;
      readonly machineDetection: boolean;
    };
  };
  readonly config: { readonly publicUrl: string; readonly orgChannels: OrgChannelsConfig };
}

interface TelephonyEntry {
  readonly version: string;
  readonly routeId: string;
  readonly provider: TelephonyProvider;
  readonly from: string;
  readonly phone: ChannelAdapter;
  readonly sms: ChannelAdapter;
  readonly calls: CallsService;
  readonly smsInbound: SmsService;
}

interface TelegramEntry {
  /** The row's id and update time this entry was built from. */
  readonly version: string;
  readonly routeId: string;
  readonly adapter: ChannelAdapter;
  readonly bot: TelegramBot;
  polling: boolean;
}

export function createOrgChannelsRuntime(deps: OrgChannelsRuntimeDeps) {
  const { db, keyring, clock, logger, inbound, config } = deps;
  const telegram = new Map<string, TelegramEntry>();
  const telephony = new Map<string, TelephonyEntry>();

  /** The org's own prefix of the ephemeral store: its windows and call state are its own. */
  function storeOf(orgId: string): OrgChannelsRuntimeDeps['inbound']['store'] {
    const k = (key: string) => `org:${orgId}:${key}`;
    const s = inbound.store;
    return {
      get: (key) => s.get(k(key)),
      set: (key, v, ttl) => s.set(k(key), v, ttl),
      take: (key) => s.take(k(key)),
      del: (key) => s.del(k(key)),
      hit: (key, w) => s.hit(k(key), w),
      claim: (key, v, ttl) => s.claim(k(key), v, ttl),
    };
  }

  const versionOf = (row: OwnChannelRow) =>
    // The blob itself: a re-encryption (`ony keys rotate --data`) is read again, too.
    `${row.id}:${createHash('sha256').update(row.configEnc).digest('base64url')}`;

  /** The org's own account as its row says now (built once per version of the row), or undefined. */
  async function telephonyOf(orgId: string): Promise<TelephonyEntry | undefined> {
    const loaded = await withTenant(db, orgId, async (tx) => {
      const row = await findOwnChannel(tx, 'telephony');
      if (row === undefined) return undefined;
      const version = versionOf(row);
      const cached = telephony.get(orgId);
      if (cached?.version === version) return { entry: cached };
      return { row, version, secrets: await decryptOwnConfig<OwnTelephonyConfig>(keyring, tx, row) };
    });
    if (loaded === undefined) {
      telephony.delete(orgId);
      return undefined;
    }
    if ('entry' in loaded) return loaded.entry;
    const { row, version, secrets } = loaded;
    const provider = createTelephonyProvider(withApiBase(secrets.provider));
    const store = storeOf(orgId);
    const log = logger.child({ org_id: orgId });
    const actions = inbound.actionsOf(orgId);
    const webhookPath = orgTelephonyWebhookPath(row.routeId);
    const t = deps.telephony;
    const adapterDeps = {
      provider,
      store,
      replyCodes: t.replyCodes,
      logger: log,
      config: {
        publicUrl: config.publicUrl,
        webhookPath,
        from: secrets.from,
        ...t.limits,
        listen: false,
      },
    };
    const entry: TelephonyEntry = {
      version,
      routeId: row.routeId,
      provider,
      from: secrets.from,
      phone: createPhoneChannel(adapterDeps),
      sms: createSmsChannel(adapterDeps),
      calls: createCallsService({
        store,
        replay: inbound.replay,
        records: t.records,
        provider,
        actions,
        logger: log,
        config: { publicUrl: config.publicUrl, webhookPath },
      }),
      smsInbound: createSmsService({
        db,
        store,
        replay: inbound.replay,
        clock,
        provider,
        actions,
        logger: log,
        config: { from: secrets.from },
      }),
    };
    telephony.set(orgId, entry);
    return entry;
  }

  /** The API bases are the operator's (config), never stored with the org's credentials. */
  function withApiBase(c: TelephonyProviderConfig): TelephonyProviderConfig {
    const oc = config.orgChannels;
    switch (c.name) {
      case 'twilio':
        return { ...c, apiUrl: oc.twilioApiUrl };
      case 'telnyx':
        return { ...c, apiUrl: oc.telnyxApiUrl };
      case 'plivo':
        return { ...c, apiUrl: oc.plivoApiUrl };
      case 'signalwire':
        return c;
    }
  }
  let pollersWanted = false;

  async function retire(orgId: string): Promise<void> {
    const old = telegram.get(orgId);
    telegram.delete(orgId);
    if (old?.polling === true) await old.bot.stop();
  }

  /** The org's bot as its row says now (built once per version of the row), or undefined. */
  async function telegramOf(orgId: string): Promise<TelegramEntry | undefined> {
    const loaded = await withTenant(db, orgId, async (tx) => {
      const row = await findOwnChannel(tx, 'telegram');
      if (row === undefined) return undefined;
      const version = versionOf(row);
      const cached = telegram.get(orgId);
      if (cached?.version === version) return { entry: cached };
      return { row, version, secrets: await decryptOwnConfig<OwnTelegramConfig>(keyring, tx, row) };
    });
    if (loaded === undefined) {
      await retire(orgId);
      return undefined;
    }
    if ('entry' in loaded) return loaded.entry;
    await retire(orgId);
    const { row, version, secrets } = loaded;
    const api = createTelegramApi({
      botToken: secrets.bot_token,
      apiRoot: config.orgChannels.telegramApiRoot,
    });
    const entry: TelegramEntry = {
      version,
      routeId: row.routeId,
      adapter: createTelegramChannel({ api, logger: logger.child({ org_id: orgId }) }),
      bot: createTelegramBot({
        api,
        actions: inbound.actionsOf(orgId),
        store: inbound.store,
        replay: inbound.replay,
        clock,
        logger: logger.child({ org_id: orgId }),
        config: {
          botToken: secrets.bot_token,
          mode: config.orgChannels.telegramMode,
          webhookSecret: secrets.webhook_secret,
          publicUrl: config.publicUrl,
          webhookPath: orgTelegramWebhookPath(row.routeId),
        },
      }),
      polling: false,
    };
    telegram.set(orgId, entry);
    if (pollersWanted && config.orgChannels.telegramMode === 'polling') {
      entry.polling = true;
      await entry.bot.start();
    }
    return entry;
  }

  return {
    /** The org's own adapters by channel name (none: the server's configuration applies). */
    async adaptersFor(orgId: string): Promise<Partial<Record<string, ChannelAdapter>>> {
      const [t, p] = await Promise.all([telegramOf(orgId), telephonyOf(orgId)]);
      return {
        ...(t !== undefined && { telegram: t.adapter }),
        ...(p !== undefined && { phone: p.phone, sms: p.sms }),
      };
    },

    /** The org's own account as phone verification sends through it. */
    async telephonyAccountOf(
      orgId: string,
    ): Promise<{ provider: TelephonyProvider; from: string; webhookPath: string } | undefined> {
      const p = await telephonyOf(orgId);
      return p && { provider: p.provider, from: p.from, webhookPath: orgTelephonyWebhookPath(p.routeId) };
    },

    /** The inbound side of the account whose webhook paths carry `routeId`; undefined if none. */
    async telephonyForRoute(
      routeId: string,
    ): Promise<{ provider: TelephonyProvider; calls: CallsService; sms: SmsService } | undefined> {
      if (!/^[A-Za-z0-9_-]{22,64}$/.test(routeId)) return undefined;
      const route = await withApp(db, (tx) => resolveChannelRoute(tx, routeId));
      if (route?.kind !== 'telephony') return undefined;
      const entry = await telephonyOf(route.orgId);
      return entry?.routeId === routeId
        ? { provider: entry.provider, calls: entry.calls, sms: entry.smsInbound }
        : undefined;
    },

    /** The bot whose webhook path carries `routeId`; undefined for an unknown or removed one. */
    async telegramBotForRoute(
      routeId: string,
    ): Promise<Pick<TelegramBot, 'handleUpdate' | 'webhookSecret'> | undefined> {
      if (!/^[A-Za-z0-9_-]{22,64}$/.test(routeId)) return undefined;
      const route = await withApp(db, (tx) => resolveChannelRoute(tx, routeId));
      if (route?.kind !== 'telegram') return undefined;
      const entry = await telegramOf(route.orgId);
      return entry?.routeId === routeId ? entry.bot : undefined;
    },

    /** After a save or removal: the org's bot is rebuilt (or stopped) now, not at its next use. */
    async refresh(orgId: string, kind: OwnChannelKind): Promise<void> {
      if (kind === 'telegram') await telegramOf(orgId);
      else await telephonyOf(orgId);
    },

    /** Polling mode: one poller per org bot, from now on (boot); webhook mode needs none. */
    async startPollers(): Promise<void> {
      pollersWanted = true;
      if (config.orgChannels.telegramMode !== 'polling') return;
      const routes = await withApp(db, (tx) => listChannelRoutes(tx, 'telegram'));
      for (const { orgId } of routes)
        await telegramOf(orgId).catch((err: unknown) =>
          logger.error({ err, org_id: orgId }, "could not start the org's Telegram bot"),
        );
    },

    async stop(): Promise<void> {
      pollersWanted = false;
      await Promise.allSettled([...telegram.keys()].map((orgId) => retire(orgId)));
    },
  };
}

export type OrgChannelsRuntime = ReturnType<typeof createOrgChannelsRuntime>;
