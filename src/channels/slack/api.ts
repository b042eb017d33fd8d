/**
 * The few Slack Web API methods ony calls, through the official `@slack/web-api` WebClient (its own
 * retries off, rate-limited calls rejected) wrapped in our bounded retry helper: 429 (Retry-After
 * honoured), 5xx, network errors and Slack's transient `internal_error`/`fatal_error` are retried;
 * every other Slack error (`msg_too_long`, `channel_not_found`, `invalid_auth`…) fails at once.
 * `slackApiUrl` points the client at a fake in tests and is left unset in production.
 */
import { ErrorCode, LogLevel, WebClient, type View, type Logger as SlackLogger } from '@slack/web-api';
import type { Logger } from '../../lib/logger.js';
import { DEFAULT_RETRY, verdictForStatus, withRetry, type RetryPolicy, type RetryVerdict } from '../retry.js';
import type { SlackMessage } from './render.js';

export interface SlackApi {
  /** Posts to a channel id, a channel name, or a user id (a DM); answers the channel id and ts. */
  postMessage(channel: string, message: SlackMessage): Promise<{ channel: string; ts: string }>;
  update(channel: string, ts: string, message: SlackMessage): Promise<void>;
  postEphemeral(channel: string, user: string, message: SlackMessage): Promise<void>;
  openView(triggerId: string, view: View): Promise<void>;
  authTest(): Promise<{ teamId: string; team: string; user: string }>;
}

export interface SlackApiOptions {
  readonly token: string;
  /** Unset in production (https://slack.com/api/). */
  readonly apiUrl?: string | undefined;
  readonly logger: Logger;
  readonly retry?: RetryPolicy;
  readonly timeoutMs?: number;
}

/** A trigger_id lives 3 s: a modal or a reply to a click gets one quick second try at most. */
const INTERACTIVE_RETRY: RetryPolicy = { attempts: 2, baseDelayMs: 200, maxDelayMs: 500, maxTotalMs: 2_500 };
const TRANSIENT_SLACK_ERRORS = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

/** The Slack error code (`msg_too_long`…) or HTTP status of a failed call, for logs; never a token. */
export function slackErrorOf(err: unknown): string {
  const e = err as { code?: unknown; data?: { error?: unknown }; statusCode?: unknown };
  if (e?.code === ErrorCode.PlatformError && typeof e.data?.error === 'string') return e.data.error;
  if (e?.code === ErrorCode.RateLimitedError) return 'ratelimited';
  if (e?.code === ErrorCode.HTTPError) return `http_${String(e.statusCode)}`;
  if (e?.code === ErrorCode.RequestError) return 'request_error';
  return 'unknown';
}

export function classifySlackError(err: unknown): RetryVerdict {
  const e = err as {
    code?: unknown;
    retryAfter?: unknown;
    statusCode?: unknown;
    headers?: Record<string, unknown>;
    data?: { error?: unknown };
  };
  switch (e?.code) {
    case ErrorCode.RateLimitedError:
      return typeof e.retryAfter === 'number'
        ? { retry: true, afterMs: e.retryAfter * 1000 }
        : { retry: true };
    case ErrorCode.HTTPError: {
      const ra = Number(e.headers?.['retry-after']);
      return verdictForStatus(Number(e.statusCode), Number.isFinite(ra) && ra >= 0 ? ra * 1000 : undefined);
    }
    case ErrorCode.RequestError:
      return { retry: true };
    case ErrorCode.PlatformError:
      return typeof e.data?.error === 'string' && TRANSIENT_SLACK_ERRORS.has(e.data.error)
        ? { retry: true }
        : { retry: false };
    default:
      return { retry: false };
  }
}

