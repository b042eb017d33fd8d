/**
 * Approval-fatigue insights (issue #23, docs/insights.md): GET /v1/admin/insights. Admins see every
 * number, per approver too; members and viewers see the same org-wide, per-level and per-action
 * numbers without any per-person row (no approvers, no per-approver channels).
 */
import type { Kysely } from 'kysely';
import { withApp, withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { JobQueue } from '../../jobs/queue.js';
import { listRetentionOrgs } from '../retention/retention.repository.js';
import {
  FAST_SECONDS,
  NOISY_MIN_FAST_SHARE,
  NOISY_MIN_HANDOFFS,
  isNoisy,
  noisySuggestion,
  parseWindow,
  rate,
  seconds,
} from '../../core/insights/insights.js';
import { roleAtLeast, type Principal } from '../auth/principal.js';
import {
  FOLD_BATCH,
  foldFinished,
  windowInsights,
  type ChannelCount,
  type HandoffCounts,
  type VoteCounts,
} from './insights.repository.js';

/** Where a suggestion links: the dashboard's escalation policy page. */
export const POLICY_PATH = '/admin/policy';

const outcomes = (c: HandoffCounts) => {
  const decided = c.approved + c.denied;
  return {
    handoffs: c.handoffs,
    approved: c.approved,
    denied: c.denied,
    expired: c.expired,
    cancelled: c.cancelled,
    pending: c.pending,
    allowed_by_policy: c.policy_allowed,
    decided_by_people: c.human_decided,
    expiry_rate: rate(c.expired, c.handoffs),
    deny_rate: rate(c.denied, decided),
    policy_allowed_share: rate(c.policy_allowed, c.handoffs),
    decision_seconds: { median: seconds(c.p50), p90: seconds(c.p90) },
  };
};

const decisions = (c: VoteCounts | undefined) => ({
  decisions: c?.decisions ?? 0,
  approvals: c?.approvals ?? 0,
  denials: c?.denials ?? 0,
  decision_seconds: { median: seconds(c?.p50 ?? null), p90: seconds(c?.p90 ?? null) },
  rubber_stamp: {
    approvals_opened_first: c?.opened_first ?? 0,
    approved_within_5s_of_opening: c?.fast_after_view ?? 0,
    fast_after_opening_rate: rate(c?.fast_after_view ?? 0, c?.opened_first ?? 0),
    approvals_with_payload: c?.with_payload ?? 0,
    approved_payload_never_expanded: c?.payload_unopened ?? 0,
    payload_never_expanded_rate: rate(c?.payload_unopened ?? 0, c?.with_payload ?? 0),
  },
});

const channelsOf = (rows: readonly ChannelCount[]) =>
  rows
    .map((r) => ({ channel: r.channel ?? 'unknown', decisions: r.decisions }))
    .sort((a, b) => b.decisions - a.decisions || a.channel.localeCompare(b.channel));

export const INSIGHTS_JOBS = { fold: 'insights.fold' } as const;

/** What a request folds before it reads: bounded, so a backlog never makes one request slow. */
const REQUEST_FOLD = 5_000;
const HOUR_MS = 3_600_000;

export interface InsightsDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly jobs: Pick<JobQueue, 'send'>;
}

