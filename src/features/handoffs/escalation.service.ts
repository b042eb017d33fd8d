/**
 * Escalation steps and agent callbacks, run as durable jobs. An escalation step sends the redacted
 * gist through a channel adapter (never the payload) and records the attempt without content; a
 * callback POSTs the decision to the agent, signed with the device's webhook secret, retried by
 * the job queue with backoff.
 */
import type { Kysely } from 'kysely';
import type { ChannelAdapter, DecisionNotice, SentMessage } from '../../channels/channel.js';
import { auditEvents, safeLabel } from '../../core/audit-chain/events.js';
import { gist } from '../../core/gist/index.js';
import type { ReasonCode, RiskInput } from '../../core/risk/index.js';
import { attemptOutcome, type AttemptOutcome } from '../../core/policy/attempt-outcome.js';
import { resolveTargets } from '../../core/policy/escalation.js';
import { withTenant, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { deliverCallback } from '../../lib/callback-delivery.js';
import { signWebhook } from '../../lib/webhook-signature.js';
import { appendAudit } from '../audit/audit.repository.js';
import type { Keyring } from '../orgs/keyring.js';
import { addressesOf, insertMessages, listMessages } from '../channels/channels.repository.js';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import type { SummaryInput } from '../../core/summary/index.js';
import {
  findHandoff,
  findPayload,
  insertAttempt,
  storeSummary,
  type Handoff,
} from './handoffs.repository.js';
import type { Summarizer } from './summarizer.client.js';
import { loadPolicies } from '../policies/policies.js';
import { handoffView } from './handoffs.view.js';

export interface EscalationDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly keyring: Keyring;
  readonly channels: Readonly<Record<string, ChannelAdapter>>;
  /** The org's own adapters (its own bot…), used before the server's; default: none. */
  readonly orgChannels?: {
    adaptersFor(orgId: string): Promise<Partial<Record<string, ChannelAdapter>>>;
  };
  readonly logger: Logger;
  /** The optional payload summarizer (docs/summarizer.md); undefined: off, the gist alone is sent. */
  readonly summarizer?: Summarizer | undefined;
  /** Escalation attempts by channel and outcome (closed enums); default: counts nothing. */
  readonly metrics?: Pick<Metrics, 'escalationAttempt'>;
  readonly config: {
    readonly publicUrl: string;
    readonly callbacks: { readonly allowHosts: readonly string[]; readonly allowHttp: boolean };
  };
}

