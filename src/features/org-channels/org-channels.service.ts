/**
 * An org's own Telegram bot and telephony account (issue #24 part 2, docs/channels.md): an admin
 * sets, replaces or removes them; each is checked against the provider before anything is stored
 * (Telegram getMe, then setWebhook in webhook mode; the telephony provider's account endpoint), and
 * stored encrypted with the org's data key. The credentials are write-only: no answer carries them,
 * no log line names them, the audit chain records only the kind and the provider.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { TelegramError } from 'telegraf';
import { ALLOWED_UPDATES } from '../../channels/telegram/bot.js';
import { createTelegramApi } from '../../channels/telegram/client.js';
import { createTelephonyProvider } from '../../channels/telephony/index.js';
import { TELEPHONY_PROVIDERS, type TelephonyProviderName } from '../../channels/telephony/provider.js';
import type { OrgChannelsConfig } from '../../config/index.js';
import type { TelephonyProviderConfig } from '../../config/telephony.js';
import { auditEvents } from '../../core/audit-chain/events.js';
import { withTenant, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { maskPhone } from '../../lib/phone.js';
import { appendAudit } from '../audit/audit.repository.js';
import { actorOf, type Principal } from '../auth/principal.js';
import type { Keyring } from '../orgs/keyring.js';
import {
  accountTakenElsewhere,
  deleteOwnChannel,
  findOwnChannel,
  saveOwnChannel,
  type OwnChannelKind,
} from './org-channels.repository.js';
import {
  credentialsAad,
  orgTelegramWebhookPath,
  orgTelephonyWebhookPath,
  type OrgChannelsRuntime,
  type OwnTelegramConfig,
  type OwnTelephonyConfig,
} from './org-channels.runtime.js';

type Admin = Principal & { kind: 'member' };

/** What the channel page shows: which configuration the org uses, never a credential. */
export interface OwnChannelsView {
  readonly telegram: {
    readonly source: 'own' | 'server' | 'none';
    readonly bot_username: string | null;
    readonly mode: 'webhook' | 'polling';
    readonly webhook_url: string | null;
    readonly updated_at: string | null;
  };
  readonly telephony: {
    readonly source: 'own' | 'server' | 'none';
    readonly provider: string | null;
    readonly from_masked: string | null;
    /** Where the number's inbound SMS webhook must point (own account only). */
    readonly sms_webhook_url: string | null;
    readonly updated_at: string | null;
  };
}

export interface TelephonyCredentialsInput {
  readonly provider: string;
  readonly from: string;
  readonly account_sid?: string | undefined;
  readonly auth_token?: string | undefined;
  readonly auth_id?: string | undefined;
  readonly project_id?: string | undefined;
  readonly api_token?: string | undefined;
  readonly space?: string | undefined;
  readonly signing_key?: string | undefined;
  readonly api_key?: string | undefined;
  readonly public_key?: string | undefined;
  readonly texml_app_id?: string | undefined;
  readonly messaging_profile_id?: string | undefined;
}

export interface OrgChannelsDeps {
  readonly db: Kysely<DB>;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly runtime: Pick<OrgChannelsRuntime, 'refresh'>;
  readonly config: {
    readonly publicUrl: string;
    readonly orgChannels: OrgChannelsConfig;
    /** Whether the operator configured a server-wide bot / account (the fallback). */
    readonly serverTelegram: boolean;
    readonly serverTelephony: boolean;
  };
}

const BOT_TOKEN_RE = /^\d{1,20}:[A-Za-z0-9_-]{10,100}$/;
const E164 = /^\+[1-9]\d{6,14}$/;

/** A rejected credential: 422 naming the check that failed, never echoing what was sent. */
const rejected = (check: string, detail: string) => new AppError('unprocessable', detail, { check });

/** The hashed identity of a bot or account (never the credential itself). */
const accountKeyOf = (kind: OwnChannelKind, account: string): string =>
  createHash('sha256').update(`ony channel account v1:${kind}:${account}`).digest('hex');

/** The public account id a provider config names (a Telnyx API key is secret: only its hash is kept). */
function accountIdOf(c: TelephonyProviderConfig): string {
  switch (c.name) {
    case 'twilio':
      return `twilio:${c.accountSid.toUpperCase()}`;
    case 'signalwire':
      return `signalwire:${c.projectId.toLowerCase()}`;
    case 'telnyx':
      return `telnyx:${c.apiKey}`;
    case 'plivo':
      return `plivo:${c.authId}`;
  }
}

function telegramFailure(err: unknown): string {
  if (err instanceof TelegramError) return `${err.code} ${err.description.slice(0, 120)}`;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'no answer';
}

