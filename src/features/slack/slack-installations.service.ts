/**
 * Slack installed per organization (docs/channels.md, "Each org its own workspace"). An org's admin
 * installs the server's Slack app in the org's own workspace through Slack's OAuth v2 flow:
 *
 * 1. `startInstall` issues a random state, stored durably as a hash bound to the admin's session,
 *    single use, valid 10 minutes, and answers Slack's authorize URL;
 * 2. Slack sends the browser back to `callbackPath` with `code` and `state`; `completeInstall`
 *    takes the state once (same org, same session, not expired), exchanges the code with
 *    `oauth.v2.access`, checks the bot token with `auth.test`, and stores the installation through
 *    Bolt's InstallationStore interface: the bot token encrypted with the org's data key. A team
 *    already installed in another org is refused and nothing is stored.
 *
 * The same store answers Bolt's `authorize` (a request from a team is routed to the org that
 * installed it, with that org's bot token) and the adapter's sends (an org's messages go out with
 * its own bot token). `app_uninstalled` and `tokens_revoked` delete the installation (audited).
 * Orgs without an installation use the operator's ONY_SLACK_* bot, when there is one.
 */
import { randomBytes } from 'node:crypto';
import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import type { Kysely } from 'kysely';
import { auditEvents, safeLabel, systemActor, type Actor } from '../../core/audit-chain/events.js';
import { withApp, withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { sha256Hex } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { slackErrorOf } from '../../channels/slack/api.js';
import { appendAudit } from '../audit/audit.repository.js';
import type { Principal } from '../auth/principal.js';
import type { Keyring } from '../orgs/keyring.js';
import {
  deleteInstallation,
  getInstallation,
  insertInstallState,
  orgOfTeam,
  putInstallation,
  takeInstallState,
} from './slack.repository.js';

/** What the bot may do in the org's workspace: post and update its messages, pick a channel on install. */
export const SLACK_BOT_SCOPES = ['chat:write', 'chat:write.public', 'incoming-webhook'] as const;
export const INSTALL_STATE_TTL_MS = 10 * 60_000;
export const SLACK_OAUTH_CALLBACK_PATH = '/v1/slack/oauth/callback';
const TOKEN_AAD = 'slack-bot-token';

/** The few Slack calls the install flow makes (oauth.v2.access, auth.test, auth.revoke). */
export interface SlackOAuthApi {
  exchangeCode(args: {
    clientId: string;
    clientSecret: string;
    code: string;
    redirectUri: string;
  }): Promise<SlackOAuthAccess>;
  authTest(token: string): Promise<{ teamId: string; userId: string; botId: string | null }>;
  revoke(token: string): Promise<void>;
}

/** The parts of `oauth.v2.access`'s answer ony keeps. */
export interface SlackOAuthAccess {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly scope: string;
  readonly botUserId: string;
  readonly appId: string | null;
  readonly team: { readonly id: string; readonly name: string } | null;
  readonly enterpriseId: string | null;
  readonly isEnterpriseInstall: boolean;
  readonly installerUserId: string | null;
  readonly channelId: string | null;
}

export interface SlackInstallationsDeps {
  readonly db: Kysely<DB>;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly oauthApi: SlackOAuthApi;
  readonly config: {
    readonly publicUrl: string;
    /** The app's OAuth client; undefined: per-org installs are off. */
    readonly oauth: { readonly clientId: string; readonly clientSecret: string } | undefined;
    /** Slack's authorize page (https://slack.com/oauth/v2/authorize; a fake in tests). */
    readonly authorizeUrl: string;
    /** Whether the operator configured a default bot (ONY_SLACK_BOT_TOKEN). */
    readonly hasDefault: boolean;
  };
}

/** An org's own Slack credentials, decrypted for one use (never kept, never logged). */
export interface OrgSlackCredentials {
  readonly orgId: string;
  readonly teamId: string;
  readonly botToken: string;
  readonly botUserId: string;
  readonly botId: string | null;
  readonly enterpriseId: string | null;
  readonly channelId: string | null;
}

export interface SlackInstallationStatus {
  /** own: the org's own workspace; server: the operator's default bot; none: no Slack for this org. */
  readonly source: 'own' | 'server' | 'none';
  readonly teamId: string | null;
  readonly teamName: string | null;
  readonly channelId: string | null;
  readonly installedAt: Date | null;
  /** Whether this server lets admins install the app (ONY_SLACK_CLIENT_ID/SECRET set). */
  readonly installAvailable: boolean;
}

/** What the install metadata carries from the callback to storeInstallation (ids only). */
interface InstallMetadata {
  readonly org_id: string;
  readonly member_id: string;
}

const TEAM_ID = /^T[A-Z0-9]{2,40}$/;
const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

export const DUPLICATE_TEAM_MESSAGE =
  'this Slack workspace is already connected to another ony organization; a workspace can belong to one organization only (uninstall it there first)';

export function createSlackInstallationsService(deps: SlackInstallationsDeps) {
  const { db, keyring, clock, logger, oauthApi, config } = deps;
  const redirectUri = `${config.publicUrl}${SLACK_OAUTH_CALLBACK_PATH}`;

  async function credentialsOf(orgId: string): Promise<OrgSlackCredentials | undefined> {
    return withTenant(db, orgId, async (tx) => {
      const row = await getInstallation(tx);
      if (row === undefined) return undefined;
      const botToken = (await keyring.decrypt(tx, row.botTokenEnc, TOKEN_AAD)).toString('utf8');
      return {
        orgId,
        teamId: row.teamId,
        botToken,
        botUserId: row.botUserId,
        botId: row.botId,
        enterpriseId: row.enterpriseId,
        channelId: row.channelId,
      };
    });
  }

  async function orgIdOfTeam(teamId: string): Promise<string | undefined> {
    if (!TEAM_ID.test(teamId)) return undefined;
    return withApp(db, (tx) => orgOfTeam(tx, teamId));
  }

  /** Deletes an org's installation with its audit entry, in one transaction. */
  async function remove(
    orgId: string,
    actor: Actor,
    reason: 'admin' | 'app_uninstalled' | 'tokens_revoked',
    only?: (row: { teamId: string; botUserId: string }) => boolean,
  ): Promise<{ teamId: string; botToken: string } | undefined> {
    return withTenant(db, orgId, async (tx) => {
      const row = await getInstallation(tx, { lock: true });
      if (row === undefined) return undefined;
      if (only !== undefined && !only(row)) return undefined;
      const botToken = (await keyring.decrypt(tx, row.botTokenEnc, TOKEN_AAD)).toString('utf8');
      await deleteInstallation(tx);
      await appendAudit(tx, auditEvents.slackUninstalled(actor, { id: row.teamId }, reason), clock.now());
      return { teamId: row.teamId, botToken };
    });
  }

  /** Bolt's InstallationStore, over the encrypted, org-scoped table. */
  const installationStore: InstallationStore = {
    async storeInstallation(installation) {
      const meta = JSON.parse(installation.metadata ?? '{}') as Partial<InstallMetadata>;
      if (typeof meta.org_id !== 'string' || typeof meta.member_id !== 'string')
        throw new Error('a Slack installation must name the org and the admin who installed it');
      const teamId = installation.team?.id;
      const bot = installation.bot;
      if (installation.isEnterpriseInstall === true || teamId === undefined || !TEAM_ID.test(teamId))
        throw new AppError(
          'unprocessable',
          'install the app in one workspace: org-wide (Enterprise Grid) installs are not supported',
        );
      if (bot === undefined) throw new AppError('unprocessable', 'Slack answered without a bot token');
      const orgId = meta.org_id;
      const memberId = meta.member_id;
      const elsewhere = await orgIdOfTeam(teamId);
      if (elsewhere !== undefined && elsewhere !== orgId)
        throw new AppError('conflict', DUPLICATE_TEAM_MESSAGE);
      try {
        await withTenant(db, orgId, async (tx) => {
          const now = clock.now();
          const before = await getInstallation(tx, { lock: true });
          await putInstallation(tx, {
            teamId,
            teamName: safeLabel(installation.team?.name ?? teamId).slice(0, 200),
            enterpriseId: installation.enterprise?.id ?? null,
            appId: installation.appId ?? null,
            botUserId: bot.userId,
            botId: bot.id === '' ? null : bot.id,
            channelId: installation.incomingWebhook?.channelId ?? null,
            scopes: bot.scopes.join(',').slice(0, 2000),
            botTokenEnc: await keyring.encrypt(tx, Buffer.from(bot.token, 'utf8'), TOKEN_AAD),
            installedBy: memberId,
            createdAt: now,
          });
          await appendAudit(
            tx,
            auditEvents.slackInstalled(
              { type: 'member', id: memberId },
              { id: teamId },
              before !== undefined,
            ),
            now,
          );
        });
      } catch (err) {
        // Another org won the race for this team (the global unique index on team_id).
        if (isUniqueViolation(err)) throw new AppError('conflict', DUPLICATE_TEAM_MESSAGE);
        throw err;
      }
    },

    async fetchInstallation(query: InstallationQuery<boolean>): Promise<Installation> {
      const orgId = query.teamId !== undefined ? await orgIdOfTeam(query.teamId) : undefined;
      const c = orgId !== undefined ? await credentialsOf(orgId) : undefined;
      if (c === undefined) throw new Error('no Slack installation for this workspace');
      return {
        team: { id: c.teamId },
        enterprise: c.enterpriseId !== null ? { id: c.enterpriseId } : undefined,
        user: { token: undefined, scopes: undefined, id: '' },
        bot: { token: c.botToken, scopes: [], id: c.botId ?? '', userId: c.botUserId },
        isEnterpriseInstall: false,
        authVersion: 'v2',
        tokenType: 'bot',
      } as Installation;
    },

    async deleteInstallation(query: InstallationQuery<boolean>): Promise<void> {
      const orgId = query.teamId !== undefined ? await orgIdOfTeam(query.teamId) : undefined;
      if (orgId !== undefined) await remove(orgId, systemActor, 'app_uninstalled');
    },
  };

  return {
    installationStore,
    redirectUri,

    /** The org a Slack workspace is routed to, with that org's bot (Bolt's authorize); undefined: none. */
    async routeTeam(teamId: string): Promise<OrgSlackCredentials | undefined> {
      const orgId = await orgIdOfTeam(teamId);
      return orgId !== undefined ? credentialsOf(orgId) : undefined;
    },

    /** The org's own bot, for sends; undefined: the org has no installation (the server default applies). */
    credentialsFor: credentialsOf,

    async status(p: Principal & { kind: 'member' }): Promise<SlackInstallationStatus> {
      const row = await withTenant(db, p.orgId, (tx) => getInstallation(tx));
      const installAvailable = config.oauth !== undefined;
      if (row !== undefined)
        return {
          source: 'own',
          teamId: row.teamId,
          teamName: row.teamName,
          channelId: row.channelId,
          installedAt: row.createdAt,
          installAvailable,
        };
      return {
        source: config.hasDefault ? 'server' : 'none',
        teamId: null,
        teamName: null,
        channelId: null,
        installedAt: null,
        installAvailable,
      };
    },

    /** Starts "Add to Slack": a single-use state bound to this session; answers Slack's authorize URL. */
    async startInstall(p: Principal & { kind: 'member' }): Promise<{ url: string; expiresAt: Date }> {
      const oauth = config.oauth;
      if (oauth === undefined)
        throw new AppError(
          'unprocessable',
          'this server has no Slack app for per-organization installs (the operator sets ONY_SLACK_CLIENT_ID and ONY_SLACK_CLIENT_SECRET)',
        );
      const state = randomBytes(32).toString('base64url');
      const now = clock.now();
      const expiresAt = new Date(now.getTime() + INSTALL_STATE_TTL_MS);
      await withTenant(db, p.orgId, (tx) =>
        insertInstallState(tx, {
          stateSha256: sha256Hex(state),
          sessionSha256: sha256Hex(p.sessionId),
          memberId: p.memberId,
          at: now,
          expiresAt,
        }),
      );
      const url = new URL(config.authorizeUrl);
      url.searchParams.set('client_id', oauth.clientId);
      url.searchParams.set('scope', SLACK_BOT_SCOPES.join(','));
      url.searchParams.set('user_scope', '');
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('state', state);
      return { url: url.toString(), expiresAt };
    },

    /**
     * Slack's redirect back, in the admin's browser: the state must be this session's, unused and
     * fresh; the code is exchanged, the token checked, and the installation stored. Any failure
     * stores nothing and says why (never a token).
     */
    async completeInstall(
      p: Principal & { kind: 'member' },
      q: { code?: string | undefined; state?: string | undefined; error?: string | undefined },
    ): Promise<SlackInstallationStatus> {
      const oauth = config.oauth;
      if (oauth === undefined) throw new AppError('not_found', 'per-organization Slack installs are off');
      if (q.state === undefined || !/^[A-Za-z0-9_-]{20,100}$/.test(q.state))
        throw new AppError(
          'bad_request',
          'the install link lacks its state; start again from the channels page',
        );
      const now = clock.now();
      const taken = await withTenant(db, p.orgId, (tx) => takeInstallState(tx, sha256Hex(q.state!), now));
      if (taken === undefined)
        throw new AppError(
          'forbidden',
          'this install link is unknown, was already used, or belongs to another organization; start again from the channels page',
        );
      if (taken.sessionSha256 !== sha256Hex(p.sessionId) || taken.memberId !== p.memberId)
        throw new AppError(
          'forbidden',
          'this install link was started in another session; start again from the channels page',
        );
      if (taken.expiresAt.getTime() <= now.getTime())
        throw new AppError(
          'gone',
          'this install link expired (10 minutes); start again from the channels page',
        );
      if (q.error !== undefined)
        throw new AppError(
          'unprocessable',
          `Slack did not install the app (${q.error.slice(0, 60)}); nothing was stored`,
        );
      if (q.code === undefined || q.code.length === 0 || q.code.length > 500)
        throw new AppError('bad_request', 'Slack sent no code; start again from the channels page');
      let access: SlackOAuthAccess;
      try {
        access = await oauthApi.exchangeCode({
          clientId: oauth.clientId,
          clientSecret: oauth.clientSecret,
          code: q.code,
          redirectUri,
        });
      } catch (err) {
        const why = slackErrorOf(err);
        logger.warn({ channel: 'slack', error: why }, 'slack oauth.v2.access failed');
        throw new AppError(
          'unprocessable',
          `Slack refused the install code (oauth.v2.access: ${why}); nothing was stored, start again`,
        );
      }
      if (access.tokenType !== 'bot' || access.team === null || access.isEnterpriseInstall)
        throw new AppError(
          'unprocessable',
          'Slack answered without a bot token for one workspace (org-wide installs are not supported); nothing was stored',
        );
      let me: { teamId: string; userId: string; botId: string | null };
      try {
        me = await oauthApi.authTest(access.accessToken);
      } catch (err) {
        const why = slackErrorOf(err);
        logger.warn({ channel: 'slack', error: why }, 'slack auth.test of a new installation failed');
        throw new AppError(
          'unprocessable',
          `Slack refused the new bot token (auth.test: ${why}); nothing was stored, start again`,
        );
      }
      if (me.teamId !== access.team.id)
        throw new AppError(
          'unprocessable',
          'the new bot token belongs to another workspace than the install; nothing was stored',
        );
      const metadata: InstallMetadata = { org_id: p.orgId, member_id: p.memberId };
      await installationStore.storeInstallation({
        team: { id: access.team.id, name: access.team.name },
        enterprise: access.enterpriseId !== null ? { id: access.enterpriseId } : undefined,
        user: { token: undefined, scopes: undefined, id: access.installerUserId ?? '' },
        bot: {
          token: access.accessToken,
          scopes: access.scope.split(',').filter((s) => s !== ''),
          id: me.botId ?? '',
          userId: access.botUserId,
        },
        ...(access.channelId !== null && {
          incomingWebhook: { url: '', channelId: access.channelId },
        }),
        ...(access.appId !== null && { appId: access.appId }),
        tokenType: 'bot',
        isEnterpriseInstall: false,
        authVersion: 'v2',
        metadata: JSON.stringify(metadata),
      });
      logger.info({ channel: 'slack', org_id: p.orgId, team_id: access.team.id }, 'slack app installed');
      return this.status(p);
    },

    /** The admin removes the org's installation (and revokes its token); the server default applies again. */
    async uninstall(p: Principal & { kind: 'member' }): Promise<void> {
      const removed = await remove(p.orgId, { type: 'member', id: p.memberId }, 'admin');
      if (removed === undefined)
        throw new AppError('not_found', 'this organization has no Slack installation');
      try {
        await oauthApi.revoke(removed.botToken);
      } catch (err) {
        // Removed here whatever Slack says: the token is gone from ony either way.
        logger.warn({ channel: 'slack', error: slackErrorOf(err) }, 'slack auth.revoke failed');
      }
    },

    /**
     * Slack's own word that the installation ended (`app_uninstalled`, or `tokens_revoked` naming
     * the bot user): the installation of that team is deleted, audited as the system.
     */
    async removedBySlack(
      teamId: string,
      reason: 'app_uninstalled' | 'tokens_revoked',
      botUserIds?: readonly string[],
    ): Promise<boolean> {
      const orgId = await orgIdOfTeam(teamId);
      if (orgId === undefined) return false;
      const removed = await remove(
        orgId,
        systemActor,
        reason,
        botUserIds !== undefined
          ? (row) => row.teamId === teamId && botUserIds.includes(row.botUserId)
          : undefined,
      );
      if (removed !== undefined)
        logger.info(
          { channel: 'slack', org_id: orgId, team_id: teamId, reason },
          'slack installation removed',
        );
      return removed !== undefined;
    },
  };
}

export type SlackInstallationsService = ReturnType<typeof createSlackInstallationsService>;
