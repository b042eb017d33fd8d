/**
 * The one reader of process.env. Parsed once into a frozen, typed Config; every error says what
 * to do about it. Code receives the Config through deps, never through a global getter.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMasterKeys } from '../lib/crypto.js';
import { parseSummarizerConfig, type SummarizerConfig } from './summarizer.js';
import { parseTelephonyConfig, type TelephonyConfig } from './telephony.js';

export type Mode = 'embedded' | 'production';

export interface Config {
  readonly mode: Mode;
  readonly host: string;
  readonly port: number;
  /** Public base URL (links in setup/invite answers, cookie Secure flag). No trailing slash. */
  readonly publicUrl: string;
  /** Postgres connection string; undefined means embedded PGlite in dataDir. */
  readonly databaseUrl: string | undefined;
  /**
   * The migrating (owner) credential, ONY_MIGRATE_DATABASE_URL: migrations and the operator
   * commands that need owner rights use it; DATABASE_URL is then the confined runtime login.
   */
  readonly migrateDatabaseUrl: string | undefined;
  /** ONY_ALLOW_PRIVILEGED_DB_LOGIN: serve on a privileged login anyway (single-user set-ups). */
  readonly allowPrivilegedDbLogin: boolean;
  /** Redis connection string; undefined means the in-memory ephemeral store. */
  readonly redisUrl: string | undefined;
  readonly dataDir: string;
  /** The built dashboard (index.html + assets) served at /; default the package's dist/web. */
  readonly webDir: string;
  /** 32-byte master key; undefined in embedded mode means "read or create dataDir/master.key". */
  readonly masterKey: Buffer | undefined;
  /**
   * Every configured master key, newest first (ONY_MASTER_KEYS, or ONY_MASTER_KEY alone): the first
   * wraps new data keys, the others only unwrap until `ony keys rotate` re-wraps (docs/keys.md).
   */
  readonly masterKeys: readonly Buffer[];
  /** Backups (docs/backups.md). */
  readonly backup: {
    /** ONY_BACKUP_KEY, 32 bytes; undefined: derived from the master key with its own HKDF label. */
    readonly key: Buffer | undefined;
    /** ONY_BACKUP_DIR: where backups go and where every org erasure is recorded (the erasure ledger). */
    readonly dir: string | undefined;
    /** ONY_BACKUP_S3_*: an S3-compatible bucket for backups, and the erasure ledger beside them. */
    readonly s3: WitnessS3Config | undefined;
  };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly bodyLimitBytes: number;
  readonly session: { readonly idleSeconds: number; readonly absoluteSeconds: number };
  readonly cookieSecure: boolean;
  /**
   * Passkeys (WebAuthn, docs/passkeys.md): the relying party id (a domain: ONY_WEBAUTHN_RP_ID,
   * default the host name of ONY_PUBLIC_URL) and the origins the browser may sign for
   * (ONY_WEBAUTHN_ORIGINS, comma-separated; default the origin of ONY_PUBLIC_URL).
   */
  readonly webauthn: {
    readonly rpId: string;
    readonly rpName: string;
    readonly origins: readonly string[];
  };
  /**
   * Run migrations at start-up (default on in embedded mode and when ONY_MIGRATE_DATABASE_URL is
   * set, off with DATABASE_URL alone).
   */
  readonly migrateOnStart: boolean;
  readonly rateLimit: { readonly perMinute: number };
  /** Sign-in throttling without lockouts (docs/sessions.md). */
  readonly loginThrottle: {
    /** Failures of one (account, client address) pair before delays start. */
    readonly freeFailures: number;
    /** The first delay; each further failure of the pair doubles it, up to delayMaxSeconds. */
    readonly delayBaseSeconds: number;
    readonly delayMaxSeconds: number;
    /** Failures one client address may make across all accounts in a window. */
    readonly perIp: number;
    /** How long failures are remembered (a fixed window from the first one). */
    readonly windowSeconds: number;
  };
  readonly trustProxy: boolean;
  /** Agent callback URLs: hosts allowed despite the private-address guard, and plain http. */
  readonly callbacks: { readonly allowHosts: readonly string[]; readonly allowHttp: boolean };
  /** Web Push (docs/notifications.md). */
  readonly push: {
    /**
     * ONY_WEB_PUSH: whether browsers may subscribe to Web Push. Off by default: pushes go to each
     * browser vendor's push service (Google, Mozilla, Apple…), which the operator did not name, so
     * the operator turns it on (DESIGN §3.8). Tab-open notifications need no push and work either way.
     */
    readonly enabled: boolean;
    /** The VAPID private key (32 bytes); undefined: derived from the master key. */
    readonly vapidPrivateKey: Buffer | undefined;
    /** The VAPID `sub` contact: ONY_PUSH_SUBJECT, else ONY_PUBLIC_URL when https, else a mailto:. */
    readonly subject: string;
    /** Push service hosts that may be private or plain http (a LAN gateway, a test's fake). */
    readonly allowHosts: readonly string[];
  };
  /** The Telegram channel (docs/channels.md); undefined when no bot token is set. */
  readonly telegram: TelegramConfig | undefined;
  /** The Slack channel (docs/channels.md); undefined when no bot token is set. */
  readonly slack: SlackConfig | undefined;
  /**
   * Where each org's own bot and phone account (docs/channels.md "Your organization's own bot and
   * phone account") are reached: the provider API bases are the operator's, never the org's (an
   * org names only its credentials, so it cannot point the server at an address of its choosing).
   */
  readonly orgChannels: OrgChannelsConfig;
  /** Phone calls and SMS (docs/telephony.md); undefined unless ONY_TELEPHONY_PROVIDER is set. */
  readonly telephony: TelephonyConfig | undefined;
  /** The optional payload summarizer (docs/summarizer.md); undefined unless ONY_SUMMARIZER_URL is set. */
  readonly summarizer: SummarizerConfig | undefined;
  readonly audit: {
    /** 32-byte Ed25519 seed for checkpoint signatures; undefined: derived from the master key. */
    readonly signingSeed: Buffer | undefined;
    /** ONY_AUDIT_KEY_NAME: the checkpoint key's name; unset, the name stored with the key is kept. */
    readonly keyName: string | undefined;
    /** The name a key gets on first use when ONY_AUDIT_KEY_NAME is unset (never the listen address). */
    readonly defaultKeyName: string;
    /** Automatic checkpoints and the witnesses they go to (docs/audit.md, "Witnesses"). */
    readonly witness: WitnessConfig;
  };
  /** Outgoing mail (docs/mail.md); undefined when ONY_SMTP_URL is unset: mail is off. */
  readonly mail: MailConfig | undefined;
  /** Claude Code hooks (docs/integrations.md): how long an http hook waits, and what "still pending" answers. */
  readonly hooks: { readonly budgetSeconds: number; readonly onPending: 'deny' | 'ask' };
  /**
   * Risk analysis off the event loop (docs/risk.md): worker threads, the budget of one analysis in
   * ms (queueing included; over it the handoff is at least high with analysis_incomplete), and how
   * many analyses may wait for a thread before the next one fails closed at once.
   */
  readonly risk: { readonly workers: number; readonly timeoutMs: number; readonly maxQueue: number };
  /** Single sign-on (docs/sso.md): issuer hosts ("host" or "host:port") allowed over plain http. */
  readonly sso: { readonly allowHttpIssuers: readonly string[] };
  /**
   * Prometheus `/metrics` (docs/privacy.md), off unless one is set: a bearer token (on the main
   * listener), and/or a separate listen address (served there only).
   */
  readonly metrics: {
    readonly token: string | undefined;
    readonly listen: { readonly host: string; readonly port: number } | undefined;
  };
}

