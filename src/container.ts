/**
 * The one composition root: config in, everything built once and handed down as deps. HTTP,
 * CLI commands and (later) workers get the same services.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createECDH, hkdfSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from './config/index.js';
import {
  assertAppRoleIsConfined,
  connectPostgres,
  openPglite,
  probeDatabase,
  readLoginRights,
  type Database,
} from './db/client.js';
import { grantRuntime, loadMigrations, migrate, pendingMigrations, type Migration } from './db/migrator.js';
import { createReadiness, pendingMessage } from './features/readiness/readiness.js';
import { signingKeyFromSeed } from './core/audit-chain/checkpoint.js';
import { createAuditService, type AuditKeyConfig } from './features/audit/audit.service.js';
import { createWitnesses } from './features/audit/witness-clients.js';
import {
  createWitnessService,
  enqueueWitnessPushes,
  WITNESS_JOBS,
} from './features/audit/witness.service.js';
import { createAuthService } from './features/auth/auth.service.js';
import { createPasskeysService } from './features/passkeys/passkeys.service.js';
import { createLoginThrottle } from './features/auth/login-throttle.js';
import { createRevocation } from './features/auth/revocation.js';
import { createDevicesService } from './features/devices/devices.service.js';
import { createChannels } from './channels/registry.js';
import { createTelephonyProvider } from './channels/telephony/index.js';
import { createVoiceAgent } from './channels/telephony/voice-agent.js';
import { createCallRecordsService } from './features/telephony/call-records.service.js';
import { createCallsService } from './features/telephony/calls.service.js';
import { createPhoneVerificationService } from './features/telephony/phone-verification.service.js';
import { createSmsService } from './features/telephony/sms.service.js';
import { createSlackOAuthApi } from './channels/slack/api.js';
import { createSlackBolt } from './channels/slack/bolt.js';
import { slackAuthorizeUrl } from './channels/slack/index.js';
import { createSlackInteractions } from './channels/slack/interactions.js';
import { createSlackInstallationsService } from './features/slack/slack-installations.service.js';
import { createTelegramBot } from './channels/telegram/bot.js';
import { createTelegramApi } from './channels/telegram/client.js';
import { createChannelsService } from './features/channels/channels.service.js';
import { createChannelsAdminService } from './features/channels/channels-admin.service.js';
import { createEscalationService } from './features/handoffs/escalation.service.js';
import { createSummarizer } from './features/handoffs/summarizer.client.js';
import { createPushChannel, type VapidKeys } from './channels/push/adapter.js';
import { createPushService } from './features/push/push.service.js';
import { createOrgChannelsRuntime } from './features/org-channels/org-channels.runtime.js';
import { createOrgChannelsService } from './features/org-channels/org-channels.service.js';
import { createBatchDecisionService } from './features/handoffs/batch.service.js';
import { createHandoffsService, JOBS } from './features/handoffs/handoffs.service.js';
import { createPoliciesService } from './features/policies/policies.service.js';
import { createRiskPool } from './features/risk/risk-pool.js';
import { createClaudeCodeService } from './features/integrations/claude-code.service.js';
import { createExportService, EXPORT_JOBS } from './features/export/export.service.js';
import { createJobQueue, type JobQueue } from './jobs/queue.js';
import { createMembersService } from './features/members/members.service.js';
import { createMetrics } from './features/metrics/metrics.js';
import { createKeyring } from './features/orgs/keyring.js';
import { createSetupService } from './features/setup/setup.service.js';
import { erasureLedger } from './features/backup/erasure-ledger-config.js';
import { createErasureService, ERASURE_JOBS } from './features/erasure/erasure.service.js';
import { createKeysService } from './features/keys/keys.service.js';
import { createRetentionService, RETENTION_JOBS } from './features/retention/retention.service.js';
import { createInsightsService, INSIGHTS_JOBS } from './features/insights/insights.service.js';
import { createSmtpTransport } from './channels/email/transport.js';
import { createAccountMailService } from './features/mail/account-mail.service.js';
import { createMailNotices } from './features/mail/mail.notices.js';
import { createMailService, MAIL_JOBS } from './features/mail/mail.service.js';
import { createOidcClient } from './features/sso/oidc-client.js';
import { createSsoConfigService } from './features/sso/sso-config.service.js';
import { createSsoService } from './features/sso/sso.service.js';
import { systemClock, type Clock } from './lib/clock.js';
import { masterKeyFrom, masterKeysFrom, type MasterKey } from './lib/crypto.js';
import { createLogger, type Logger } from './lib/logger.js';
import { createMemoryStore, createRedisStore, type EphemeralStore } from './state/store.js';
import { createReplayGuard } from './features/replay/replay-guard.js';
import { nextSmsReplyCode } from './features/telephony/telephony.repository.js';

export interface ContainerOptions {
  /** An already-open database (the CLI's migrate, tests' fresh databases). */
  readonly database?: Database;
  /**
   * The owner credential's database, for the operator commands that need owner rights (`ony keys
   * rotate`, `ony org erase --now`); the caller closes it. Default: the runtime database (embedded
   * mode, or a privileged login allowed by ONY_ALLOW_PRIVILEGED_DB_LOGIN).
   */
  readonly ownerDatabase?: Database;
  readonly store?: EphemeralStore;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Skip the start-up migration even in embedded mode. */
  readonly skipMigrations?: boolean;
  /** How often idle job workers poll (seconds); tests poll faster. */
  readonly jobPollingSeconds?: number;
}