/** The SDK's logger interface over ours; its chatter goes to debug, its warnings stay warnings. */
function slackLogger(logger: Logger): SlackLogger {
  const child = logger.child({ component: 'slack-sdk' });
  return {
    debug: (...m: unknown[]) => child.debug(m.map(String).join(' ')),
    info: (...m: unknown[]) => child.debug(m.map(String).join(' ')),
    warn: (...m: unknown[]) => child.warn(m.map(String).join(' ')),
    error: (...m: unknown[]) => child.error(m.map(String).join(' ')),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

export { slackLogger };

export function createSlackApi(options: SlackApiOptions): SlackApi {
  const client = new WebClient(options.token, {
    ...(options.apiUrl !== undefined && { slackApiUrl: options.apiUrl }),
    logger: slackLogger(options.logger),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: options.timeoutMs ?? 10_000,
  });
  const policy = options.retry ?? DEFAULT_RETRY;
  const call = <T>(method: string, fn: () => Promise<T>, p: RetryPolicy = policy) =>
    withRetry(fn, classifySlackError, p, {
      onRetry: ({ attempt, delayMs, error }) =>
        options.logger.warn(
          { channel: 'slack', method, attempt, delay_ms: delayMs, error: slackErrorOf(error) },
          'slack call failed; retrying',
        ),
    });

  return {
    async postMessage(channel, message) {
      const r = await call('chat.postMessage', () =>
        client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false }),
      );
      if (typeof r.channel !== 'string' || typeof r.ts !== 'string') {
        throw new Error('chat.postMessage answered without channel and ts');
      }
      return { channel: r.channel, ts: r.ts };
    },
    async update(channel, ts, message) {
      await call('chat.update', () =>
        client.chat.update({ channel, ts, text: message.text, blocks: message.blocks }),
      );
    },
    async postEphemeral(channel, user, message) {
      await call(
        'chat.postEphemeral',
        () => client.chat.postEphemeral({ channel, user, text: message.text, blocks: message.blocks }),
        INTERACTIVE_RETRY,
      );
    },
    async openView(triggerId, view) {
      await call('views.open', () => client.views.open({ trigger_id: triggerId, view }), INTERACTIVE_RETRY);
    },
    async authTest() {
      const r = await call('auth.test', () => client.auth.test());
      return { teamId: r.team_id ?? '', team: r.team ?? '', user: r.user ?? '' };
    },
  };
}

/**
 * The install flow's calls (`oauth.v2.access`, `auth.test` with the new token, `auth.revoke`), through
 * the same WebClient, one client per call so no token outlives it in memory.
 */
export function createSlackOAuthApi(options: {
  readonly apiUrl?: string | undefined;
  readonly logger: Logger;
  readonly timeoutMs?: number;
}) {
  // The SDK's debug lines include request bodies (the client secret, the code): only its warnings pass.
  const quiet = slackLogger(options.logger);
  const logger: SlackLogger = { ...quiet, debug: () => {}, info: () => {} };
  const client = (token?: string) =>
    new WebClient(token, {
      ...(options.apiUrl !== undefined && { slackApiUrl: options.apiUrl }),
      logger,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: options.timeoutMs ?? 10_000,
    });
  const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  return {
    async exchangeCode(args: { clientId: string; clientSecret: string; code: string; redirectUri: string }) {
      const r = await client().oauth.v2.access({
        client_id: args.clientId,
        client_secret: args.clientSecret,
        code: args.code,
        redirect_uri: args.redirectUri,
      });
      const team = r.team as { id?: unknown; name?: unknown } | undefined;
      const hook = r.incoming_webhook as { channel_id?: unknown } | undefined;
      const teamId = str(team?.id);
      return {
        accessToken: str(r.access_token) ?? '',
        tokenType: str(r.token_type) ?? '',
        scope: str(r.scope) ?? '',
        botUserId: str(r.bot_user_id) ?? '',
        appId: str(r.app_id),
        team: teamId !== null ? { id: teamId, name: str(team?.name) ?? teamId } : null,
        enterpriseId: str((r.enterprise as { id?: unknown } | undefined)?.id),
        isEnterpriseInstall: r.is_enterprise_install === true,
        installerUserId: str((r.authed_user as { id?: unknown } | undefined)?.id),
        channelId: str(hook?.channel_id),
      };
    },
    async authTest(token: string) {
      const r = await client(token).auth.test();
      return { teamId: r.team_id ?? '', userId: r.user_id ?? '', botId: str(r.bot_id) };
    },
    async revoke(token: string) {
      await client(token).auth.revoke();
    },
  };
}