export interface SlackConfig {
  /**
   * The server's default bot token (`xoxb-…`): chat:write, chat:write.public if it posts to channels it
   * was not invited to. Used by every org without its own installation; undefined: only orgs that
   * installed the app ("Add to Slack") have Slack.
   */
  readonly botToken: string | undefined;
  /**
   * The Slack app's OAuth client (ONY_SLACK_CLIENT_ID / ONY_SLACK_CLIENT_SECRET): lets each org's admin
   * install the app in the org's own workspace (docs/channels.md). Undefined: no per-org installs.
   */
  readonly oauth: { readonly clientId: string; readonly clientSecret: string } | undefined;
  /** http: Slack POSTs interactions to ONY_PUBLIC_URL/webhooks/slack/interactions; socket: Socket Mode. */
  readonly mode: 'http' | 'socket';
  /** Verifies the HTTP interactions (required in http mode). */
  readonly signingSecret: string | undefined;
  /** App-level token (`xapp-…`, connections:write) for Socket Mode (required in socket mode). */
  readonly appToken: string | undefined;
  /** Channel every approval request is posted to; undefined: DMs only. */
  readonly channel: string | undefined;
  /** DM each targeted member who linked Slack. */
  readonly dm: boolean;
  /** Web API base URL; operators leave it unset (https://slack.com/api/), tests point it at a fake. */
  readonly apiUrl: string | undefined;
}

/** Where signed checkpoints go outside the database, and when (docs/audit.md, "Witnesses"). */
export interface WitnessConfig {
  /** Sign (and push) a moved chain's head at least this often, in ms; 0: no time rule. */
  readonly intervalMs: number;
  /** Sign (and push) once the head moved this many entries past the last checkpoint; 0: off. */
  readonly every: number;
  /** How often the durable checkpoint tick looks at every chain head, in ms. */
  readonly pollMs: number;
  /** Attempts after the first before a push is given up (it is logged and counted each time). */
  readonly retryLimit: number;
  /** Delay before the first retry of a failed push; doubles each attempt (with jitter). */
  readonly retryDelaySeconds: number;
  /** An HTTPS witness: every signed checkpoint is POSTed there as its signed note. */
  readonly https: { readonly url: string } | undefined;
  /** An S3-compatible bucket: <prefix><org id>/<seq>.checkpoint, and <prefix><org id>/latest.checkpoint. */
  readonly s3: WitnessS3Config | undefined;
}

