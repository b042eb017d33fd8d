/**
 * The running side of each org's own Telegram bot (docs/channels.md): the adapter that sends with
 * the org's bot token, and the bot that takes the org's updates on its own webhook path
 * (/webhooks/telegram/o/<route id>, with its own secret token) or, in polling mode, its own poller.
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
import type { OrgChannelsConfig } from '../../config/index.js';
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
    readonly store: Pick<EphemeralStore, 'get' | 'set' | 'take' | 'del'>;
    readonly replay: ReplayGuard;
    readonly actionsOf: (orgId: string) => ChannelActions;
  };
  readonly config: { readonly publicUrl: string; readonly orgChannels: OrgChannelsConfig };
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
      // The blob itself: a re-encryption (`ony keys rotate --data`) is read again, too.
      const version = `${row.id}:${createHash('sha256').update(row.configEnc).digest('base64url')}`;
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
      const t = await telegramOf(orgId);
      return t !== undefined ? { telegram: t.adapter } : {};
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
