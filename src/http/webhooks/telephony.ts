/**
 * POST /webhooks/telephony/{voice,status,sms}: where the configured provider (Twilio, SignalWire,
 * Telnyx, Plivo) requests call scripts, reports call status and delivers inbound SMS. POST
 * /webhooks/telephony/o/<route id>/{voice,status,sms}: the same for an org's own account
 * (docs/telephony.md), verified with that org's credentials; an unknown route id answers 403 like
 * a wrong signature. Each request's
 * signature is checked against the exact public URL (ONY_PUBLIC_URL + path + query) and the raw body
 * before anything is parsed; a missing signature answers 401, a wrong, stale or replayed one 403,
 * and nothing changes. Replays are refused by the durable replay guard (Postgres, with expiry), so
 * a wiped ephemeral store re-opens none. Bodies are kept raw by parsers scoped to this plugin (form or JSON, per
 * provider), then parsed by the provider.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { InboundRequest, TelephonyProvider, WebhookKind } from '../../channels/telephony/provider.js';
import { keys, stepOf, TELEPHONY_WEBHOOK_PATH } from '../../channels/telephony/state.js';
import type { Config } from '../../config/index.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import type { ReplayGuard } from '../../features/replay/replay-guard.js';
import type { CallsService } from '../../features/telephony/calls.service.js';
import type { SmsService } from '../../features/telephony/sms.service.js';

/** Provider webhooks are small forms or JSON events. */
const BODY_LIMIT = 64 * 1024;

/** One account's inbound side: its provider (which verifies) and the services that act. */
export interface TelephonyInbound {
  readonly provider: TelephonyProvider;
  readonly calls: CallsService;
  readonly sms: SmsService;
}

export async function telephonyWebhookRoutes(
  app: FastifyInstance,
  opts: {
    /** The server-wide account (ONY_TELEPHONY_*), when configured. */
    server?: TelephonyInbound | undefined;
    /** An org's own account by the route id in its webhook paths. */
    org?: ((routeId: string) => Promise<TelephonyInbound | undefined>) | undefined;
    replay: ReplayGuard;
    clock: Clock;
    config: Pick<Config, 'publicUrl'>;
  },
): Promise<void> {
  const { replay, clock, config } = opts;
  app.removeAllContentTypeParsers();
  for (const type of ['application/x-www-form-urlencoded', 'application/json'])
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) =>
      done(null, body),
    );

  /** Verifies, refuses replays, then parses: every refusal happens before any state is read. */
  async function verified(req: FastifyRequest, kind: WebhookKind, provider: TelephonyProvider) {
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v[0] : v;
    const inbound: InboundRequest = {
      url: config.publicUrl + req.url,
      method: 'POST',
      headers,
      rawBody: typeof req.body === 'string' ? req.body : '',
    };
    const v = provider.verify(inbound, clock.now());
    if (!v.ok) {
      if (v.reason === 'missing') throw new AppError('unauthenticated', `missing ${provider.name} signature`);
      throw new AppError(
        'forbidden',
        `${provider.name} signature is ${v.reason === 'stale' ? 'stale' : 'wrong'}`,
      );
    }
    const replayKey = v.replayKey !== undefined ? keys.replay(provider.name, v.replayKey) : undefined;
    if (replayKey !== undefined && !(await replay.claim(replayKey, v.replayTtlMs ?? 15 * 60_000)))
      throw new AppError('forbidden', `${provider.name} request was already received (replay)`);
    const event = provider.parse(kind, inbound);
    if (event === undefined)
      throw new AppError('bad_request', `the body is not a ${provider.name} ${kind} event`);
    return { event, replayKey };
  }

  /**
   * Handles a verified request; if handling fails, its replay key is given back, so the provider's
   * retry of the same signed request (a 5xx makes it retry) is not refused as a replay.
   */
  async function handled<T>(replayKey: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (replayKey !== undefined) await replay.release(replayKey).catch(() => undefined);
      throw err;
    }
  }

  const tokenOf = (req: FastifyRequest) => {
    const s = (req.query as Record<string, unknown>).s;
    return typeof s === 'string' ? s : '';
  };
  // bodyLimit on the route too: a 413 states the limit the route enforces (routeOptions.bodyLimit).
  const route = { config: { auth: 'none' }, schema: { hide: true }, bodyLimit: BODY_LIMIT } as const;

  function register(prefix: string, find: (req: FastifyRequest) => Promise<TelephonyInbound | undefined>) {
    const account = async (req: FastifyRequest): Promise<TelephonyInbound> => {
      const found = await find(req);
      if (found === undefined) throw new AppError('forbidden', 'unknown webhook or wrong signature');
      return found;
    };

    app.post(`${prefix}/voice`, route, async (req, reply) => {
      const { provider, calls } = await account(req);
      const { event, replayKey } = await verified(req, 'voice', provider);
      if (event.kind !== 'voice') throw new AppError('bad_request', 'not a voice request');
      const query = req.query as Record<string, unknown>;
      const noInput = query.noinput === '1';
      const script = await handled(replayKey, () =>
        calls.voice(tokenOf(req), event, noInput, stepOf(query.k)),
      );
      const out = provider.render(script);
      return reply.type(out.contentType).send(out.body);
    });

    app.post(`${prefix}/status`, route, async (req, reply) => {
      const { provider, calls } = await account(req);
      const { event, replayKey } = await verified(req, 'status', provider);
      if (event.kind === 'status') await handled(replayKey, () => calls.status(tokenOf(req), event));
      const out = provider.acknowledge('status');
      return reply.type(out.contentType).send(out.body);
    });

    app.post(`${prefix}/sms`, route, async (req, reply) => {
      const { provider, sms } = await account(req);
      const { event, replayKey } = await verified(req, 'sms', provider);
      if (event.kind === 'sms') await handled(replayKey, () => sms.inbound(event));
      const out = provider.acknowledge('sms');
      return reply.type(out.contentType).send(out.body);
    });
  }

  const { server, org } = opts;
  if (server !== undefined) register(TELEPHONY_WEBHOOK_PATH, async () => server);
  if (org !== undefined)
    register(`${TELEPHONY_WEBHOOK_PATH}/o/:routeId`, async (req) =>
      org((req.params as { routeId: string }).routeId),
    );
}
