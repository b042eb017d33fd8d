/**
 * The handoff lifecycle: create (risk derived here, the agent's claim never read), read and wait,
 * decide exactly once (quorum, step-up), cancel, expire. Channels, the dashboard and the API all
 * decide through `decide`: there is one decision path.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import {
  assess,
  assuranceLevel,
  atLeast,
  requiredAssurance,
  stepUpAdvice,
  type AssuranceFacts,
  type DecisionChannel,
  type StepUp,
} from '../../core/approval/assurance.js';
import { applyVote, DEFAULT_OPTIONS, isDenyOption, type HandoffOption } from '../../core/approval/decide.js';
import { auditEvents, type Actor, type CancelReason } from '../../core/audit-chain/events.js';
import { canonicalize } from '../../core/audit-chain/entry.js';
import { effectiveTimeout, ruleOf, stepSchedule } from '../../core/policy/escalation.js';
import { redact } from '../../core/redact/index.js';
import { mcpToolRuleFor, type RiskInput } from '../../core/risk/index.js';
import { withTenant, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { JobQueue } from '../../jobs/queue.js';
import { isNotifyLevel } from '../../core/push/notification.js';
import type { Clock } from '../../lib/clock.js';
import { sha256, sha256Hex } from '../../lib/crypto.js';
import { storesPayloads } from '../../core/retention/retention.js';
import { AppError, notFound } from '../../lib/errors.js';
import { checkCallbackUrl, SsrfError } from '../../lib/ssrf.js';
import type { EphemeralStore } from '../../state/store.js';
import { appendAudit } from '../audit/audit.repository.js';
import { hasMessages } from '../channels/channels.repository.js';
import { findDevice } from '../devices/devices.repository.js';
import type { AuthService } from '../auth/auth.service.js';
import type { AuthenticationResponseJSON, PasskeysService } from '../passkeys/passkeys.service.js';
import { actorOf, type Principal } from '../auth/principal.js';
import { findSessionSignIn } from '../auth/sessions.repository.js';
import { revokedError, type Revocation } from '../auth/revocation.js';
import type { Keyring } from '../orgs/keyring.js';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import { policiesFrom } from '../policies/policies.js';
import type { RiskAnalyser } from '../risk/risk-pool.js';
import {
  findByIdempotencyKey,
  findHandoff,
  finishHandoff,
  getSettings,
  insertApproval,
  insertHandoff,
  insertPayload,
  findDecider,
  findPayload,
  listApprovals,
  listAttempts,
  listHandoffs,
  type Handoff,
} from './handoffs.repository.js';
import { createSettingsCache, type CurrentSettings } from './settings-cache.js';
import { recordPayloadExpanded, recordView } from '../insights/insights.repository.js';
import { orgChannel, wakeChannel } from './wake-channels.js';
import { createExtensionService } from './extension.service.js';
import type { RejectionReason } from '../../core/approval/rejection.js';
import { typedConfirmation } from '../../core/approval/typed-confirmation.js';

export const JOBS = {
  expire: 'handoff-expire',
  escalate: 'handoff-escalate',
  callback: 'handoff-callback',
  notify: 'handoff-notify',
  /** Web Push of a new high or critical handoff (push.service.ts). */
  push: 'handoff-push',
} as const;

export interface CreateInput extends RiskInput {
  readonly options?: readonly HandoffOption[] | undefined;
  readonly timeout_s?: number | undefined;
  readonly callback_url?: string | undefined;
}

export interface HandoffsDeps {
  readonly db: Kysely<DB>;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly jobs: Pick<JobQueue, 'send' | 'sendMany'>;
  readonly store: Pick<EphemeralStore, 'publish' | 'subscribe'>;
  readonly auth: Pick<AuthService, 'checkStepUp'>;
  /** A passkey assertion bound to (handoff, option) satisfies the step-up (passkeys.service.ts). */
  readonly passkeys: Pick<PasskeysService, 'verifyAssertion' | 'stepUpOptions'>;
  readonly callbacks: { readonly allowHosts: readonly string[]; readonly allowHttp: boolean };
  /** The risk engine off the event loop, within a budget, failing closed (risk-pool.ts). */
  readonly risk: Pick<RiskAnalyser, 'assess'>;
  /** Counters with closed-enum labels (docs/privacy.md); default: counts nothing. */
  readonly metrics?: Pick<Metrics, 'handoffCreated' | 'handoffDecided'>;
  /** A long-poll of a principal that is revoked meanwhile ends with 401 (revocation.ts). */
  readonly revocation: Pick<Revocation, 'track' | 'isValid'>;
  /** ONY_WEB_PUSH (docs/notifications.md): off, a create enqueues no push job. */
  readonly webPush: boolean;
}