export function createInsightsService(deps: InsightsDeps) {
  const { db, clock, jobs } = deps;
  const log = deps.logger.child({ component: 'insights' });

  /** Folds the org's finished handoffs into the rollups, batch by batch, until none is left. */
  async function foldOrg(orgId: string): Promise<number> {
    let folded = 0;
    for (;;) {
      const n = await withTenant(db, orgId, (tx) => foldFinished(tx, FOLD_BATCH));
      folded += n;
      if (n < FOLD_BATCH) return folded;
    }
  }

  /** Enqueues the next hourly fold; a singleton per hour, so replicas and restarts add no duplicates. */
  async function scheduleNext(): Promise<void> {
    const at = new Date((Math.floor(clock.now().getTime() / HOUR_MS) + 1) * HOUR_MS);
    await jobs.send(
      INSIGHTS_JOBS.fold,
      { hour: at.toISOString() },
      { startAfter: at, singletonKey: `hour:${at.toISOString()}`, retryLimit: 3, expireInSeconds: 3600 },
    );
  }

  return {
    foldOrg,
    scheduleNext,

    /** The hourly job: fold every org (one org's failure does not stop the others), then enqueue the next. */
    async foldJob(): Promise<void> {
      try {
        const orgs = await withApp(db, (tx) => listRetentionOrgs(tx));
        let folded = 0;
        for (const { orgId } of orgs) {
          try {
            folded += await foldOrg(orgId);
          } catch (err) {
            log.error({ err, orgId }, 'insights fold failed for an org');
          }
        }
        log.info({ orgs: orgs.length, folded }, 'insights fold done');
      } finally {
        await scheduleNext();
      }
    },

    async get(p: Principal & { kind: 'member' }, q: { from?: string | undefined; to?: string | undefined }) {
      const w = parseWindow(q.from, q.to, clock.now());
      if (!w.ok) throw new AppError('bad_request', w.error);
      // Fold what finished since the last fold (bounded); what is left unfolded is read raw.
      await withTenant(db, p.orgId, (tx) => foldFinished(tx, REQUEST_FOLD));
      const rows = await withTenant(db, p.orgId, (tx) => windowInsights(tx, w.from, w.to));
      const perPerson = roleAtLeast(p.role, 'admin');

      const hTotal = rows.handoffs.find((r) => r.g_risk === 1 && r.g_action === 1)!;
      const vTotal = rows.votes.find((r) => r.g_member === 1 && r.g_risk === 1 && r.g_action === 1);
      const voteBy = (key: 'risk_level' | 'action_type', value: string) =>
        rows.votes.find(
          (r) =>
            r.g_member === 1 &&
            r[key] === value &&
            (key === 'risk_level' ? r.g_risk === 0 : r.g_action === 0),
        );
      const orgChannels = rows.channels.filter((r) => r.member_id === null);

      return {
        window: { from: w.from.toISOString(), to: w.to.toISOString() },
        fast_seconds: FAST_SECONDS,
        per_person: perPerson,
        totals: { ...outcomes(hTotal), people: decisions(vTotal), channels: channelsOf(orgChannels) },
        by_risk_level: rows.handoffs
          .filter((r) => r.g_risk === 0)
          .map((r) => ({
            risk_level: r.risk_level!,
            ...outcomes(r),
            people: decisions(voteBy('risk_level', r.risk_level!)),
          }))
          .sort((a, b) => LEVEL_ORDER.indexOf(a.risk_level) - LEVEL_ORDER.indexOf(b.risk_level)),
        by_action_type: rows.handoffs
          .filter((r) => r.g_action === 0)
          .map((r) => ({
            action_type: r.action_type!,
            ...outcomes(r),
            people: decisions(voteBy('action_type', r.action_type!)),
          }))
          .sort((a, b) => b.handoffs - a.handoffs || a.action_type.localeCompare(b.action_type)),
        // Per person: admins only (docs/insights.md); null tells the others why the list is missing.
        by_approver: perPerson
          ? rows.votes
              .filter((r) => r.g_member === 0)
              .map((r) => ({
                member_id: r.member_id!,
                name: r.name,
                ...decisions(r),
                channels: channelsOf(rows.channels.filter((c) => c.member_id === r.member_id)),
              }))
              .sort((a, b) => b.decisions - a.decisions || (a.name ?? '').localeCompare(b.name ?? ''))
          : null,
        noisy_actions: {
          rule: {
            min_handoffs: NOISY_MIN_HANDOFFS,
            min_fast_share: NOISY_MIN_FAST_SHARE,
            levels: ['low', 'medium'],
          },
          items: rows.noisy
            .map((n) => ({
              action_type: n.action_type,
              target: n.target,
              device: { id: n.device_id, name: n.device_name },
              handoffs: n.handoffs,
              approved_fast: n.fast,
              fast_share: rate(n.fast, n.handoffs),
              max_risk_level: n.max_risk,
            }))
            .filter((n) =>
              isNoisy({ handoffs: n.handoffs, fast: n.approved_fast, maxRisk: n.max_risk_level }),
            )
            .sort(
              (a, b) =>
                b.handoffs - a.handoffs ||
                b.approved_fast - a.approved_fast ||
                a.action_type.localeCompare(b.action_type) ||
                (a.target ?? '').localeCompare(b.target ?? ''),
            )
            .map((n) => ({
              ...n,
              suggestion: noisySuggestion({
                actionType: n.action_type,
                target: n.target,
                deviceName: n.device.name,
                handoffs: n.handoffs,
                fast: n.approved_fast,
                maxRisk: n.max_risk_level,
              }),
              policy_link: POLICY_PATH,
            })),
        },
      };
    },
  };
}

const LEVEL_ORDER: readonly string[] = ['low', 'medium', 'high', 'critical'];

export type InsightsService = ReturnType<typeof createInsightsService>;
export type Insights = Awaited<ReturnType<InsightsService['get']>>;