/** Embedded mode without ONY_MASTER_KEY: a key file beside the data, created once with mode 0600. */
async function resolveMasterKey(config: Config, logger: Logger): Promise<MasterKey> {
  if (config.masterKey !== undefined) return masterKeyFrom(config.masterKey);
  const file = join(config.dataDir, 'master.key');
  try {
    return masterKeyFrom(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(config.dataDir, { recursive: true });
  const key = randomBytes(32);
  await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  logger.warn(
    { file },
    'created a master key for embedded mode; back it up with ./data, or set ONY_MASTER_KEY',
  );
  return masterKeyFrom(key);
}

/**
 * The checkpoint signing key: configured, or derived from the master key (one secret to keep). Its
 * name is ONY_AUDIT_KEY_NAME or the one stored with the key on first use, never the listen address.
 */
function resolveSigningKey(config: Config, master: MasterKey): AuditKeyConfig {
  const seed =
    config.audit.signingSeed ??
    Buffer.from(hkdfSync('sha256', master.key, Buffer.alloc(0), 'ony audit checkpoint signing key v1', 32));
  const { privateKey, publicKey } = signingKeyFromSeed('unnamed', seed);
  return { privateKey, publicKey, name: config.audit.keyName, defaultName: config.audit.defaultKeyName };
}

/**
 * The VAPID key pair of Web Push (docs/notifications.md): configured, or derived from the master key
 * like the checkpoint signing key (one secret to keep, the same on every replica). Browsers subscribe
 * with its public key, so changing it (a new first master key without ONY_PUSH_VAPID_PRIVATE_KEY)
 * ends every subscription; the dashboard subscribes again on its next visit.
 */
export function resolveVapidKeys(config: Config, master: MasterKey): VapidKeys {
  const privateKey =
    config.push.vapidPrivateKey ??
    Buffer.from(hkdfSync('sha256', master.key, Buffer.alloc(0), 'ony web push vapid key v1', 32));
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(privateKey);
  return {
    subject: config.push.subject,
    publicKey: ecdh.getPublicKey().toString('base64url'),
    privateKey: privateKey.toString('base64url'),
  };
}

export async function openDatabase(config: Config, logger?: Logger): Promise<Database> {
  if (config.databaseUrl !== undefined) {
    return connectPostgres(config.databaseUrl, 10, (err) =>
      logger?.warn({ err }, 'idle database connection lost'),
    );
  }
  await mkdir(config.dataDir, { recursive: true });
  return openPglite(join(config.dataDir, 'pglite'));
}

/**
 * Migrates with the owner credential: ONY_MIGRATE_DATABASE_URL (then grants the runtime login its
 * rights and closes that pool), or the runtime database itself (embedded mode, single login).
 */
async function migrateAtStart(config: Config, database: Database, logger: Logger): Promise<void> {
  if (config.migrateDatabaseUrl === undefined) {
    const applied = await migrate(database.db);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    return;
  }
  const owner = connectPostgres(config.migrateDatabaseUrl, 1);
  try {
    await probeDatabase(owner, config.migrateDatabaseUrl, 'ONY_MIGRATE_DATABASE_URL');
    const applied = await migrate(owner.db);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied with ONY_MIGRATE_DATABASE_URL');
    const { login, privileges } = await readLoginRights(database.db);
    // A privileged runtime login is refused (or allowed) below; granting it changes nothing.
    if (privileges.length === 0) await grantRuntime(owner.db, login);
  } finally {
    await owner.close();
  }
}

/** The database must hold every migration this code expects: refuse to serve an older schema. */
async function assertMigrated(database: Database, migrations: readonly Migration[]): Promise<void> {
  const pending = await pendingMigrations(database.db, migrations);
  if (pending.length > 0)
    throw new Error(
      `refusing to start: the database lacks this version's migrations (apply them with the owner ` +
        `credential, or set ONY_MIGRATE_DATABASE_URL and ony serve applies them; docs/deploy.md): ` +
        pendingMessage(pending),
    );
}

/**
 * DESIGN.md §3 invariant 11: the serving login cannot become the owner. Embedded PGlite has one
 * (superuser) login and no network: nothing to confine, so no check there.
 */
async function checkRuntimeLogin(config: Config, database: Database, logger: Logger): Promise<void> {
  if (database.kind !== 'postgres') return;
  const { login, privileges, canUseAppRole } = await readLoginRights(database.db);
  if (privileges.length > 0) {
    const what = `the database login "${login}" (DATABASE_URL) ${privileges.join('; ')}`;
    if (!config.allowPrivilegedDbLogin) {
      throw new Error(
        `refusing to start: ${what}. A leaked runtime credential (or an SQL injection) could then rewrite ` +
          `the audit chain. Serve with a confined login: create one (CREATE ROLE ony_runtime LOGIN PASSWORD '…'), ` +
          `give it its rights with \`ony migrate --grant-runtime ony_runtime\` run with the owner credential ` +
          `(or set ONY_MIGRATE_DATABASE_URL to the owner credential and ony serve does both), and set DATABASE_URL ` +
          `to it. See docs/deploy.md. A single-user set-up may set ONY_ALLOW_PRIVILEGED_DB_LOGIN=1 instead.`,
      );
    }
    logger.warn(
      { login, privileges },
      `ONY_ALLOW_PRIVILEGED_DB_LOGIN is set: serving on a privileged database login. ${what}; ` +
        `anyone who gets this credential can rewrite the audit chain. Use a confined login (docs/deploy.md).`,
    );
  } else if (!canUseAppRole) {
    throw new Error(
      `refusing to start: the database login "${login}" (DATABASE_URL) is not a member of the app role ony_app; ` +
        `run \`ony migrate --grant-runtime ${login}\` with the owner credential (docs/deploy.md)`,
    );
  }
}

export async function createContainer(config: Config, options: ContainerOptions = {}) {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const database = options.database ?? (await openDatabase(config, logger));
  const migrations = await loadMigrations();
  let store = options.store;
  try {
    if (options.database === undefined && config.databaseUrl !== undefined)
      await probeDatabase(database, config.databaseUrl, 'DATABASE_URL');
    store ??=
      config.redisUrl !== undefined
        ? await createRedisStore(config.redisUrl, undefined, logger)
        : createMemoryStore();
    if (config.migrateOnStart && options.skipMigrations !== true)
      await migrateAtStart(config, database, logger);
    await assertMigrated(database, migrations);
    await checkRuntimeLogin(config, database, logger);
    await assertAppRoleIsConfined(database.db);
  } catch (err) {
    await Promise.allSettled([database.close(), store?.close()]);
    throw err;
  }
  const masterKey = await resolveMasterKey(config, logger);
  // ONY_MASTER_KEYS: the newest wraps, older ones only unwrap until `ony keys rotate` (docs/keys.md).
  const masterKeys = masterKeysFrom(config.masterKeys.length > 0 ? config.masterKeys : [masterKey]);
  const keyring = createKeyring(masterKeys);
  const db = database.db;
  const readiness = createReadiness({ database, store, clock, logger, migrations });
  const ownerDb = (options.ownerDatabase ?? database).db;
  // Prometheus counters (docs/privacy.md): closed-enum labels only; exposed only when configured.
  const metrics = createMetrics({
    queues: [JOBS, MAIL_JOBS, EXPORT_JOBS, ERASURE_JOBS, RETENTION_JOBS, WITNESS_JOBS, INSIGHTS_JOBS].flatMap(
      (q) => Object.values(q),
    ),
  });
  const jobs: JobQueue = await createJobQueue({
    database,
    logger,
    onFailure: metrics.jobFailed,
    ...(options.jobPollingSeconds !== undefined && { pollingIntervalSeconds: options.jobPollingSeconds }),
  });
  // Mail (docs/mail.md): off without ONY_SMTP_URL.
  const mailTransport = config.mail !== undefined ? createSmtpTransport(config.mail) : undefined;
  const mail = createMailService({
    db,
    jobs,
    keyring,
    clock,
    logger,
    transport: mailTransport,
    config: config.mail ?? { retryLimit: 0, retryDelaySeconds: 1 },
  });
  const mailNotices = createMailNotices({ outbox: mail.outbox, config: { publicUrl: config.publicUrl } });
  // Revocation closes open streams and long-polls on every replica (issue #18 item 3.1).
  const revocation = createRevocation({ db, store, clock, logger });
  const loginThrottle = createLoginThrottle({ store, clock, config });
  const accountMail = createAccountMailService({
    db,
    store,
    jobs,
    clock,
    logger,
    mail: { outbox: mail.outbox, notices: mailNotices },
    config: { publicUrl: config.publicUrl },
    revocation,
    loginThrottle,
  });
  // Passkeys (WebAuthn): a sign-in second factor and a decision step-up (docs/passkeys.md).
  const passkeys = createPasskeysService({ db, clock, config });
  const auth = createAuthService({
    db,
    keyring,
    config,
    clock,
    notices: mailNotices,
    revocation,
    loginThrottle,
    passkeys,
  });
  const members = createMembersService({ db, config, clock, auth, notices: mailNotices, revocation });
  // Payload retention (docs/privacy.md): the admin setting, the daily sweep and `ony retention run`.
  const retention = createRetentionService({ db, clock, logger, jobs });
  // Approval-fatigue insights (docs/insights.md): GET /v1/admin/insights.
  const insights = createInsightsService({ db, clock, logger, jobs });
  const devices = createDevicesService({ db, clock, keyring, revocation });
  const setup = createSetupService({ db, keyring, clock, auth });
  const oidc = createOidcClient({ clock });
  // Single sign-on (docs/sso.md): the admin's configuration, and signing in through the provider.
  const ssoConfig = createSsoConfigService({ db, keyring, clock, config, oidc, logger });
  const sso = createSsoService({
    db,
    store,
    keyring,
    clock,
    config,
    auth,
    notices: mailNotices,
    oidc,
    logger,
  });
  // Witnesses outside the database (docs/audit.md): each stored checkpoint is pushed to them.
  const witnessConfig = config.audit.witness;
  const witnessClients = await createWitnesses(witnessConfig);
  const witnessKinds = witnessClients.map((w) => w.kind);
  const audit = createAuditService({
    db,
    clock,
    signing: resolveSigningKey(config, masterKey),
    publish:
      witnessKinds.length > 0
        ? (tx, seq) => enqueueWitnessPushes(jobs, witnessKinds, witnessConfig, tx, seq)
        : undefined,
  });
  const witness = createWitnessService({
    db,
    clock,
    jobs,
    audit,
    witnesses: witnessClients,
    logger,
    metrics,
    config: witnessConfig,
  });
  const erasure = createErasureService({
    db,
    ownerDb,
    clock,
    jobs,
    keyring,
    auth,
    notices: mailNotices,
    ledger: await erasureLedger(config),
    logger,
  });
  const keys = createKeysService({ db: ownerDb, masterKeys, clock });
  // Replay protection (docs/telephony.md): message ids, nonces and signatures claimed once, in Postgres.
  const replay = createReplayGuard({ db, clock, store });
  const callbacks = config.callbacks;
  // Phone calls and SMS (docs/telephony.md): one provider, picked by ONY_TELEPHONY_PROVIDER.
  const telephonyProvider =
    config.telephony !== undefined ? createTelephonyProvider(config.telephony.provider) : undefined;
  // Slack per organization (docs/channels.md): each org's own installation, encrypted with its data key.
  const slackInstallations =
    config.slack !== undefined
      ? createSlackInstallationsService({
          db,
          keyring,
          clock,
          logger,
          oauthApi: createSlackOAuthApi({ apiUrl: config.slack.apiUrl, logger }),
          config: {
            publicUrl: config.publicUrl,
            oauth: config.slack.oauth,
            authorizeUrl: slackAuthorizeUrl(config.slack),
            hasDefault: config.slack.botToken !== undefined,
          },
        })
      : undefined;
  const channels = createChannels(
    config,
    logger,
    telephonyProvider !== undefined
      ? { provider: telephonyProvider, store, replyCodes: { next: (phone) => nextSmsReplyCode(db, phone) } }
      : undefined,
    slackInstallations !== undefined
      ? async (orgId) => {
          const own = await slackInstallations.credentialsFor(orgId);
          return own && { botToken: own.botToken, teamId: own.teamId, channelId: own.channelId };
        }
      : undefined,
  );
  // The risk engine on worker threads, within a budget, failing closed (docs/risk.md).
  const risk = createRiskPool({ ...config.risk, logger });
  const handoffs = createHandoffsService({
    db,
    keyring,
    clock,
    jobs,
    store,
    auth,
    passkeys,
    callbacks,
    metrics,
    risk,
    revocation,
    webPush: config.push.enabled,
  });
  const policies = createPoliciesService({ db, clock });
  const batchDecisions = createBatchDecisionService({ db, clock, handoffs });
  const claudeCode = createClaudeCodeService({ db, clock, handoffs });
  const channelLinks = createChannelsService({
    db,
    store,
    clock,
    handoffs,
    config: { publicUrl: config.publicUrl },
  });
  const channelActions = channelLinks.actions;
  const channelsAdmin = createChannelsAdminService({
    db,
    channels,
    orgChannels: { adaptersFor: (orgId) => orgChannelsRuntime.adaptersFor(orgId) },
    store,
    clock,
    logger,
    config: { publicUrl: config.publicUrl },
  });
  const phoneVerification = createPhoneVerificationService({
    db,
    store,
    clock,
    provider: telephonyProvider,
    // The org's own account first (built below; called only once requests arrive).
    accountOf: (orgId) => orgChannelsRuntime.telephonyAccountOf(orgId),
    config: {
      publicUrl: config.publicUrl,
      from: config.telephony?.from ?? '',
      callsPer15Min: config.telephony?.callsPer15Min ?? 3,
      smsPer15Min: config.telephony?.smsPer15Min ?? 5,
    },
  });
  const callRecords = createCallRecordsService({ db, handoffs, clock });
  // The inbound side of phone calls and SMS (the provider's webhooks); the adapters are in `channels`.
  const telephony =
    telephonyProvider !== undefined && config.telephony !== undefined
      ? {
          provider: telephonyProvider,
          calls: createCallsService({
            store,
            replay,
            records: callRecords,
            provider: telephonyProvider,
            actions: channelActions,
            logger,
            config: { publicUrl: config.publicUrl },
            voiceAgent:
              config.telephony.voiceAgent !== undefined
                ? createVoiceAgent(config.telephony.voiceAgent, { logger })
                : undefined,
          }),
          sms: createSmsService({
            db,
            store,
            replay,
            clock,
            provider: telephonyProvider,
            actions: channelActions,
            logger,
            config: { from: config.telephony.from },
          }),
        }
      : undefined;
  // Telegram's inbound side (webhook route or long polling); its adapter is in `channels`.
  const telegramBot =
    config.telegram !== undefined
      ? createTelegramBot({
          api: createTelegramApi(config.telegram),
          actions: channelActions,
          store,
          replay,
          clock,
          logger,
          config: { ...config.telegram, publicUrl: config.publicUrl },
        })
      : undefined;
  // Each org's own bot and phone account (docs/channels.md); the server's are the fallback.
  const orgChannelsRuntime = createOrgChannelsRuntime({
    db,
    keyring,
    clock,
    logger,
    inbound: { store, replay, actionsOf: channelLinks.actionsOf },
    telephony: {
      records: callRecords,
      replyCodes: { next: (phone) => nextSmsReplyCode(db, phone) },
      limits: {
        callsPer15Min: config.telephony?.callsPer15Min ?? 3,
        smsPer15Min: config.telephony?.smsPer15Min ?? 5,
        machineDetection: config.telephony?.machineDetection ?? true,
      },
    },
    config: { publicUrl: config.publicUrl, orgChannels: config.orgChannels },
  });
  const orgChannels = createOrgChannelsService({
    db,
    keyring,
    clock,
    runtime: orgChannelsRuntime,
    config: {
      publicUrl: config.publicUrl,
      orgChannels: config.orgChannels,
      serverTelegram: config.telegram !== undefined,
      serverTelephony: config.telephony !== undefined,
    },
  });
  // Slack's inbound side on Bolt: ony's routes feed its receiver (http mode), or Socket Mode.
  const slackConfig = config.slack;
  const slackBolt =
    slackConfig !== undefined &&
    slackInstallations !== undefined &&
    ((slackConfig.mode === 'http' && slackConfig.signingSecret !== undefined) ||
      (slackConfig.mode === 'socket' && slackConfig.appToken !== undefined))
      ? createSlackBolt({
          interactions: createSlackInteractions({ actions: channelActions, logger }),
          routeTeam: async (teamId) => {
            const own = await slackInstallations.routeTeam(teamId);
            return (
              own && { orgId: own.orgId, botToken: own.botToken, botUserId: own.botUserId, botId: own.botId }
            );
          },
          removedBySlack: (teamId, reason, bots) => slackInstallations.removedBySlack(teamId, reason, bots),
          defaultBotToken: slackConfig.botToken,
          apiUrl: slackConfig.apiUrl,
          logger,
          socketAppToken: slackConfig.mode === 'socket' ? slackConfig.appToken : undefined,
        })
      : undefined;
  const escalation = createEscalationService({
    db,
    clock,
    keyring,
    channels,
    orgChannels: orgChannelsRuntime,
    logger,
    metrics,
    summarizer: config.summarizer !== undefined ? createSummarizer(config.summarizer, { logger }) : undefined,
    config: { publicUrl: config.publicUrl, callbacks },
  });

  // Web Push (docs/notifications.md): new high and critical handoffs, to the members who chose them.
  const vapid = resolveVapidKeys(config, masterKey);
  const push = createPushService({
    db,
    keyring,
    clock,
    channel: createPushChannel({ vapid, allowHosts: config.push.allowHosts }),
    logger,
    config: { publicKey: vapid.publicKey, allowHosts: config.push.allowHosts, enabled: config.push.enabled },
  });

  // Exports (docs/export.md): zips built at download time; on PGlite spooled to a temp file first.
  const dataExports = createExportService({
    db,
    jobs,
    keyring,
    clock,
    logger,
    audit,
    config: {
      publicUrl: config.publicUrl,
      channels: Object.keys(channels),
      spool: database.kind === 'pglite',
    },
  });

  const asIds = (data: Record<string, unknown>) => {
    const orgId = data.org_id;
    const handoffId = data.handoff_id;
    if (typeof orgId !== 'string' || typeof handoffId !== 'string')
      throw new Error('job data lacks org_id or handoff_id');
    return { orgId, handoffId };
  };

  /** Starts the job queue and its workers (every replica runs them; pg-boss hands each job to one). */
  async function startWorkers(): Promise<void> {
    await jobs.start();
    await jobs.work(JOBS.expire, async (data) => {
      const { orgId, handoffId } = asIds(data);
      await handoffs.expireJob(orgId, handoffId);
    });
    await jobs.work(JOBS.escalate, async (data) => {
      const { orgId, handoffId } = asIds(data);
      await escalation.escalate(orgId, handoffId, Number(data.step));
    });
    await jobs.work(JOBS.callback, async (data) => {
      const { orgId, handoffId } = asIds(data);
      await escalation.callback(orgId, handoffId);
    });
    await jobs.work(JOBS.notify, async (data) => {
      const { orgId, handoffId } = asIds(data);
      await escalation.notify(orgId, handoffId);
    });
    await jobs.work(JOBS.push, async (data) => {
      const { orgId, handoffId } = asIds(data);
      await push.pushHandoff(orgId, handoffId);
    });
    await jobs.work(MAIL_JOBS.send, (data) => mail.deliver(data));
    await jobs.work(MAIL_JOBS.passwordReset, (data) => accountMail.passwordResetJob(data));
    await jobs.work(EXPORT_JOBS.prepare, (data) => dataExports.prepareJob(data));
    await jobs.work(ERASURE_JOBS.erase, (data) => erasure.runJob(data));
    await jobs.work(RETENTION_JOBS.sweep, () => retention.sweepJob());
    await retention.scheduleNext();
    await jobs.work(INSIGHTS_JOBS.fold, () => insights.foldJob());
    await insights.scheduleNext();
    await jobs.work(WITNESS_JOBS.tick, (data) => witness.tickJob(data));
    await jobs.work(WITNESS_JOBS.push, (data) => witness.pushJob(data));
    await witness.scheduleNext();
    await telegramBot?.start();
    await orgChannelsRuntime.startPollers();
    // Not awaited: Slack being unreachable must not keep the server from starting (the client reconnects).
    slackBolt?.start().catch((err: unknown) => logger.error({ err }, 'slack socket mode did not connect'));
  }

  return {
    config,
    logger,
    clock,
    database,
    store,
    readiness,
    replay,
    keyring,
    masterKeys,
    metrics,
    revocation,
    loginThrottle,
    erasure,
    keys,
    auth,
    passkeys,
    members,
    retention,
    insights,
    devices,
    setup,
    sso,
    ssoConfig,
    mail,
    mailNotices,
    accountMail,
    audit,
    witness,
    jobs,
    risk,
    handoffs,
    batchDecisions,
    policies,
    claudeCode,
    escalation,
    push,
    channels,
    channelLinks,
    dataExports,
    channelsAdmin,
    orgChannels,
    orgChannelsRuntime,
    channelActions,
    telegramBot,
    slackBolt,
    slackInstallations,
    phoneVerification,
    callRecords,
    telephony,
    startWorkers,
    async close(): Promise<void> {
      await telegramBot?.stop();
      await orgChannelsRuntime.stop();
      await slackBolt
        ?.stop()
        .catch((err: unknown) => logger.warn({ err }, 'slack socket mode did not stop cleanly'));
      await jobs.stop().catch((err: unknown) => logger.warn({ err }, 'job queue did not stop cleanly'));
      mailTransport?.close();
      await risk.close().catch((err: unknown) => logger.warn({ err }, 'risk pool did not stop cleanly'));
      await revocation.stop().catch(() => undefined);
      await Promise.allSettled([store.close(), database.close()]);
    },
  };
}

export type Container = Awaited<ReturnType<typeof createContainer>>;