export interface WitnessS3Config {
  readonly bucket: string;
  readonly region: string;
  /** Custom endpoint of an S3-compatible service (MinIO, R2, …); undefined: AWS. */
  readonly endpoint: string | undefined;
  /** Object key prefix, empty or ending in "/". */
  readonly prefix: string;
  /** Path-style addressing (most S3-compatible services want it). */
  readonly forcePathStyle: boolean;
  /** Static credentials; undefined: the SDK's default chain (env, profile, instance role). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
}

export interface MailConfig {
  /** smtp:// (STARTTLS when offered) or smtps:// (TLS from the start), credentials in the URL. Never logged. */
  readonly smtpUrl: string;
  /** The From address, e.g. `ony <ony@example.com>`. */
  readonly from: string;
  /** Attempts after the first one before a delivery is marked failed. */
  readonly retryLimit: number;
  /** Delay before the first retry; doubles each attempt (with jitter). */
  readonly retryDelaySeconds: number;
}

export interface TelegramConfig {
  readonly botToken: string;
  /** Bot API base URL; operators leave it at https://api.telegram.org (tests point it at a fake). */
  readonly apiRoot: string;
  /** webhook: Telegram POSTs updates to ONY_PUBLIC_URL/webhooks/telegram; polling: ony asks (getUpdates). */
  readonly mode: 'webhook' | 'polling';
  /** The setWebhook secret_token; undefined: derived from the bot token. */
  readonly webhookSecret: string | undefined;
  /** The bot's @username (without @), for `https://t.me/<bot>?start=<code>` link-code deep links. */
  readonly botUsername: string | undefined;
}