export function createOrgChannelsService({ db, keyring, clock, runtime, config }: OrgChannelsDeps) {
  const oc = config.orgChannels;

  async function save(
    tx: TenantTx,
    kind: OwnChannelKind,
    existing: { id: string; routeId: string } | undefined,
    routeId: string,
    accountKey: string,
    secrets: object,
    summary: Record<string, string>,
  ): Promise<void> {
    const id = existing?.id ?? randomUUID();
    const configEnc = await keyring.encrypt(
      tx,
      Buffer.from(JSON.stringify(secrets), 'utf8'),
      credentialsAad(id),
    );
    try {
      await saveOwnChannel(tx, {
        id,
        kind,
        routeId: existing?.routeId ?? routeId,
        accountKey,
        configEnc,
        summary,
        now: clock.now(),
        exists: existing !== undefined,
      });
    } catch (err) {
      // Two saves at the same moment (this org's twice, or the same account in two orgs): the
      // unique indexes keep one; the other is a conflict, not a 500.
      if ((err as { code?: string }).code === '23505')
        throw new AppError(
          'conflict',
          'this account was connected at the same moment by another save (here or in another organization); reload and try again',
        );
      throw err;
    }
  }

  /** The org's row of `kind`, if any; 409 when another org already connected this account. */
  const existingOf = (p: Admin, kind: OwnChannelKind, accountKey: string) =>
    withTenant(db, p.orgId, async (tx) => {
      if (await accountTakenElsewhere(tx, accountKey))
        throw new AppError(
          'conflict',
          kind === 'telegram'
            ? 'this bot is already connected to another organization on this server; create a bot of your own with @BotFather'
            : 'this provider account is already connected to another organization on this server',
        );
      const row = await findOwnChannel(tx, kind);
      return row && { id: row.id, routeId: row.routeId };
    });

  function providerConfig(input: TelephonyCredentialsInput): TelephonyProviderConfig {
    const need = (field: keyof TelephonyCredentialsInput, re: RegExp, what: string): string => {
      const v = input[field]?.trim();
      if (v === undefined || v === '' || !re.test(v))
        throw new AppError(
          'validation_failed',
          `${field} is required with provider ${input.provider} (${what})`,
          {
            field,
          },
        );
      return v;
    };
    const any = /^\S{1,200}$/;
    switch (input.provider as TelephonyProviderName) {
      case 'twilio':
        return {
          name: 'twilio',
          accountSid: need('account_sid', /^AC[0-9a-f]{32}$/i, 'AC followed by 32 hex digits'),
          authToken: need('auth_token', any, 'from the Twilio console'),
          apiUrl: oc.twilioApiUrl,
        };
      case 'signalwire':
        return {
          name: 'signalwire',
          projectId: need(
            'project_id',
            /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i,
            'the project id, a UUID',
          ),
          apiToken: need('api_token', any, 'an API token of the project'),
          // Only the space's name: the server reaches <space>.signalwire.com, never an address of the org's choosing.
          spaceUrl: `https://${need('space', /^[a-z0-9][a-z0-9-]{0,62}$/, 'the <space> of <space>.signalwire.com')}.signalwire.com`,
          signingKey: need('signing_key', any, 'API > Signing Key'),
        };
      case 'telnyx': {
        const publicKey = need('public_key', /^[A-Za-z0-9+/]{43}=$/, 'the base64 Ed25519 public key');
        return {
          name: 'telnyx',
          apiKey: need('api_key', any, 'KEY…, from the Telnyx portal'),
          publicKey,
          texmlAppId: need('texml_app_id', any, 'the TeXML application that places the calls'),
          messagingProfileId: input.messaging_profile_id?.trim() || undefined,
          apiUrl: oc.telnyxApiUrl,
        };
      }
      case 'plivo':
        return {
          name: 'plivo',
          authId: need('auth_id', /^[A-Z0-9]{10,40}$/, 'MA… or SA…, from the Plivo console'),
          authToken: need('auth_token', any, 'from the Plivo console'),
          apiUrl: oc.plivoApiUrl,
        };
      default:
        throw new AppError('validation_failed', `provider must be one of ${TELEPHONY_PROVIDERS.join(', ')}`, {
          field: 'provider',
        });
    }
  }

  return {
    async view(p: Admin): Promise<OwnChannelsView> {
      const rows = await withTenant(db, p.orgId, async (tx) => ({
        telegram: await findOwnChannel(tx, 'telegram'),
        telephony: await findOwnChannel(tx, 'telephony'),
      }));
      const fallback = (server: boolean) => (server ? ('server' as const) : ('none' as const));
      return {
        telegram: {
          source: rows.telegram !== undefined ? 'own' : fallback(config.serverTelegram),
          bot_username: rows.telegram?.summary.bot_username ?? null,
          mode: oc.telegramMode,
          webhook_url:
            rows.telegram !== undefined && oc.telegramMode === 'webhook'
              ? `${config.publicUrl}${orgTelegramWebhookPath(rows.telegram.routeId)}`
              : null,
          updated_at: rows.telegram?.updatedAt.toISOString() ?? null,
        },
        telephony: {
          source: rows.telephony !== undefined ? 'own' : fallback(config.serverTelephony),
          provider: rows.telephony?.summary.provider ?? null,
          from_masked: rows.telephony?.summary.from_masked ?? null,
          sms_webhook_url:
            rows.telephony !== undefined
              ? `${config.publicUrl}${orgTelephonyWebhookPath(rows.telephony.routeId)}/sms`
              : null,
          updated_at: rows.telephony?.updatedAt.toISOString() ?? null,
        },
      };
    },

    /**
     * Sets (or replaces) the org's bot: getMe must answer for the token; in webhook mode the bot's
     * webhook is then set to the org's own path with a fresh secret token. Only then is it stored.
     */
    async setTelegram(p: Admin, botToken: string): Promise<void> {
      const token = botToken.trim();
      if (!BOT_TOKEN_RE.test(token))
        throw new AppError(
          'validation_failed',
          'bot_token must be the token @BotFather gave you, like 123456789:AAH…',
          {
            field: 'bot_token',
          },
        );
      // Before anything reaches Telegram: another org's bot is refused (its webhook stays its own).
      const accountKey = accountKeyOf('telegram', token.split(':')[0]!);
      const existing = await existingOf(p, 'telegram', accountKey);
      const api = createTelegramApi({ botToken: token, apiRoot: oc.telegramApiRoot });
      let username: string;
      try {
        const me = await api.call('getMe', {}, { retry: false, timeoutMs: 10_000 });
        username = me.username;
      } catch (err) {
        throw rejected(
          'telegram_get_me',
          `Telegram did not accept the bot token (getMe: ${telegramFailure(err)})`,
        );
      }
      const routeId = existing?.routeId ?? randomBytes(16).toString('base64url');
      const secret: OwnTelegramConfig = {
        bot_token: token,
        webhook_secret: randomBytes(32).toString('base64url'),
      };
      if (oc.telegramMode === 'webhook') {
        try {
          await api.call(
            'setWebhook',
            {
              url: `${config.publicUrl}${orgTelegramWebhookPath(routeId)}`,
              secret_token: secret.webhook_secret,
              allowed_updates: [...ALLOWED_UPDATES],
              max_connections: 10,
            },
            { retry: false, timeoutMs: 10_000 },
          );
        } catch (err) {
          throw rejected(
            'telegram_set_webhook',
            `Telegram refused the webhook (setWebhook: ${telegramFailure(err)})`,
          );
        }
      }
      await withTenant(db, p.orgId, async (tx) => {
        await save(tx, 'telegram', existing, routeId, accountKey, secret, { bot_username: username });
        await appendAudit(
          tx,
          auditEvents.channelCredentialsSet(actorOf(p), p.orgId, {
            kind: 'telegram',
            provider: 'telegram',
            created: existing === undefined,
          }),
          clock.now(),
        );
      });
      await runtime.refresh(p.orgId, 'telegram');
    },

    async setTelephony(p: Admin, input: TelephonyCredentialsInput): Promise<void> {
      const from = input.from.trim();
      if (!E164.test(from))
        throw new AppError(
          'validation_failed',
          'from must be your provider number in E.164 form, e.g. +14155550100',
          {
            field: 'from',
          },
        );
      const provider = providerConfig(input);
      const accountKey = accountKeyOf('telephony', accountIdOf(provider));
      const existing = await existingOf(p, 'telephony', accountKey);
      const health = await createTelephonyProvider(provider).health();
      if (!health.ok)
        throw rejected(
          `${provider.name}_account`,
          `${provider.name} did not accept the credentials (account check: ${health.detail.slice(0, 120)})`,
        );
      const secrets: OwnTelephonyConfig = { provider, from };
      await withTenant(db, p.orgId, async (tx) => {
        await save(tx, 'telephony', existing, randomBytes(16).toString('base64url'), accountKey, secrets, {
          provider: provider.name,
          from_masked: maskPhone(from),
        });
        await appendAudit(
          tx,
          auditEvents.channelCredentialsSet(actorOf(p), p.orgId, {
            kind: 'telephony',
            provider: provider.name,
            created: existing === undefined,
          }),
          clock.now(),
        );
      });
      await runtime.refresh(p.orgId, 'telephony');
    },

    async remove(p: Admin, kind: OwnChannelKind): Promise<void> {
      await withTenant(db, p.orgId, async (tx) => {
        if (!(await deleteOwnChannel(tx, kind)))
          throw new AppError('not_found', `this organization has no own ${kind} credentials`);
        await appendAudit(tx, auditEvents.channelCredentialsRemoved(actorOf(p), p.orgId, kind), clock.now());
      });
      await runtime.refresh(p.orgId, kind);
    },
  };
}

export type OrgChannelsService = ReturnType<typeof createOrgChannelsService>;
