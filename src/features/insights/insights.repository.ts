/**
 * The facts behind the insights (docs/insights.md): each member's first view of a handoff and first
 * fetch of its payload (handoff_views), and the window's numbers, counted in one SQL statement over
 * indexed tables (handoffs_created, escalation_attempts_at, the approvals' and views' primary keys).
 */
import { sql } from 'kysely';
import type { TenantTx } from '../../db/client.js';
import {
  FAST_SECONDS,
  NOISY_LIMIT,
  NOISY_MIN_FAST_SHARE,
  NOISY_MIN_HANDOFFS,
} from '../../core/insights/insights.js';

/** Records the member's first view of the handoff (later views change nothing). */
export async function recordView(tx: TenantTx, handoffId: string, memberId: string, at: Date): Promise<void> {
  await tx.db
    .insertInto('handoff_views')
    .values({ org_id: tx.orgId, handoff_id: handoffId, member_id: memberId, first_viewed_at: at })
    .onConflict((oc) => oc.columns(['org_id', 'handoff_id', 'member_id']).doNothing())
    .execute();
}

/** Records the member's first fetch of the payload (and a first view, if it is one). */
export async function recordPayloadExpanded(
  tx: TenantTx,
  handoffId: string,
  memberId: string,
  at: Date,
): Promise<void> {
  await tx.db
    .insertInto('handoff_views')
    .values({
      org_id: tx.orgId,
      handoff_id: handoffId,
      member_id: memberId,
      first_viewed_at: at,
      payload_expanded_at: at,
    })
    .onConflict((oc) =>
      oc
        .columns(['org_id', 'handoff_id', 'member_id'])
        .doUpdateSet({ payload_expanded_at: at })
        .where('handoff_views.payload_expanded_at', 'is', null),
    )
    .execute();
}

/** One group's handoff outcomes (the whole org, one risk level, or one action type). */
export interface HandoffCounts {
  readonly risk_level: string | null;
  readonly action_type: string | null;
  readonly g_risk: number;
  readonly g_action: number;
  readonly handoffs: number;
  readonly approved: number;
  readonly denied: number;
  readonly expired: number;
  readonly cancelled: number;
  readonly pending: number;
  readonly policy_allowed: number;
  readonly human_decided: number;
  readonly p50: number | null;
  readonly p90: number | null;
}

/** One group's human decisions (votes): the whole org, one approver, one level or one action type. */
export interface VoteCounts {
  readonly member_id: string | null;
  readonly name: string | null;
  readonly risk_level: string | null;
  readonly action_type: string | null;
  readonly g_member: number;
  readonly g_risk: number;
  readonly g_action: number;
  readonly decisions: number;
  readonly approvals: number;
  readonly denials: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly opened_first: number;
  readonly fast_after_view: number;
  readonly with_payload: number;
  readonly payload_unopened: number;
}

export interface ChannelCount {
  readonly member_id: string | null;
  readonly channel: string | null;
  readonly decisions: number;
}

export interface NoisyRow {
  readonly action_type: string;
  readonly target: string | null;
  readonly device_id: string;
  readonly device_name: string | null;
  readonly handoffs: number;
  readonly fast: number;
  readonly max_risk: string;
}

export interface InsightRows {
  readonly handoffs: readonly HandoffCounts[];
  readonly votes: readonly VoteCounts[];
  readonly channels: readonly ChannelCount[];
  readonly noisy: readonly NoisyRow[];
}

/**
 * The window's numbers, in one statement. Escalation time: the handoff's first escalation attempt
 * that sent something, else its creation. A human decision ("vote") is an approving vote
 * (handoff_approvals) or a deny by a member (the handoff's decider).
 */
export async function windowInsights(tx: TenantTx, from: Date, to: Date): Promise<InsightRows> {
  // One analytic statement: its sorts fit in memory (not on disk at 4 MB), and it is planned
  // fast rather than compiled (JIT costs seconds on a loaded machine and saves nothing here).
  await sql`select set_config('work_mem', '64MB', true), set_config('jit', 'off', true)`.execute(tx.db);
  const { rows } = await insightsStatement(tx.orgId, from, to).execute(tx.db);
  return rows[0]!.doc;
}