export interface OrgChannelsConfig {
  /** ONY_TELEGRAM_API_ROOT (default https://api.telegram.org). */
  readonly telegramApiRoot: string;
  /** ONY_TELEGRAM_MODE, or webhook with an https public URL, polling without. */
  readonly telegramMode: 'webhook' | 'polling';
  /** ONY_TWILIO_API_URL, ONY_TELNYX_API_URL, ONY_PLIVO_API_URL (defaults: the providers' own). */
  readonly twilioApiUrl: string;
  readonly telnyxApiUrl: string;
  readonly plivoApiUrl: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env, cwd: string = process.cwd()): Config {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };

  const databaseUrl = str('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// URL, e.g. postgres://ony:secret@db:5432/ony');
  }
  const migrateDatabaseUrl = str('ONY_MIGRATE_DATABASE_URL');
  if (migrateDatabaseUrl !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(migrateDatabaseUrl))
      problems.push(
        'ONY_MIGRATE_DATABASE_URL must be a postgres:// URL, e.g. postgres://ony_owner:secret@db:5432/ony',
      );
    else if (databaseUrl === undefined)
      problems.push(
        'ONY_MIGRATE_DATABASE_URL needs DATABASE_URL (the confined runtime login); embedded mode has one login',
      );
  }
  const redisUrl = str('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    problems.push('REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379');
  }
  const mode: Mode = databaseUrl === undefined ? 'embedded' : 'production';

  let masterKey: Buffer | undefined;
  let masterKeys: Buffer[] = [];
  const rawKey = str('ONY_MASTER_KEY');
  const rawKeys = str('ONY_MASTER_KEYS');
  if (rawKey !== undefined && rawKeys !== undefined) {
    problems.push('set ONY_MASTER_KEY (one key) or ONY_MASTER_KEYS (a list, newest first), not both');
  } else if (rawKey !== undefined || rawKeys !== undefined) {
    const parsed = parseMasterKeys(rawKey ?? rawKeys ?? '');
    if (rawKey !== undefined && rawKey.includes(','))
      problems.push('ONY_MASTER_KEY holds one key; put a list (newest first) in ONY_MASTER_KEYS');
    else if (rawKey !== undefined && typeof parsed === 'string')
      problems.push('ONY_MASTER_KEY must be 32 bytes, base64-encoded; generate one with `ony keygen`');
    else if (typeof parsed === 'string')
      problems.push(`ONY_MASTER_KEYS ${parsed}; generate a key with \`ony keygen\``);
    else [masterKey, masterKeys] = [parsed[0], parsed];
  } else if (mode === 'production') {
    problems.push(
      'ONY_MASTER_KEY is required when DATABASE_URL is set (it encrypts TOTP secrets, credentials and payloads); generate one with `ony keygen`',
    );
  }

  let backupKey: Buffer | undefined;
  const rawBackupKey = str('ONY_BACKUP_KEY');
  if (rawBackupKey !== undefined) {
    backupKey = Buffer.from(rawBackupKey, 'base64');
    if (backupKey.length !== 32 || backupKey.toString('base64') !== rawBackupKey) {
      problems.push('ONY_BACKUP_KEY must be 32 bytes, base64-encoded; generate one with `ony keygen`');
      backupKey = undefined;
    }
  }
  const backupDir = str('ONY_BACKUP_DIR');
  const backupS3 = parseS3Config(
    'ONY_BACKUP_S3',
    'ONY_BACKUP_S3_ALLOW_HTTP',
    'ony-backups/',
    str,
    bool,
    problems,
  );

  // PORT is the common platform convention; ONY_PORT wins when both are set.
  const pushConfig = (): Config['push'] => {
    let vapidPrivateKey: Buffer | undefined;
    const rawVapid = str('ONY_PUSH_VAPID_PRIVATE_KEY');
    if (rawVapid !== undefined) {
      vapidPrivateKey = Buffer.from(rawVapid, 'base64url');
      if (vapidPrivateKey.length !== 32 || !/^[A-Za-z0-9_-]{43}$/.test(rawVapid)) {
        problems.push(
          'ONY_PUSH_VAPID_PRIVATE_KEY must be a 32-byte P-256 private key, base64url (43 characters), e.g. from `npx web-push generate-vapid-keys`',
        );
        vapidPrivateKey = undefined;
      }
    }
    const rawSubject = str('ONY_PUSH_SUBJECT');
    if (rawSubject !== undefined && !/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/.test(rawSubject))
      problems.push('ONY_PUSH_SUBJECT must be a mailto: address or an https: URL (the VAPID contact)');
    // Called once publicUrl is parsed (below), inside the config object.
    const host = new URL(publicUrl).hostname;
    return {
      enabled: bool('ONY_WEB_PUSH', false),
      vapidPrivateKey,
      subject: rawSubject ?? (publicUrl.startsWith('https://') ? publicUrl : `mailto:ony@${host}`),
      allowHosts: (str('ONY_PUSH_ALLOW_HOSTS') ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== ''),
    };
  };
  let signingSeed: Buffer | undefined;
  const rawSeed = str('ONY_AUDIT_SIGNING_KEY');
  if (rawSeed !== undefined) {
    signingSeed = Buffer.from(rawSeed, 'base64');
    if (signingSeed.length !== 32 || signingSeed.toString('base64') !== rawSeed) {
      problems.push(
        'ONY_AUDIT_SIGNING_KEY must be a 32-byte Ed25519 seed, base64-encoded; generate one with `ony keygen --signing`',
      );
      signingSeed = undefined;
    }
  }

  const port = str('ONY_PORT') !== undefined ? int('ONY_PORT', 8080, 0, 65535) : int('PORT', 8080, 0, 65535);
  const host = str('ONY_HOST') ?? '127.0.0.1';
  const publicUrlRaw = str('ONY_PUBLIC_URL') ?? `http://localhost:${port}`;
  let publicUrl = publicUrlRaw.replace(/\/+$/, '');
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
  } catch {
    problems.push(
      `ONY_PUBLIC_URL must be an http(s) URL such as https://ony.example.com (got "${publicUrlRaw}")`,
    );
    publicUrl = `http://localhost:${port}`;
  }

  // The checkpoint key's name is signed into every checkpoint, so it must not follow the listen
  // address: configured, else stored with the key on first use (docs/audit.md).
  const keyName = str('ONY_AUDIT_KEY_NAME');
  if (keyName !== undefined && !/^[^\s+]{1,100}$/.test(keyName))
    problems.push('ONY_AUDIT_KEY_NAME must be 1 to 100 characters with no spaces and no "+"');
  const defaultKeyName =
    str('ONY_PUBLIC_URL') !== undefined && !problems.some((p) => p.startsWith('ONY_PUBLIC_URL'))
      ? `${new URL(publicUrl).host}/ony-audit`
      : 'ony-audit';

  const logLevelRaw = str('ONY_LOG_LEVEL') ?? 'info';
  const logLevel = (LOG_LEVELS as readonly string[]).includes(logLevelRaw)
    ? (logLevelRaw as Config['logLevel'])
    : (problems.push(`ONY_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevelRaw}")`), 'info');

  let telegram: TelegramConfig | undefined;
  const telegramToken = str('ONY_TELEGRAM_BOT_TOKEN');
  if (telegramToken !== undefined) {
    if (!/^\d{1,20}:[A-Za-z0-9_-]{10,100}$/.test(telegramToken))
      problems.push('ONY_TELEGRAM_BOT_TOKEN must be the token @BotFather gave you, like 123456789:AAH…');
    const apiRoot = (str('ONY_TELEGRAM_API_ROOT') ?? 'https://api.telegram.org').replace(/\/+$/, '');
    if (!/^https?:\/\/[^/?#]+$/.test(apiRoot))
      problems.push(`ONY_TELEGRAM_API_ROOT must be an http(s) origin without a path (got "${apiRoot}")`);
    const rawMode =
      str('ONY_TELEGRAM_MODE')?.toLowerCase() ?? (publicUrl.startsWith('https:') ? 'webhook' : 'polling');
    if (rawMode !== 'webhook' && rawMode !== 'polling')
      problems.push(`ONY_TELEGRAM_MODE must be webhook or polling (got "${rawMode}")`);
    if (rawMode === 'webhook' && !publicUrl.startsWith('https:'))
      problems.push(
        'ONY_TELEGRAM_MODE=webhook needs an https ONY_PUBLIC_URL (Telegram delivers only to HTTPS); without a public URL use ONY_TELEGRAM_MODE=polling',
      );
    const webhookSecret = str('ONY_TELEGRAM_WEBHOOK_SECRET');
    if (webhookSecret !== undefined && !/^[A-Za-z0-9_-]{16,256}$/.test(webhookSecret))
      problems.push('ONY_TELEGRAM_WEBHOOK_SECRET must be 16-256 characters of A-Z a-z 0-9 _ -');
    const botUsername = str('ONY_TELEGRAM_BOT_USERNAME')?.replace(/^@/, '');
    if (botUsername !== undefined && !/^[A-Za-z][A-Za-z0-9_]{3,31}$/.test(botUsername))
      problems.push("ONY_TELEGRAM_BOT_USERNAME must be the bot's @username, like @acme_ony_bot");
    telegram = Object.freeze({
      botUsername,
      botToken: telegramToken,
      apiRoot,
      mode: rawMode === 'polling' ? 'polling' : 'webhook',
      webhookSecret,
    });
  }

  const apiBase = (name: string, fallback: string, originOnly = false): string => {
    const v = (str(name) ?? fallback).replace(/\/+$/, '');
    const problem = originOnly
      ? `${name} must be an http(s) origin without a path (got "${v}")`
      : `${name} must be an http(s) URL (got "${v}")`;
    const ok = (originOnly ? /^https?:\/\/[^/?#\s]+$/ : /^https?:\/\/[^\s?#]+$/).test(v);
    if (!ok && !problems.includes(problem)) problems.push(problem);
    return v;
  };
  const orgTelegramMode =
    str('ONY_TELEGRAM_MODE')?.toLowerCase() ?? (publicUrl.startsWith('https:') ? 'webhook' : 'polling');
  const orgChannels: OrgChannelsConfig = Object.freeze({
    telegramApiRoot: apiBase('ONY_TELEGRAM_API_ROOT', 'https://api.telegram.org', true),
    telegramMode: orgTelegramMode === 'webhook' && publicUrl.startsWith('https:') ? 'webhook' : 'polling',
    twilioApiUrl: apiBase('ONY_TWILIO_API_URL', 'https://api.twilio.com'),
    telnyxApiUrl: apiBase('ONY_TELNYX_API_URL', 'https://api.telnyx.com'),
    plivoApiUrl: apiBase('ONY_PLIVO_API_URL', 'https://api.plivo.com'),
  });

  let slack: SlackConfig | undefined;
  const slackToken = str('ONY_SLACK_BOT_TOKEN');
  const slackClientId = str('ONY_SLACK_CLIENT_ID');
  const slackClientSecret = str('ONY_SLACK_CLIENT_SECRET');
  if (slackToken !== undefined || slackClientId !== undefined || slackClientSecret !== undefined) {
    if (slackClientId !== undefined && !/^\d{4,20}\.\d{4,20}$/.test(slackClientId))
      problems.push(
        "ONY_SLACK_CLIENT_ID must be your Slack app's Client ID, like 1234567890.1234567890 (Basic Information > App Credentials)",
      );
    if (slackClientSecret !== undefined && !/^[A-Za-z0-9]{16,128}$/.test(slackClientSecret))
      problems.push(
        "ONY_SLACK_CLIENT_SECRET must be your Slack app's Client Secret (Basic Information > App Credentials)",
      );
    if ((slackClientId === undefined) !== (slackClientSecret === undefined))
      problems.push(
        'ONY_SLACK_CLIENT_ID and ONY_SLACK_CLIENT_SECRET go together: set both to let each org install the app in its own workspace, or neither',
      );
    if (slackToken !== undefined && !/^xoxb-[A-Za-z0-9-]{8,200}$/.test(slackToken))
      problems.push(
        'ONY_SLACK_BOT_TOKEN must be the bot token of your Slack app, xoxb-… (OAuth & Permissions)',
      );
    const rawMode = str('ONY_SLACK_MODE')?.toLowerCase() ?? 'http';
    if (rawMode !== 'http' && rawMode !== 'socket')
      problems.push(`ONY_SLACK_MODE must be http or socket (got "${rawMode}")`);
    const signingSecret = str('ONY_SLACK_SIGNING_SECRET');
    if (rawMode === 'http' && signingSecret === undefined)
      problems.push(
        'ONY_SLACK_SIGNING_SECRET is required with ONY_SLACK_MODE=http (Basic Information > Signing Secret); without a public URL use ONY_SLACK_MODE=socket',
      );
    const appToken = str('ONY_SLACK_APP_TOKEN');
    if (appToken !== undefined && !/^xapp-[A-Za-z0-9-]{8,300}$/.test(appToken))
      problems.push(
        'ONY_SLACK_APP_TOKEN must be an app-level token, xapp-… (Basic Information > App-Level Tokens)',
      );
    if (rawMode === 'socket' && appToken === undefined)
      problems.push(
        'ONY_SLACK_APP_TOKEN (xapp-…, scope connections:write) is required with ONY_SLACK_MODE=socket',
      );
    const channel = str('ONY_SLACK_CHANNEL');
    if (channel !== undefined && !/^(#?[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{2,40})$/.test(channel))
      problems.push(
        `ONY_SLACK_CHANNEL must be a channel id like C0123ABCD or a name like #approvals (got "${channel}")`,
      );
    const apiUrl = str('ONY_SLACK_API_URL');
    if (apiUrl !== undefined && !/^https?:\/\/[^\s?#]+$/.test(apiUrl))
      problems.push(`ONY_SLACK_API_URL must be an http(s) URL (got "${apiUrl}"); leave it unset for Slack`);
    slack = Object.freeze({
      botToken: slackToken,
      oauth:
        slackClientId !== undefined && slackClientSecret !== undefined
          ? Object.freeze({ clientId: slackClientId, clientSecret: slackClientSecret })
          : undefined,
      mode: rawMode === 'socket' ? 'socket' : 'http',
      signingSecret,
      appToken,
      channel,
      dm: bool('ONY_SLACK_DM', true),
      apiUrl,
    });
  }

  let mail: MailConfig | undefined;
  const smtpUrl = str('ONY_SMTP_URL');
  const mailRetryLimit = int('ONY_MAIL_RETRY_LIMIT', 10, 0, 20);
  const mailRetryDelay = int('ONY_MAIL_RETRY_DELAY_SECONDS', 30, 1, 3600);
  const mailFrom = str('ONY_MAIL_FROM');
  if (smtpUrl !== undefined) {
    let ok = false;
    try {
      const u = new URL(smtpUrl);
      ok = (u.protocol === 'smtp:' || u.protocol === 'smtps:') && u.hostname !== '';
    } catch {
      ok = false;
    }
    // The URL carries the SMTP password: never echo it.
    if (!ok)
      problems.push('ONY_SMTP_URL must be smtp://user:password@host:587 or smtps://user:password@host:465');
    if (mailFrom === undefined)
      problems.push('ONY_MAIL_FROM is required with ONY_SMTP_URL, e.g. "ony <ony@example.com>"');
    else if (!/^[^\r\n<>]*<[^\s@<>]+@[^\s@<>]+>$|^[^\s@<>]+@[^\s@<>]+$/.test(mailFrom))
      problems.push(`ONY_MAIL_FROM must be an address or "Name <address>" (got "${mailFrom}")`);
    mail = Object.freeze({
      smtpUrl,
      from: mailFrom ?? '',
      retryLimit: mailRetryLimit,
      retryDelaySeconds: mailRetryDelay,
    });
  }

  const witness = parseWitnessConfig(str, int, bool, problems);

  const metricsToken = str('ONY_METRICS_TOKEN');
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(metricsToken))
    problems.push(
      'ONY_METRICS_TOKEN must be 16-256 printable characters without spaces (openssl rand -hex 32)',
    );
  const metricsListenRaw = str('ONY_METRICS_LISTEN');
  let metricsListen: Config['metrics']['listen'];
  if (metricsListenRaw !== undefined) {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(metricsListenRaw);
    const listenPort = m !== null ? Number(m[3]) : NaN;
    if (m === null || listenPort > 65535)
      problems.push(
        `ONY_METRICS_LISTEN must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464 (got "${metricsListenRaw}")`,
      );
    else metricsListen = Object.freeze({ host: (m[1] ?? m[2])!, port: listenPort });
  }

  // Sign-in throttling without lockouts: delays per (account, address), a budget per address.
  const loginThrottleConfig = (): Config['loginThrottle'] => {
    if (env.ONY_LOGIN_MAX_FAILURES_PER_ACCOUNT !== undefined)
      problems.push(
        'ONY_LOGIN_MAX_FAILURES_PER_ACCOUNT is gone: accounts are no longer locked; failures now slow down the (account, address) pair, see ONY_LOGIN_FREE_FAILURES and ONY_LOGIN_DELAY_MAX_SECONDS',
      );
    const t = {
      freeFailures: int('ONY_LOGIN_FREE_FAILURES', 3, 1, 100),
      delayBaseSeconds: int('ONY_LOGIN_DELAY_BASE_SECONDS', 1, 1, 3600),
      delayMaxSeconds: int('ONY_LOGIN_DELAY_MAX_SECONDS', 300, 1, 86400),
      perIp: int('ONY_LOGIN_MAX_FAILURES_PER_IP', 100, 1, 100_000),
      windowSeconds: int('ONY_LOGIN_WINDOW_SECONDS', 3600, 10, 7 * 86400),
    };
    if (t.delayMaxSeconds < t.delayBaseSeconds)
      problems.push(
        `ONY_LOGIN_DELAY_MAX_SECONDS (${t.delayMaxSeconds}) must be at least ONY_LOGIN_DELAY_BASE_SECONDS (${t.delayBaseSeconds})`,
      );
    return t;
  };
  const webauthnConfig = (): Config['webauthn'] => {
    const rpId = (str('ONY_WEBAUTHN_RP_ID') ?? new URL(publicUrl).hostname).toLowerCase();
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(rpId))
      problems.push(`ONY_WEBAUTHN_RP_ID must be a domain name such as ony.example.com (got "${rpId}")`);
    const origins = (str('ONY_WEBAUTHN_ORIGINS') ?? new URL(publicUrl).origin)
      .split(',')
      .map((o) => o.trim().replace(/\/+$/, ''))
      .filter((o) => o !== '');
    for (const o of origins) {
      let host: string | undefined;
      try {
        const u = new URL(o);
        if ((u.protocol === 'https:' || u.protocol === 'http:') && u.origin === o) host = u.hostname;
      } catch {
        host = undefined;
      }
      if (host === undefined)
        problems.push(`ONY_WEBAUTHN_ORIGINS must list origins such as https://ony.example.com (got "${o}")`);
      else if (host !== rpId && !host.endsWith(`.${rpId}`))
        problems.push(
          `the passkey origin ${o} is not on the relying party id ${rpId}: set ONY_WEBAUTHN_RP_ID to its domain (or a parent of it)`,
        );
    }
    return { rpId, rpName: str('ONY_WEBAUTHN_RP_NAME') ?? 'ony', origins };
  };
  const config: Config = {
    mode,
    host,
    port,
    publicUrl,
    databaseUrl,
    migrateDatabaseUrl,
    allowPrivilegedDbLogin: bool('ONY_ALLOW_PRIVILEGED_DB_LOGIN', false),
    redisUrl,
    dataDir: resolve(cwd, str('ONY_DATA_DIR') ?? './data'),
    webDir: resolve(cwd, str('ONY_WEB_DIR') ?? fileURLToPath(new URL('../../dist/web', import.meta.url))),
    masterKey,
    masterKeys,
    backup: {
      key: backupKey,
      dir: backupDir === undefined ? undefined : resolve(cwd, backupDir),
      s3: backupS3,
    },
    logLevel,
    // A 1 MiB payload can double in size as JSON (escaped newlines, quotes).
    bodyLimitBytes: int('ONY_BODY_LIMIT_BYTES', 3_000_000, 1024, 16 * 1024 * 1024),
    session: {
      idleSeconds: int('ONY_SESSION_IDLE_SECONDS', 12 * 3600, 60, 30 * 86400),
      absoluteSeconds: int('ONY_SESSION_ABSOLUTE_SECONDS', 7 * 86400, 300, 90 * 86400),
    },
    // Browsers accept Secure cookies from http://localhost; a plain-http LAN address needs false.
    cookieSecure: bool('ONY_COOKIE_SECURE', true),
    webauthn: webauthnConfig(),
    migrateOnStart: bool('ONY_MIGRATE_ON_START', mode === 'embedded' || migrateDatabaseUrl !== undefined),
    rateLimit: { perMinute: int('ONY_RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000) },
    loginThrottle: loginThrottleConfig(),
    trustProxy: bool('ONY_TRUST_PROXY', false),
    telegram,
    orgChannels,
    mail,
    slack,
    telephony: parseTelephonyConfig(env, problems, int, bool),
    summarizer: parseSummarizerConfig(env, problems, int),
    callbacks: {
      allowHosts: (str('ONY_CALLBACK_ALLOW_HOSTS') ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== ''),
      allowHttp: bool('ONY_CALLBACK_ALLOW_HTTP', false),
    },
    push: pushConfig(),
    audit: {
      signingSeed,
      keyName: keyName !== undefined && /^[^\s+]{1,100}$/.test(keyName) ? keyName : undefined,
      defaultKeyName,
      witness,
    },
    sso: {
      allowHttpIssuers: (str('ONY_SSO_ALLOW_HTTP_ISSUERS') ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== ''),
    },
    metrics: { token: metricsToken, listen: metricsListen },
    risk: {
      workers: int('ONY_RISK_WORKERS', 2, 1, 64),
      timeoutMs: int('ONY_RISK_TIMEOUT_MS', 10_000, 1, 60_000),
      maxQueue: int('ONY_RISK_MAX_QUEUE', 64, 0, 10_000),
    },
    hooks: {
      budgetSeconds: int('ONY_HOOK_BUDGET_S', 50, 0, 590),
      onPending: (() => {
        const raw = str('ONY_HOOK_ON_PENDING')?.toLowerCase() ?? 'deny';
        if (raw === 'deny' || raw === 'ask') return raw;
        problems.push(`ONY_HOOK_ON_PENDING must be deny or ask (got "${raw}")`);
        return 'deny';
      })(),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    ...config,
    backup: Object.freeze(config.backup),
    session: Object.freeze(config.session),
    rateLimit: Object.freeze(config.rateLimit),
    loginThrottle: Object.freeze(config.loginThrottle),
    audit: Object.freeze({ ...config.audit, witness: Object.freeze(config.audit.witness) }),
    hooks: Object.freeze(config.hooks),
    webauthn: Object.freeze({ ...config.webauthn, origins: Object.freeze([...config.webauthn.origins]) }),
    risk: Object.freeze(config.risk),
    metrics: Object.freeze(config.metrics),
    sso: Object.freeze({ allowHttpIssuers: Object.freeze([...config.sso.allowHttpIssuers]) }),
    callbacks: Object.freeze({
      ...config.callbacks,
      allowHosts: Object.freeze([...config.callbacks.allowHosts]),
    }),
    push: Object.freeze({ ...config.push, allowHosts: Object.freeze([...config.push.allowHosts]) }),
  });
}

/**
 * An S3-compatible store's settings under the variables `<v>_BUCKET`, `_REGION`, `_ENDPOINT`,
 * `_PREFIX`, `_ACCESS_KEY_ID`, `_SECRET_ACCESS_KEY`, `_FORCE_PATH_STYLE` (the audit witness's, the
 * backups'); undefined without a bucket.
 */
function parseS3Config(
  v: string,
  allowHttpVar: string,
  defaultPrefix: string,
  str: (name: string) => string | undefined,
  bool: (name: string, fallback: boolean) => boolean,
  problems: string[],
): WitnessS3Config | undefined {
  const bucket = str(`${v}_BUCKET`);
  const s3Vars = [
    `${v}_ENDPOINT`,
    `${v}_REGION`,
    `${v}_PREFIX`,
    `${v}_ACCESS_KEY_ID`,
    `${v}_SECRET_ACCESS_KEY`,
  ];
  if (bucket === undefined) {
    const stray = s3Vars.filter((n) => str(n) !== undefined);
    if (stray.length > 0)
      problems.push(`${stray.join(', ')} set without ${v}_BUCKET (the bucket to write to)`);
  } else {
    // S3 bucket naming rules (3-63 lowercase letters, digits, dots, hyphens).
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
      problems.push(`${v}_BUCKET must be an S3 bucket name (got "${bucket}")`);
    const region = str(`${v}_REGION`) ?? 'us-east-1';
    if (!/^[a-z0-9-]{2,40}$/.test(region))
      problems.push(`${v}_REGION must be a region such as eu-west-1 (got "${region}")`);
    const endpoint = str(`${v}_ENDPOINT`);
    if (endpoint !== undefined) {
      const u = URL.canParse(endpoint) ? new URL(endpoint) : undefined;
      if (
        u === undefined ||
        (u.protocol !== 'https:' && u.protocol !== 'http:') ||
        u.hostname === '' ||
        u.username !== '' ||
        u.search !== ''
      )
        problems.push(
          `${v}_ENDPOINT must be an https URL such as https://s3.example.com (got "${endpoint}")`,
        );
      else if (u.protocol === 'http:' && !bool(allowHttpVar, false))
        problems.push(
          `${v}_ENDPOINT must be https (set ${allowHttpVar}=true only for a store on a network you trust)`,
        );
    }
    const rawPrefix = str(`${v}_PREFIX`) ?? defaultPrefix;
    const prefix = rawPrefix === '/' ? '' : rawPrefix.replace(/^\/+/, '').replace(/\/*$/, '/');
    if (!/^[A-Za-z0-9!_.*'()/-]{0,200}$/.test(prefix) || prefix.includes('//') || prefix.includes('..'))
      problems.push(`${v}_PREFIX must be a key prefix of letters, digits and !_.*'()-/ (got "${rawPrefix}")`);
    const accessKeyId = str(`${v}_ACCESS_KEY_ID`);
    const secretAccessKey = str(`${v}_SECRET_ACCESS_KEY`);
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
      problems.push(
        `set both ${v}_ACCESS_KEY_ID and ${v}_SECRET_ACCESS_KEY, or neither (the SDK's default credentials)`,
      );
    return Object.freeze({
      bucket,
      region,
      endpoint,
      prefix,
      forcePathStyle: bool(`${v}_FORCE_PATH_STYLE`, endpoint !== undefined),
      credentials:
        accessKeyId !== undefined && secretAccessKey !== undefined
          ? Object.freeze({ accessKeyId, secretAccessKey })
          : undefined,
    });
  }
  return undefined;
}

/**
 * The witness settings. The server connects only to the witnesses configured here (DESIGN.md §3.8):
 * an https URL (plain http only with ONY_AUDIT_WITNESS_ALLOW_HTTP, for a witness on a private
 * network), and/or one S3-compatible bucket.
 */
function parseWitnessConfig(
  str: (name: string) => string | undefined,
  int: (name: string, fallback: number, min: number, max: number) => number,
  bool: (name: string, fallback: boolean) => boolean,
  problems: string[],
): WitnessConfig {
  // ONY_AUDIT_CHECKPOINT_SECONDS is the older name of the time rule; the ms setting wins.
  const legacySeconds = int('ONY_AUDIT_CHECKPOINT_SECONDS', 3600, 0, 7 * 86400);
  const intervalMs = int('ONY_AUDIT_WITNESS_INTERVAL_MS', legacySeconds * 1000, 0, 7 * 86400 * 1000);
  if (intervalMs > 0 && intervalMs < 1000)
    problems.push(`ONY_AUDIT_WITNESS_INTERVAL_MS must be 0 (off) or at least 1000 (got "${intervalMs}")`);
  const every = int('ONY_AUDIT_WITNESS_EVERY', 1000, 0, 10_000_000);
  const pollMs = int('ONY_AUDIT_WITNESS_POLL_MS', 30_000, 200, 3600 * 1000);

  let https: WitnessConfig['https'];
  const url = str('ONY_AUDIT_WITNESS_URL');
  if (url !== undefined) {
    const allowHttp = bool('ONY_AUDIT_WITNESS_ALLOW_HTTP', false);
    const u = URL.canParse(url) ? new URL(url) : undefined;
    if (u === undefined || (u.protocol !== 'https:' && u.protocol !== 'http:') || u.hostname === '')
      problems.push(`ONY_AUDIT_WITNESS_URL must be an https URL such as https://witness.example.com/ony`);
    else if (u.username !== '' || u.password !== '')
      problems.push('ONY_AUDIT_WITNESS_URL must not carry credentials');
    else if (u.protocol === 'http:' && !allowHttp)
      problems.push(
        'ONY_AUDIT_WITNESS_URL must be https (set ONY_AUDIT_WITNESS_ALLOW_HTTP=true only for a witness on a network you trust)',
      );
    else https = Object.freeze({ url: u.toString() });
  }

  const s3 = parseS3Config(
    'ONY_AUDIT_WITNESS_S3',
    'ONY_AUDIT_WITNESS_ALLOW_HTTP',
    'ony-audit/',
    str,
    bool,
    problems,
  );
  return {
    intervalMs,
    every,
    pollMs,
    retryLimit: int('ONY_AUDIT_WITNESS_RETRY_LIMIT', 10, 0, 50),
    retryDelaySeconds: int('ONY_AUDIT_WITNESS_RETRY_DELAY_SECONDS', 30, 1, 3600),
    https,
    s3,
  };
}