const SHORT_CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const newShortCode = () =>
  Array.from({ length: 6 }, () => SHORT_CODE_ALPHABET[randomInt(SHORT_CODE_ALPHABET.length)]).join('');
/** What a handoff withdrawn for a reason says about it (its decision comment). */
export const CANCEL_REASON_TEXT: Readonly<Record<CancelReason, string>> = {
  local_prompt:
    "withdrawn by the agent's hook: the decision moved to the agent's local prompt (ONY_HOOK_ON_PENDING=ask)",
};

export function createHandoffsService(deps: HandoffsDeps) {
  const { db, keyring, clock, jobs, store, auth, passkeys, callbacks, risk: riskAnalyser, revocation } = deps;
  const metrics = deps.metrics ?? noMetrics;
  const extension = createExtensionService({ db, clock, jobs, store, expireJob: JOBS.expire });
  const settingsCache = createSettingsCache();

  /** Wakes the handoff's waiters (long-polls, SSE) and the org's live queue. */
  async function changed(orgId: string, id: string, status: string): Promise<void> {
    await Promise.all([store.publish(wakeChannel(id), status), store.publish(orgChannel(orgId), id)]);
  }

  /** Moves a pending handoff past its expiry to `expired` (a deny) in the caller's transaction. */
  async function expireIn(tx: TenantTx, h: Handoff): Promise<boolean> {
    const now = clock.now();
    if (
      !(await finishHandoff(tx, h.id, {
        status: 'expired',
        at: now,
        option: null,
        decidedBy: null,
        channel: null,
        comment: null,
      }))
    ) {
      return false;
    }
    await appendAudit(tx, auditEvents.handoffExpired(h), now);
    await finished(tx, h);
    // Counted before the commit: an expiry that rolls back is retried and may count twice (rare).
    metrics.handoffDecided('expired', null);
    return true;
  }

  /**
   * After a handoff left pending, in the same transaction: the agent's callback (not when the agent
   * cancelled it itself), and the update of
   * every chat message that asked about it (the escalation step locks the handoff row before it
   * records messages, so a message posted during the decision is seen here or there).
   */
  async function finished(
    tx: TenantTx,
    h: Handoff,
    { callback = true, asked = true }: { callback?: boolean; asked?: boolean } = {},
  ): Promise<void> {
    const data = { org_id: tx.orgId, handoff_id: h.id };
    if (callback && h.callbackUrl !== null)
      await jobs.send(
        JOBS.callback,
        data,
        { singletonKey: `callback:${h.id}`, retryLimit: 8, retryDelaySeconds: 5, retryBackoff: true },
        tx.db,
      );
    // `asked: false`: decided in the transaction that created it, so no channel has asked yet.
    if (asked && (await hasMessages(tx, h.id)))
      await jobs.send(JOBS.notify, data, { singletonKey: `notify:${h.id}`, retryLimit: 3 }, tx.db);
  }

  /** Reads a handoff the principal may see: members see their org's, a device only its own. */
  async function readable(tx: TenantTx, p: Principal, id: string, lock = false): Promise<Handoff> {
    const h = await findHandoff(tx, id, { lock });
    if (h === undefined || (p.kind === 'device' && h.deviceId !== p.deviceId)) throw notFound('handoff');
    return h;
  }

  /**
   * The facts of an answer before any step-up (docs/assurance.md): the channel, and on the web the
   * session's sign-in (how, and how long ago); a chat link or a verified number elsewhere.
   */
  async function factsOf(
    tx: TenantTx,
    p: Principal & { kind: 'member' },
    channel: DecisionChannel,
    now: Date,
  ): Promise<AssuranceFacts> {
    const none = { step_up: 'none', amr: null, acr: null, session_age_s: null } as const;
    if (channel !== 'web')
      return {
        ...none,
        channel,
        identity: channel === 'sms' || channel === 'phone' ? 'phone_number' : 'chat_link',
      };
    const s = await findSessionSignIn(tx, p.sessionId);
    if (s === undefined) return { ...none, channel, identity: 'password' };
    return {
      ...none,
      channel,
      session_age_s: Math.max(0, Math.floor((now.getTime() - s.signedInAt.getTime()) / 1000)),
      identity: s.proof.method,
      ...(s.proof.method === 'sso' && { amr: s.proof.amr, acr: s.proof.acr }),
    };
  }

  async function get(p: Principal, id: string): Promise<Handoff> {
    const { h, expired } = await withTenant(db, p.orgId, async (tx) => {
      const found = await readable(tx, p, id);
      // Expire lazily on read too, so an answer never says pending after the deadline.
      if (found.status === 'pending' && clock.now() >= found.expiresAt) {
        const locked = await readable(tx, p, id, true);
        const expired = locked.status === 'pending' && (await expireIn(tx, locked));
        return { h: (await findHandoff(tx, id))!, expired };
      }
      return { h: found, expired: false };
    });
    if (expired) await changed(p.orgId, id, 'expired');
    return h;
  }

  return {
    JOBS,

    async create(
      p: Principal & { kind: 'device' },
      input: CreateInput,
      idempotencyKey: string | undefined,
      /** Agent integrations: the tool call's fingerprint, so a retried call can find this handoff. */
      extra: { readonly fingerprint?: string } = {},
    ) {
      // The agent's own risk claim is not part of CreateInput: the route never copies it.
      const requestSha256 = sha256Hex(canonicalize(input));
      if (input.callback_url !== undefined) {
        try {
          checkCallbackUrl(input.callback_url, {
            allowHosts: callbacks.allowHosts,
            allowHttp: callbacks.allowHttp,
          });
        } catch (err) {
          if (err instanceof SsrfError) throw new AppError('unprocessable', err.message);
          throw err;
        }
      }
      // A human can always say no: "deny" is added when the agent's options lack it.
      const given = input.options ?? DEFAULT_OPTIONS;
      const options = given.some((o) => isDenyOption(o.id))
        ? given
        : [...given, { id: 'deny', label: 'Deny' }];
      if (new Set(options.map((o) => o.id)).size !== options.length) {
        throw new AppError('unprocessable', 'option ids must be distinct');
      }
      if (options.length > 6) throw new AppError('unprocessable', 'at most 5 options besides "deny"');
      if (input.payload !== undefined && Buffer.byteLength(input.payload.content, 'utf8') > 1_048_576) {
        throw new AppError('payload_too_large', 'payload.content is larger than 1 MiB');
      }
      const replay = async () =>
        idempotencyKey === undefined
          ? undefined
          : withTenant(db, p.orgId, (tx) => findByIdempotencyKey(tx, p.deviceId, idempotencyKey));
      const replayed = (previous: Handoff) => {
        if (previous.requestSha256 !== requestSha256) {
          throw new AppError('unprocessable', 'this Idempotency-Key was used with a different request body');
        }
        return { handoff: previous, replayed: true };
      };
      // The org's settings: this replica's copy when the device's look-up says it is current (then a
      // replay is found in the write transaction); otherwise one read, which also answers a replay.
      const cached = settingsCache.get(p.orgId, p.settingsVersion);
      let current: CurrentSettings;
      if (cached !== undefined) current = cached;
      else {
        const read = await withTenant(db, p.orgId, async (tx) => ({
          previous:
            idempotencyKey === undefined
              ? undefined
              : await findByIdempotencyKey(tx, p.deviceId, idempotencyKey),
          settings: await getSettings(tx),
        }));
        if (read.previous !== undefined) return replayed(read.previous);
        current = { settings: read.settings, policies: policiesFrom(read.settings) };
        settingsCache.put(p.orgId, current);
      }
      const { settings, policies } = current;
      // Before the write transaction, on a worker thread: a 1 MiB payload takes the engine about half
      // a second, which neither the event loop nor a held connection should wait for. Within the
      // budget, or at least high with analysis_incomplete (never low).
      const risk = await riskAnalyser.assess(input, policies.risk);
      // Retention 0 (docs/privacy.md): the payload's salted hash is kept, the payload itself never stored.
      const keepPayload = storesPayloads(settings.payloadRetentionDays);
      try {
        const made = await withTenant(db, p.orgId, async (tx): Promise<{ h: Handoff; replay?: true }> => {
          if (cached !== undefined && idempotencyKey !== undefined) {
            const previous = await findByIdempotencyKey(tx, p.deviceId, idempotencyKey);
            if (previous !== undefined) return { h: previous, replay: true };
          }
          const level = policies.escalation.levels[risk.level];
          const toolRule = mcpToolRuleFor(policies.risk.mcp_tools ?? [], input.action.target);
          const rule = ruleOf(level, toolRule?.action);
          const now = clock.now();
          const expiresAt = new Date(
            now.getTime() + effectiveTimeout(policies.escalation, input.timeout_s) * 1000,
          );
          const id = randomUUID();
          // The payload's salted hash goes on the handoff (and in the chain); the salt stays with the payload.
          const salt = randomBytes(16);
          const content =
            input.payload !== undefined ? Buffer.from(input.payload.content, 'utf8') : undefined;
          const payloadSha =
            content !== undefined ? sha256(Buffer.concat([salt, content])).toString('hex') : null;
          // Short codes are unique among the org's pending handoffs: draw again on a collision.
          let h: Handoff | undefined;
          for (let attempt = 0; h === undefined; attempt++) {
            if (attempt === 8) throw new Error('could not draw a free short code');
            h = await insertHandoff(tx, {
              id,
              shortCode: newShortCode(),
              deviceId: p.deviceId,
              actionType: input.action.type,
              actionTarget: input.action.target !== undefined ? redact(input.action.target).text : null,
              title: redact(input.title).text,
              summary: redact(input.summary).text,
              options,
              riskLevel: risk.level,
              riskReasons: risk.reasons,
              context: Object.fromEntries(
                Object.entries(input.context ?? {}).map(([k, v]) => [k, redact(String(v)).text]),
              ),
              requiredApprovals: level.required_approvals,
              totpRequired: level.require_totp,
              minAssurance: level.min_assurance,
              callbackUrl: input.callback_url ?? null,
              idempotencyKey: idempotencyKey ?? null,
              requestSha256,
              payloadSha256: payloadSha !== null ? Buffer.from(payloadSha, 'hex') : null,
              fingerprint: extra.fingerprint ?? null,
              payloadRemovedAt: content !== undefined && !keepPayload ? now : null,
              createdAt: now,
              expiresAt,
            });
          }
          if (input.payload !== undefined && content !== undefined && keepPayload) {
            const contentEnc = await keyring.encrypt(tx, content, `payload:${id}`);
            await insertPayload(tx, { handoffId: id, kind: input.payload.kind, salt, contentEnc });
          }
          await appendAudit(tx, auditEvents.handoffCreated(actorOf(p), h, payloadSha), now);
          if (rule !== 'approve') {
            // Routine or forbidden: decided now by the org's rule, no human asked.
            const option = rule === 'allow' ? options.find((o) => !isDenyOption(o.id))!.id : 'deny';
            const outcome = rule === 'allow' ? 'approved' : 'denied';
            const byTool = toolRule?.action === 'deny' ? `mcp_tools[${toolRule.index}]` : undefined;
            await finishHandoff(tx, id, {
              status: outcome,
              at: now,
              option,
              decidedBy: null,
              channel: 'policy',
              comment: byTool !== undefined ? `denied by the org's MCP tool rule ${byTool}` : null,
            });
            await appendAudit(
              tx,
              auditEvents.handoffDecidedByPolicy(h, {
                option,
                outcome,
                rule,
                ...(byTool !== undefined ? { by: byTool } : {}),
              }),
              now,
            );
            await finished(tx, h, { asked: false });
            return { h: (await findHandoff(tx, id))! };
          }
          // The expiry and every escalation step, in one statement with the handoff's transaction.
          const timeoutS = (expiresAt.getTime() - now.getTime()) / 1000;
          await jobs.sendMany(
            [
              {
                name: JOBS.expire,
                data: { org_id: p.orgId, handoff_id: id },
                options: { startAfter: expiresAt, singletonKey: `expire:${id}` },
              },
              ...stepSchedule(level, timeoutS).map(({ step, round, at_s }) => ({
                name: JOBS.escalate,
                data: { org_id: p.orgId, handoff_id: id, step, round },
                options: {
                  startAfter: new Date(now.getTime() + at_s * 1000),
                  singletonKey: `escalate:${id}:${round}:${step}`,
                },
              })),
              // Phones of members who chose this level (docs/notifications.md); once, not retried.
              ...(deps.webPush && isNotifyLevel(risk.level)
                ? [
                    {
                      name: JOBS.push,
                      data: { org_id: p.orgId, handoff_id: id },
                      options: { singletonKey: `push:${id}`, retryLimit: 0 },
                    },
                  ]
                : []),
            ],
            tx.db,
          );
          return { h };
        });
        if (made.replay) return replayed(made.h);
        const handoff = made.h;
        await store.publish(orgChannel(p.orgId), handoff.id);
        metrics.handoffCreated(handoff.riskLevel);
        if (handoff.status !== 'pending') metrics.handoffDecided(handoff.status, 'policy');
        return { handoff, replayed: false };
      } catch (err) {
        // Two retries racing on one Idempotency-Key: the loser answers the winner's handoff.
        if ((err as { code?: string }).code === '23505' && idempotencyKey !== undefined) {
          const winner = await replay();
          if (winner !== undefined) return replayed(winner);
        }
        throw err;
      }
    },

    get,

    /** Long-poll: answers as soon as the handoff leaves pending, or after `seconds`. */
    /**
     * Waits up to `seconds` for the handoff to leave pending. Revoking the principal meanwhile (a
     * device, a session, a member) ends the wait with 401; so does finding it revoked on waking,
     * even when the revocation message was lost.
     */
    async wait(p: Principal, id: string, seconds: number): Promise<Handoff> {
      const first = await get(p, id);
      if (first.status !== 'pending' || seconds <= 0) return first;
      // A change may arrive while the handoff is being read: remembered, it ends the next sleep at once.
      let signalled = false;
      let wake: () => void = () => undefined;
      const signal = () => {
        signalled = true;
        wake();
      };
      let revoked = false;
      const untrack = await revocation.track(p, () => {
        revoked = true;
        signal();
      });
      let unsubscribe: () => void = () => undefined;
      // The caller's wait is wall-clock time (a timer); the expiry is the server clock's.
      const deadline = Date.now() + seconds * 1000;
      try {
        unsubscribe = await store.subscribe(wakeChannel(id), signal);
        let h = await get(p, id);
        // Woken by any change: a decision ends the wait; an Extend moved the expiry, so the wait
        // goes on until the caller's deadline or the new expiry, whichever comes first.
        while (h.status === 'pending') {
          const left = deadline - Date.now();
          if (left <= 0) return h;
          const untilExpiry = h.expiresAt.getTime() - clock.now().getTime() + 50;
          let timer: NodeJS.Timeout | undefined;
          const woken = new Promise<void>((resolve) => {
            wake = resolve;
            if (signalled) resolve();
            timer = setTimeout(resolve, Math.max(0, Math.min(left, untilExpiry)));
          });
          await woken;
          clearTimeout(timer);
          signalled = false;
          if (revoked || !(await revocation.isValid(p))) throw revokedError(p);
          h = await get(p, id);
        }
        return h;
      } finally {
        unsubscribe();
        untrack();
      }
    },

    /** Extend: more time for a pending handoff, within its policy's maximum (extension.service.ts). */
    extend: extension.extend,

    /** Subscribes to a handoff's changes (for Server-Sent Events); answers the unsubscribe. */
    subscribe: (id: string, onChange: () => void) => store.subscribe(wakeChannel(id), onChange),

    /** Subscribes to every handoff of an org (created, approval recorded, decided, expired, cancelled). */
    subscribeOrg: (orgId: string, onChange: (handoffId: string) => void) =>
      store.subscribe(orgChannel(orgId), onChange),

    /**
     * Passkey step-up options to approve `option` of a pending handoff: the challenge is bound to
     * this handoff and option, single-use and short-lived (passkeys.service.ts).
     */
    async passkeyStepUpOptions(p: Principal & { kind: 'member' }, id: string, option: string) {
      return withTenant(db, p.orgId, async (tx) => {
        const h = await readable(tx, p, id);
        if (h.status !== 'pending') throw new AppError('conflict', `the handoff is already ${h.status}`);
        if (!h.options.some((o) => o.id === option))
          throw new AppError(
            'unprocessable',
            `unknown option "${option}"; choose one of ${h.options.map((o) => o.id).join(', ')}`,
          );
        if (isDenyOption(option)) throw new AppError('bad_request', 'a deny needs no step-up');
        return passkeys.stepUpOptions(tx, p.memberId, id, option);
      });
    },

    /**
     * The one decision path. Exactly once: the handoff row is locked, the vote applied by the pure
     * state machine, the final status written with a `status = 'pending'` guard.
     */
    async decide(
      p: Principal & { kind: 'member' },
      id: string,
      vote: {
        option: string;
        comment?: string | undefined;
        totpCode?: string | undefined;
        /** A passkey assertion answering a step-up challenge bound to this handoff and option. */
        passkey?: AuthenticationResponseJSON | undefined;
        /** Ask for the TOTP code even where the policy does not (SMS approvals of high risk). */
        forceStepUp?: boolean | undefined;
        /** A deny's reason (a closed code); refused on an approving option. */
        reason?: RejectionReason | undefined;
        /** Web approvals of critical handoffs: the short code, typed (typed-confirmation.ts). */
        confirmShortCode?: string | undefined;
      },
      channel: DecisionChannel,
    ): Promise<{ handoff: Handoff; outcome: 'decided' | 'recorded' | 'replay' }> {
      if (vote.reason !== undefined && !isDenyOption(vote.option))
        throw new AppError(
          'bad_request',
          'a `reason` says why a handoff was denied: send it with "deny" only (use `comment` to explain an approval)',
        );
      const result = await withTenant(db, p.orgId, async (tx) => {
        const h = await readable(tx, p, id, true);
        const now = clock.now();
        const approvals = await listApprovals(tx, id);
        const r = applyVote(
          {
            status: h.status,
            expiresAt: h.expiresAt,
            options: h.options,
            requiredApprovals: h.requiredApprovals,
            approvals,
            decision: h.decisionOption !== null ? { option: h.decisionOption, memberId: h.decidedBy } : null,
          },
          { memberId: p.memberId, option: vote.option, now },
        );
        switch (r.kind) {
          case 'unknown_option':
            throw new AppError(
              'unprocessable',
              `unknown option "${vote.option}"; choose one of ${h.options.map((o) => o.id).join(', ')}`,
            );
          case 'conflict':
            throw new AppError('conflict', r.reason);
          case 'replay':
            return { kind: 'replay' as const, h };
          case 'expired':
            await expireIn(tx, h);
            return { kind: 'expired' as const, h };
          case 'recorded':
          case 'decided': {
            const approving = !isDenyOption(vote.option);
            // Before any step-up, so a refused confirmation uses up no TOTP code or passkey challenge.
            const typed = typedConfirmation(h, { approving, channel, typed: vote.confirmShortCode });
            if (typed === 'missing' || typed === 'wrong')
              throw new AppError(
                'unprocessable',
                typed === 'missing'
                  ? `approving a critical handoff needs its short code typed as a confirmation: send \`confirm_short_code\` ("${h.shortCode}")`
                  : `the confirmation code does not match this handoff's short code; type "${h.shortCode}" to approve it`,
                { field: 'confirm_short_code', confirmation: typed },
              );
            // How strong this answer is (docs/assurance.md). A deny never needs a step-up; it is
            // recorded with its assurance all the same.
            const facts = await factsOf(tx, p, channel, now);
            const required = requiredAssurance(h.minAssurance, h.riskLevel, channel);
            // What was verified for this one answer.
            let stepUp: StepUp = 'none';
            // A passkey assertion bound to this handoff and option (docs/passkeys.md), verified and
            // its challenge used up in this transaction: the strongest step-up (A3).
            if (vote.passkey !== undefined) {
              if (!approving) throw new AppError('bad_request', 'a deny needs no step-up; send no `passkey`');
              await passkeys.verifyAssertion(tx, p.memberId, 'step_up', vote.passkey, {
                handoffId: id,
                option: vote.option,
              });
              stepUp = 'passkey';
            }
            if (approving) {
              const below = !atLeast(assuranceLevel(facts), required);
              const totpReaches = atLeast(assuranceLevel({ ...facts, step_up: 'totp' }), required);
              const policyTotp = h.totpRequired || vote.forceStepUp === true;
              const wantsTotp = policyTotp || (below && totpReaches) || vote.totpCode !== undefined;
              if (stepUp !== 'passkey' && wantsTotp) {
                const step = await auth.checkStepUp(tx, p.memberId, vote.totpCode);
                if (step === 'ok') stepUp = 'totp';
                else if (step === 'invalid') throw new AppError('totp_invalid');
                else if (policyTotp && step === 'missing')
                  throw new AppError(
                    'totp_required',
                    'approving at this risk level needs your TOTP code (`totp`) or a passkey (`passkey`)',
                  );
                // Not enrolled: below the minimum too, the assurance refusal says how to step up
                // (enrol TOTP, or the dashboard; channels add the link), as docs/assurance.md says.
                else if (policyTotp && !below)
                  throw new AppError(
                    'forbidden',
                    'approving at this risk level needs TOTP or a passkey; enrol one on your Account page',
                  );
                else if (below && totpReaches && step === 'missing')
                  throw new AppError(
                    'totp_required',
                    `approving this needs assurance ${required}: send your TOTP code (\`totp\`)`,
                    { required_assurance: required, assurance: assuranceLevel(facts) },
                  );
              }
              const reached = assess({ ...facts, step_up: stepUp });
              if (!atLeast(reached.level, required)) {
                const enrolled = (await auth.checkStepUp(tx, p.memberId, undefined)) !== 'not_enrolled';
                throw new AppError('assurance_required', stepUpAdvice(reached, required, enrolled), {
                  required_assurance: required,
                  assurance: reached.level,
                });
              }
            }
            const assurance = assess({ ...facts, step_up: stepUp });
            const comment = vote.comment ?? null;
            if (approving)
              await insertApproval(tx, {
                handoffId: id,
                memberId: p.memberId,
                option: vote.option,
                channel,
                comment,
                at: now,
                assurance,
              });
            const actor: Actor = actorOf(p);
            if (r.kind === 'recorded') {
              await appendAudit(
                tx,
                auditEvents.handoffApprovalRecorded(actor, h, {
                  option: vote.option,
                  channel,
                  received: r.received,
                  required: r.required,
                  assurance,
                }),
                now,
              );
              return { kind: 'recorded' as const, h: (await findHandoff(tx, id))! };
            }
            const ok = await finishHandoff(tx, id, {
              status: r.status,
              at: now,
              option: vote.option,
              decidedBy: p.memberId,
              channel,
              comment,
              assurance,
              reason: vote.reason ?? null,
            });
            if (!ok) throw new AppError('conflict', 'the handoff was decided concurrently');
            await appendAudit(
              tx,
              auditEvents.handoffDecided(actor, h, {
                option: vote.option,
                outcome: r.status,
                channel,
                assurance,
                reason: vote.reason ?? null,
              }),
              now,
            );
            await finished(tx, h);
            return { kind: 'decided' as const, h: (await findHandoff(tx, id))! };
          }
        }
      });
      if (result.kind === 'expired') {
        await changed(p.orgId, id, 'expired');
        throw new AppError('conflict', 'the handoff expired before a decision');
      }
      if (result.kind === 'decided') {
        metrics.handoffDecided(result.h.status, channel);
        await changed(p.orgId, id, result.h.status);
      } else if (result.kind === 'recorded') await store.publish(orgChannel(p.orgId), id);
      return { handoff: result.h, outcome: result.kind };
    },

    /**
     * The agent withdraws its own pending handoff, saying why when it can (`reason`, recorded on the
     * handoff as its comment, and as a closed code in the audit entry).
     */
    async cancel(
      p: Principal & { kind: 'device' },
      id: string,
      opts: { readonly reason?: CancelReason } = {},
    ): Promise<Handoff> {
      let cancelledNow = false;
      const h = await withTenant(db, p.orgId, async (tx) => {
        const found = await readable(tx, p, id, true);
        if (found.status === 'cancelled') return found;
        if (found.status !== 'pending')
          throw new AppError('conflict', `the handoff was already ${found.status}`);
        const now = clock.now();
        await finishHandoff(tx, id, {
          status: 'cancelled',
          at: now,
          option: null,
          decidedBy: null,
          channel: 'agent',
          comment: opts.reason !== undefined ? CANCEL_REASON_TEXT[opts.reason] : null,
        });
        await appendAudit(tx, auditEvents.handoffCancelled(actorOf(p), found, opts.reason), now);
        await finished(tx, found, { callback: false });
        cancelledNow = true;
        return (await findHandoff(tx, id))!;
      });
      if (cancelledNow) metrics.handoffDecided('cancelled', 'agent');
      await changed(p.orgId, id, 'cancelled');
      return h;
    },

    /** Job: expiry at the deadline (idempotent: a decided handoff stays decided). */
    async expireJob(orgId: string, id: string): Promise<void> {
      const expired = await withTenant(db, orgId, async (tx) => {
        const h = await findHandoff(tx, id, { lock: true });
        if (h === undefined || h.status !== 'pending') return false;
        if (clock.now().getTime() < h.expiresAt.getTime() - 1000) {
          // Fired early (clock skew between the database and this process): try again at the deadline.
          await jobs.send(JOBS.expire, { org_id: orgId, handoff_id: id }, { startAfter: h.expiresAt }, tx.db);
          return false;
        }
        return expireIn(tx, h);
      });
      if (expired) await changed(orgId, id, 'expired');
    },

    /**
     * What the dashboard shows beside the view: the payload (decrypted; agent text, rendered as text
     * only) unless `withPayload` is false, the context, the requesting device, each approval and every
     * escalation attempt. Records the member's first view, and first payload fetch (docs/insights.md).
     */
    async detail(
      p: Principal & { kind: 'member' },
      id: string,
      opts: { withPayload: boolean } = { withPayload: true },
    ) {
      await get(p, id); // expires lazily first, like every read
      return withTenant(db, p.orgId, async (tx) => {
        const h = await readable(tx, p, id);
        const stored = await findPayload(tx, id);
        const now = clock.now();
        if (opts.withPayload && stored !== undefined) await recordPayloadExpanded(tx, id, p.memberId, now);
        else await recordView(tx, id, p.memberId, now);
        const payload =
          stored === undefined || !opts.withPayload
            ? null
            : {
                kind: stored.kind,
                content: (await keyring.decrypt(tx, stored.contentEnc, `payload:${id}`)).toString('utf8'),
              };
        const approvals = await Promise.all(
          (await listApprovals(tx, id)).map(async (a) => ({
            ...a,
            name: (await findDecider(tx, a.memberId))?.name ?? null,
          })),
        );
        const device = await findDevice(tx, h.deviceId);
        return {
          handoff: h,
          payload,
          /** A payload is kept but was left out on request (fetch it with payload()). */
          payloadWithheld: stored !== undefined && !opts.withPayload,
          approvals,
          attempts: await listAttempts(tx, id),
          device: device === undefined ? null : { id: device.id, name: device.name },
        };
      });
    },

    /** The payload alone (the dashboard's "Show payload"): records the member's first fetch of it. */
    async payload(p: Principal & { kind: 'member' }, id: string) {
      await get(p, id);
      return withTenant(db, p.orgId, async (tx) => {
        await readable(tx, p, id);
        const stored = await findPayload(tx, id);
        if (stored === undefined) throw notFound('payload');
        await recordPayloadExpanded(tx, id, p.memberId, clock.now());
        return {
          kind: stored.kind,
          content: (await keyring.decrypt(tx, stored.contentEnc, `payload:${id}`)).toString('utf8'),
        };
      });
    },

    list(p: Principal & { kind: 'member' }, f: Parameters<typeof listHandoffs>[1]) {
      return withTenant(db, p.orgId, (tx) => listHandoffs(tx, f));
    },

    async approvals(p: Principal, id: string) {
      return withTenant(db, p.orgId, async (tx) => {
        await readable(tx, p, id);
        return listApprovals(tx, id);
      });
    },
  };
}

export type HandoffsService = ReturnType<typeof createHandoffsService>;