/** The statement itself (bench/insights.bench.ts EXPLAINs it). */
export function insightsStatement(org: string, from: Date, to: Date) {
  const fast = sql.lit(`${FAST_SECONDS} seconds`);
  return sql<{ doc: InsightRows }>`
    with esc as materialized (
      -- Attempts come after their handoff's creation and before its expiry (at most 7 days later).
      select handoff_id, min(at) as at
      from escalation_attempts
      where org_id = ${org} and at >= ${from} and at < ${to}::timestamptz + interval '8 days' and outcome = 'sent'
      group by handoff_id
    ),
    h as materialized (
      select h.id, h.status, h.action_type, h.device_id, h.risk_level, h.decided_at, h.decided_by,
        h.decision_channel, h.payload_sha256 is not null as has_payload,
        nullif(regexp_replace(btrim(h.action_target), '\\s+', ' ', 'g'), '') as target,
        coalesce(esc.at, h.created_at) as escalated_at,
        -- Seconds from escalation to a person's decision (null otherwise: the percentiles skip nulls).
        case when h.decided_by is not null
          then extract(epoch from h.decided_at - coalesce(esc.at, h.created_at))::float8 end as dsecs
      from handoffs h left join esc on esc.handoff_id = h.id
      where h.org_id = ${org} and h.created_at >= ${from} and h.created_at < ${to}
    ),
    v as materialized (
      select x.member_id, x.at, x.channel, x.approve, h.risk_level, h.action_type, h.has_payload,
        extract(epoch from x.at - h.escalated_at)::float8 as secs, w.first_viewed_at, w.payload_expanded_at
      from (
        select a.handoff_id, a.member_id, a.at, a.channel, true as approve
        from handoff_approvals a
        where a.org_id = ${org} and a.at >= ${from}
        union all
        select h.id, h.decided_by, h.decided_at, h.decision_channel, false
        from h where h.status = 'denied' and h.decided_by is not null
      ) x
      join h on h.id = x.handoff_id
      left join handoff_views w on w.org_id = ${org} and w.handoff_id = x.handoff_id and w.member_id = x.member_id
    ),
    hg as (
      select grouping(risk_level) as g_risk, grouping(action_type) as g_action, risk_level, action_type,
        count(*) as handoffs,
        count(*) filter (where status = 'approved') as approved,
        count(*) filter (where status = 'denied') as denied,
        count(*) filter (where status = 'expired') as expired,
        count(*) filter (where status = 'cancelled') as cancelled,
        count(*) filter (where status = 'pending') as pending,
        count(*) filter (where status = 'approved' and decision_channel = 'policy') as policy_allowed,
        count(*) filter (where decided_by is not null) as human_decided,
        -- Both percentiles from one sort.
        percentile_cont(array[0.5, 0.9]) within group (order by dsecs) as pct
      from h
      group by grouping sets ((), (risk_level), (action_type))
    ),
    vg as (
      select grouping(member_id) as g_member, grouping(risk_level) as g_risk, grouping(action_type) as g_action,
        member_id, risk_level, action_type,
        count(*) as decisions,
        count(*) filter (where approve) as approvals,
        count(*) filter (where not approve) as denials,
        percentile_cont(array[0.5, 0.9]) within group (order by secs) as pct,
        count(*) filter (where approve and first_viewed_at <= at) as opened_first,
        count(*) filter (where approve and first_viewed_at <= at and at - first_viewed_at <= ${fast}::interval)
          as fast_after_view,
        count(*) filter (where approve and has_payload) as with_payload,
        count(*) filter (where approve and has_payload and (payload_expanded_at is null or payload_expanded_at > at))
          as payload_unopened
      from v
      group by grouping sets ((), (member_id), (risk_level), (action_type))
    ),
    cg as (
      select null::uuid as member_id, decision_channel as channel, count(*) as decisions
      from h where status in ('approved', 'denied') group by decision_channel
      union all
      select member_id, channel, count(*) from v group by member_id, channel
    ),
    ng as (
      select h.action_type, h.target, h.device_id,
        count(*) as handoffs,
        count(*) filter (
          where h.status = 'approved' and h.decided_by is not null
            and h.decided_at - coalesce(w.first_viewed_at, h.escalated_at) <= ${fast}::interval
        ) as fast,
        max(case h.risk_level when 'low' then 1 when 'medium' then 2 when 'high' then 3 else 4 end) as max_risk
      from h
      left join handoff_views w on w.org_id = ${org} and w.handoff_id = h.id and w.member_id = h.decided_by
        and w.first_viewed_at <= h.decided_at
      where h.status in ('approved', 'denied', 'expired') and h.decision_channel is distinct from 'policy'
      group by h.action_type, h.target, h.device_id
    ),
    noisy as (
      select ng.action_type, ng.target, ng.device_id, d.name as device_name, ng.handoffs, ng.fast,
        (array['low', 'medium', 'high', 'critical'])[ng.max_risk] as max_risk
      from ng left join devices d on d.org_id = ${org} and d.id = ng.device_id
      where ng.handoffs >= ${NOISY_MIN_HANDOFFS} and ng.fast >= ${NOISY_MIN_FAST_SHARE}::float8 * ng.handoffs
        and ng.max_risk <= 2
      order by ng.handoffs desc, ng.fast desc, ng.action_type, ng.target nulls first, ng.device_id
      limit ${NOISY_LIMIT}
    )
    select jsonb_build_object(
      'handoffs', coalesce((select jsonb_agg(to_jsonb(hg) || jsonb_build_object('p50', hg.pct[1], 'p90', hg.pct[2]))
        from hg), '[]'),
      'votes', coalesce((select jsonb_agg(to_jsonb(vg) || jsonb_build_object('name', m.name, 'p50', vg.pct[1], 'p90', vg.pct[2]))
        from vg left join members m on m.org_id = ${org} and m.id = vg.member_id), '[]'),
      'channels', coalesce((select jsonb_agg(to_jsonb(cg)) from cg), '[]'),
      'noisy', coalesce((select jsonb_agg(to_jsonb(noisy)) from noisy), '[]')
    ) as doc`;
}