export function createEscalationService({
  db,
  clock,
  keyring,
  channels,
  orgChannels,
  logger,
  config,
  summarizer,
  metrics = noMetrics,
}: EscalationDeps) {
  /** The adapters of this org: its own where it has them, else the server's. */
  const channelsOf = async (
    orgId: string,
  ): Promise<Readonly<Record<string, ChannelAdapter | undefined>>> => ({
    ...channels,
    ...(await orgChannels?.adaptersFor(orgId)),
  });
  // The dashboard's page of the handoff: where a human reads it all and decides.
  const handoffPage = (id: string) => `${config.publicUrl}/handoffs/${id}`;
  /** What the model may be given: the handoff's redacted text and its payload (redacted by the core). */
  async function summaryInputOf(tx: TenantTx, h: Handoff): Promise<SummaryInput> {
    const stored = await findPayload(tx, h.id);
    return {
      actionType: h.actionType,
      title: h.title,
      summary: h.summary,
      payload:
        stored === undefined
          ? undefined
          : {
              kind: stored.kind,
              content: (await keyring.decrypt(tx, stored.contentEnc, `payload:${h.id}`)).toString('utf8'),
            },
    };
  }

  /**
   * The model summary to send, or null for the gist alone. Asked once per handoff (the first step
   * to run), within the summarizer's timeout, and stored with its source before anything is sent;
   * later steps read what is stored.
   */
  async function summaryOf(
    orgId: string,
    h: Handoff,
    input: SummaryInput | undefined,
  ): Promise<string | null> {
    if (h.summarySource !== null) return h.summarySource === 'model' ? h.modelSummary : null;
    if (summarizer === undefined || input === undefined) return null;
    const outcome = await summarizer.summarize(input);
    const stored = await withTenant(db, orgId, (tx) =>
      storeSummary(tx, h.id, outcome.source === 'model' ? outcome : { source: 'deterministic', text: null }),
    );
    return stored?.source === 'model' ? stored.text : null;
  }

  const service = {
    /** Job: one escalation step. A handoff no longer pending is left alone. */
    async escalate(orgId: string, handoffId: string, step: number): Promise<void> {
      const prepared = await withTenant(db, orgId, async (tx) => {
        const h = await findHandoff(tx, handoffId);
        if (h === undefined || h.status !== 'pending') return undefined;
        // The first step to run asks for the summary; the payload is decrypted for it here and
        // redacted before anything leaves (core/summary).
        const summaryInput =
          summarizer !== undefined && h.summarySource === null ? await summaryInputOf(tx, h) : undefined;
        const escalation = (await loadPolicies(tx)).escalation;
        const s = escalation.levels[h.riskLevel].steps[step];
        if (s === undefined) return undefined;
        const targets = resolveTargets(escalation, s);
        if (targets !== undefined && targets.length === 0)
          return { h, channel: s.channel, recipients: [], summaryInput };
        let q = tx.db
          .selectFrom('members')
          .select(['id', 'name', 'email'])
          .where('status', '=', 'active')
          .where('role', 'in', ['member', 'admin']);
        if (targets !== undefined) q = q.where('id', 'in', [...targets]);
        const members = await q.execute();
        const addresses = await addressesOf(
          tx,
          s.channel,
          members.map((m) => m.id),
        );
        return {
          h,
          channel: s.channel,
          summaryInput,
          recipients: members.map((m) => ({
            memberId: m.id,
            name: m.name,
            // The email channel's address is the member's own (verified) sign-in address.
            address: s.channel === 'email' ? m.email : (addresses.get(m.id) ?? null),
          })),
        };
      });
      if (prepared === undefined) return;
      const { h, channel, recipients, summaryInput } = prepared;
      const summary = await summaryOf(orgId, h, summaryInput);
      const adapter = (await channelsOf(orgId))[channel];
      let outcome: string = 'sent';
      let posted: readonly SentMessage[] = [];
      let skip: AttemptOutcome | undefined;
      if (adapter === undefined) {
        outcome = 'channel_not_configured';
      } else {
        const source = {
          action: { type: h.actionType as RiskInput['action']['type'] },
          title: h.title,
          summary: h.summary,
        };
        try {
          const sent = await adapter.send(
            {
              handoffId: h.id,
              options: h.options.map((o) => ({ id: o.id, label: safeLabel(o.label) })),
              shortCode: h.shortCode,
              actionType: h.actionType,
              riskLevel: h.riskLevel,
              title: h.title,
              gist: gist(source, {
                level: h.riskLevel,
                reasons: h.riskReasons as readonly ReasonCode[] /* written from deriveRisk's own codes */,
              }),
              summary,
              link: handoffPage(h.id),
            },
            recipients,
            { orgId },
          );
          posted = sent.messages;
          skip = attemptOutcome(posted.length, sent.skipped ?? []);
          outcome = skip.outcome;
        } catch (err) {
          outcome = 'failed';
          logger.warn({ err, channel, handoff_id: h.id }, 'escalation step failed');
        }
      }
      const decidedMeanwhile = await withTenant(db, orgId, async (tx) => {
        const now = clock.now();
        // Locked, so a decision committing now either sees these messages or is seen here.
        const current = await findHandoff(tx, h.id, { lock: true });
        await insertMessages(
          tx,
          h.id,
          posted.map((m) => ({ channel, memberId: m.memberId, ref: m.ref })),
          now,
        );
        const skipReason = skip?.skipReason ?? null;
        await insertAttempt(tx, { handoffId: h.id, step, channel, at: now, outcome, skipReason });
        await appendAudit(
          tx,
          auditEvents.handoffEscalated(h, step, channel, recipients.length, {
            outcome,
            skipped: skip?.skipped ?? 0,
            skipReason,
          }),
          now,
        );
        return posted.length > 0 && current !== undefined && current.status !== 'pending';
      });
      metrics.escalationAttempt(channel, outcome);
      if (decidedMeanwhile) await service.notify(orgId, h.id);
    },

    /** Job: rewrite every chat message that asked about a handoff, now that it left pending. */
    async notify(orgId: string, handoffId: string): Promise<void> {
      const found = await withTenant(db, orgId, async (tx) => {
        const h = await findHandoff(tx, handoffId);
        if (h === undefined || h.status === 'pending') return undefined;
        const decider =
          h.decidedBy !== null
            ? await tx.db
                .selectFrom('members')
                .select('name')
                .where('id', '=', h.decidedBy)
                .executeTakeFirst()
            : undefined;
        return { h, by: decider?.name ?? null, messages: await listMessages(tx, handoffId) };
      });
      if (found === undefined) return;
      const { h, by, messages } = found;
      const adapters = await channelsOf(orgId);
      const notice: DecisionNotice = {
        handoffId: h.id,
        shortCode: h.shortCode,
        actionType: h.actionType,
        riskLevel: h.riskLevel,
        title: h.title,
        outcome: h.status as DecisionNotice['outcome'],
        option: h.decisionOption,
        by,
        via: h.status === 'expired' ? null : h.decisionChannel,
        at: h.decidedAt ?? clock.now(),
      };
      // Each message on its own: one provider's outage does not keep the others stale.
      await Promise.all(
        messages.map(async (m) => {
          try {
            await adapters[m.channel]?.update(m.ref, notice, { orgId });
          } catch (err) {
            logger.warn({ err, channel: m.channel, handoff_id: h.id }, 'could not update a channel message');
          }
        }),
      );
    },

    /** Job: POST the final state to the agent's callback URL (Standard Webhooks signature). */
    async callback(orgId: string, handoffId: string): Promise<void> {
      const found = await withTenant(db, orgId, async (tx) => {
        const h = await findHandoff(tx, handoffId);
        if (h === undefined || h.callbackUrl === null) return undefined;
        const device = await tx.db
          .selectFrom('devices')
          .select(['webhook_secret_enc'])
          .where('id', '=', h.deviceId)
          .executeTakeFirst();
        const secret =
          device?.webhook_secret_enc != null
            ? (
                await keyring.decrypt(tx, Buffer.from(device.webhook_secret_enc), `webhook:${h.deviceId}`)
              ).toString('utf8')
            : undefined;
        const names = h.decidedBy
          ? await tx.db.selectFrom('members').select(['id', 'name']).where('id', '=', h.decidedBy).execute()
          : [];
        return { h, secret, decider: names[0] };
      });
      if (found === undefined) return;
      const { h, secret, decider } = found;
      if (secret === undefined) {
        logger.warn({ handoff_id: h.id }, 'callback skipped: the device has no webhook secret');
        return;
      }
      const body = JSON.stringify({
        type: 'handoff.decided',
        data: handoffView(h, decider ?? null, [], config.publicUrl),
      });
      const headers = signWebhook(secret, `msg_${h.id}`, clock.now(), body);
      await deliverCallback(h.callbackUrl!, body, headers, config.callbacks);
    },
  };
  return service;
}

export type EscalationService = ReturnType<typeof createEscalationService>;
