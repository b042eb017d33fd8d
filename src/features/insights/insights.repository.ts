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
  percentileOfBuckets,
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

/** One histogram bucket of decision seconds: the series, its group, the bucket, count and sum. */
export type SecondsBucket = readonly [
  series: 'h' | 'v',
  dim: SecondsDim,
  key: string,
  bucket: number,
  n: number,
  total: number,
];
export type SecondsDim = 'all' | 'risk' | 'action' | 'member';

/** What the window statement answers: counts per group, the histograms apart (see withPercentiles). */
interface WindowDoc {
  readonly handoffs: readonly Omit<HandoffCounts, 'p50' | 'p90'>[];
  readonly votes: readonly Omit<VoteCounts, 'p50' | 'p90'>[];
  readonly channels: readonly ChannelCount[];
  readonly noisy: readonly NoisyRow[];
  readonly seconds: readonly SecondsBucket[];
}

/**
 * Both statements read a bounded slice of the handoffs (the unfolded ones, the partial edge days, a
 * batch) and look each one's attempts, votes and views up by key. Statistics taken before a fold
 * still say "every handoff is unfolded", and then the planner scans whole tables of every org (a
 * second and more at 100k): the slice is read through its indexes whatever the statistics say.
 * Sorts fit in memory, and JIT is off (compiling costs seconds on a loaded machine, saves nothing).
 */
export async function plannedByIndex(tx: TenantTx): Promise<void> {
  await sql`select set_config('work_mem', '64MB', true), set_config('jit', 'off', true),
    set_config('enable_seqscan', 'off', true)`.execute(tx.db);
}

/** Handoffs folded into the rollups per statement (one transaction each). */
export const FOLD_BATCH = 20_000;

const DAY_MS = 86_400_000;
const dayStart = (d: Date) => new Date(Math.floor(d.getTime() / DAY_MS) * DAY_MS);
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * The window's numbers: whole UTC days from the rollups, the rest (the partial days at the window's
 * edges, and handoffs not folded yet: pending or finished since the last fold) from the handoffs.
 */
export async function windowInsights(tx: TenantTx, from: Date, to: Date): Promise<InsightRows> {
  await plannedByIndex(tx);
  const { rows } = await insightsStatement(tx.orgId, from, to).execute(tx.db);
  return withPercentiles(rows[0]!.doc);
}

/**
 * Folds up to `limit` finished, unfolded handoffs into the rollups, in one statement: the handoffs
 * marked folded and their counts added commit together. Rows another fold holds are skipped (they
 * are that fold's), so concurrent folds never count a handoff twice. Answers how many it folded.
 */
export async function foldFinished(tx: TenantTx, limit = FOLD_BATCH): Promise<number> {
  await plannedByIndex(tx);
  const org = tx.orgId;
  const { rows } = await sql<{ folded: number }>`
    with base as (
      update handoffs h set insights_folded = true
      from (
        select id from handoffs
        where org_id = ${org} and not insights_folded and status <> 'pending'
        order by created_at limit ${limit}
        for update skip locked
      ) s
      where h.org_id = ${org} and h.id = s.id
      returning ${BASE_COLUMNS('h')}
    ),
    ${factCtes(org)},
    ih as (
      insert into insight_handoff_days (org_id, day, risk_level, action_type, decision_channel, handoffs,
        approved, denied, expired, cancelled, pending, policy_allowed, human_decided)
      select ${org}::uuid, day, risk_level, action_type, decision_channel, handoffs,
        approved, denied, expired, cancelled, pending, policy_allowed, human_decided
      from hd
      on conflict (org_id, day, risk_level, action_type, decision_channel) do update set
        handoffs = insight_handoff_days.handoffs + excluded.handoffs,
        approved = insight_handoff_days.approved + excluded.approved,
        denied = insight_handoff_days.denied + excluded.denied,
        expired = insight_handoff_days.expired + excluded.expired,
        cancelled = insight_handoff_days.cancelled + excluded.cancelled,
        pending = insight_handoff_days.pending + excluded.pending,
        policy_allowed = insight_handoff_days.policy_allowed + excluded.policy_allowed,
        human_decided = insight_handoff_days.human_decided + excluded.human_decided
    ),
    iv as (
      insert into insight_vote_days (org_id, day, member_id, risk_level, action_type, channel, decisions,
        approvals, denials, opened_first, fast_after_view, with_payload, payload_unopened)
      select ${org}::uuid, day, member_id, risk_level, action_type, channel, decisions,
        approvals, denials, opened_first, fast_after_view, with_payload, payload_unopened
      from vd
      on conflict (org_id, day, member_id, risk_level, action_type, channel) do update set
        decisions = insight_vote_days.decisions + excluded.decisions,
        approvals = insight_vote_days.approvals + excluded.approvals,
        denials = insight_vote_days.denials + excluded.denials,
        opened_first = insight_vote_days.opened_first + excluded.opened_first,
        fast_after_view = insight_vote_days.fast_after_view + excluded.fast_after_view,
        with_payload = insight_vote_days.with_payload + excluded.with_payload,
        payload_unopened = insight_vote_days.payload_unopened + excluded.payload_unopened
    ),
    isd as (
      insert into insight_second_days (org_id, day, series, dim, key, bucket, n, total)
      select ${org}::uuid, day, series, dim, key, bucket, n, total from sd
      on conflict (org_id, day, series, dim, key, bucket) do update set
        n = insight_second_days.n + excluded.n,
        total = insight_second_days.total + excluded.total
    ),
    ind as (
      insert into insight_noisy_days (org_id, day, action_type, target, device_id, handoffs, fast, max_risk)
      select ${org}::uuid, day, action_type, target, device_id, handoffs, fast, max_risk from nd
      on conflict (org_id, day, action_type, target, device_id) do update set
        handoffs = insight_noisy_days.handoffs + excluded.handoffs,
        fast = insight_noisy_days.fast + excluded.fast,
        max_risk = greatest(insight_noisy_days.max_risk, excluded.max_risk)
    )
    select count(*)::int as folded from base`.execute(tx.db);
  return rows[0]!.folded;
}

/** The handoff columns the facts need, from a handoffs row aliased `t`. */
const BASE_COLUMNS = (t: string) =>
  sql.raw(
    ['id', 'created_at', 'status', 'action_type', 'action_target', 'device_id', 'risk_level', 'decided_at']
      .concat(['decided_by', 'decision_channel'])
      .map((c) => `${t}.${c}`)
      .join(', ') + `, ${t}.payload_sha256 is not null as has_payload`,
  );

/**
 * A bucket of about 0.5% width for a number of seconds: monotonic in the value (so buckets sort
 * like their values), one per value for the small whole numbers people take, signed (a decision
 * before its first attempt is negative).
 */
const bucketOf = (e: ReturnType<typeof sql.raw>) => sql`(sign(${e}) * round(ln(1 + abs(${e})) * 200))::int`;

/**
 * From `base` (handoffs with BASE_COLUMNS), the facts at the rollups' grain: hd (outcomes), vd
 * (people's decisions), sd (decision-time histograms) and nd (noisy-action candidates). Escalation
 * time: the handoff's first escalation attempt that sent something, else its creation. A person's
 * decision ("vote") is an approving vote (handoff_approvals) or a member's deny (the decider).
 */
function factCtes(org: string) {
  const fast = sql.lit(`${FAST_SECONDS} seconds`);
  return sql`
    esc as (
      select e.handoff_id, min(e.at) as at
      from escalation_attempts e join base on e.org_id = ${org} and e.handoff_id = base.id
      where e.outcome = 'sent'
      group by e.handoff_id
    ),
    hf as materialized (
      select base.*, (base.created_at at time zone 'UTC')::date as day,
        nullif(regexp_replace(btrim(base.action_target), '\\s+', ' ', 'g'), '') as target,
        coalesce(esc.at, base.created_at) as escalated_at,
        -- Seconds from escalation to a person's decision (null otherwise: the percentiles skip nulls).
        case when base.decided_by is not null
          then extract(epoch from base.decided_at - coalesce(esc.at, base.created_at))::float8 end as dsecs
      from base left join esc on esc.handoff_id = base.id
    ),
    vf as materialized (
      select x.member_id, x.at, x.channel, x.approve, hf.day, hf.risk_level, hf.action_type, hf.has_payload,
        extract(epoch from x.at - hf.escalated_at)::float8 as secs, w.first_viewed_at, w.payload_expanded_at
      from (
        select a.handoff_id, a.member_id, a.at, a.channel, true as approve
        from handoff_approvals a join base on a.org_id = ${org} and a.handoff_id = base.id
        union all
        select id, decided_by, decided_at, decision_channel, false
        from base where status = 'denied' and decided_by is not null
      ) x
      join hf on hf.id = x.handoff_id
      left join handoff_views w on w.org_id = ${org} and w.handoff_id = x.handoff_id and w.member_id = x.member_id
    ),
    hd as (
      select day, risk_level, action_type, decision_channel,
        count(*) as handoffs,
        count(*) filter (where status = 'approved') as approved,
        count(*) filter (where status = 'denied') as denied,
        count(*) filter (where status = 'expired') as expired,
        count(*) filter (where status = 'cancelled') as cancelled,
        count(*) filter (where status = 'pending') as pending,
        count(*) filter (where status = 'approved' and decision_channel = 'policy') as policy_allowed,
        count(*) filter (where decided_by is not null) as human_decided
      from hf group by day, risk_level, action_type, decision_channel
    ),
    vd as (
      select day, member_id, risk_level, action_type, channel,
        count(*) as decisions,
        count(*) filter (where approve) as approvals,
        count(*) filter (where not approve) as denials,
        count(*) filter (where approve and first_viewed_at <= at) as opened_first,
        count(*) filter (where approve and first_viewed_at <= at and at - first_viewed_at <= ${fast}::interval)
          as fast_after_view,
        count(*) filter (where approve and has_payload) as with_payload,
        count(*) filter (where approve and has_payload and (payload_expanded_at is null or payload_expanded_at > at))
          as payload_unopened
      from vf group by day, member_id, risk_level, action_type, channel
    ),
    sd as (
      select day, 'h' as series, g.dim, g.key, ${bucketOf(sql.raw('dsecs'))} as bucket, count(*) as n, sum(dsecs) as total
      from hf cross join lateral (values ('all', ''), ('risk', risk_level), ('action', action_type)) g (dim, key)
      where dsecs is not null
      group by day, g.dim, g.key, 5
      union all
      select day, 'v', g.dim, g.key, ${bucketOf(sql.raw('secs'))}, count(*), sum(secs)
      from vf cross join lateral (
        values ('all', ''), ('member', member_id::text), ('risk', risk_level), ('action', action_type)
      ) g (dim, key)
      group by day, g.dim, g.key, 5
    ),
    nd as (
      select hf.day, hf.action_type, hf.target, hf.device_id,
        count(*) as handoffs,
        count(*) filter (
          where hf.status = 'approved' and hf.decided_by is not null
            and hf.decided_at - coalesce(w.first_viewed_at, hf.escalated_at) <= ${fast}::interval
        ) as fast,
        max(case hf.risk_level when 'low' then 1 when 'medium' then 2 when 'high' then 3 else 4 end)::smallint
          as max_risk
      from hf
      left join handoff_views w on w.org_id = ${org} and w.handoff_id = hf.id and w.member_id = hf.decided_by
        and w.first_viewed_at <= hf.decided_at
      where hf.status in ('approved', 'denied', 'expired') and hf.decision_channel is distinct from 'policy'
      group by hf.day, hf.action_type, hf.target, hf.device_id
    )`;
}

/** The window statement (bench/insights.bench.ts EXPLAINs it). */
export function insightsStatement(org: string, from: Date, to: Date) {
  // Whole UTC days inside [from, to) come from the rollups; none when the window is within a day.
  let fullFrom = dayStart(new Date(from.getTime() + DAY_MS - 1));
  let fullTo = dayStart(to);
  if (fullFrom.getTime() >= fullTo.getTime()) fullFrom = fullTo = to;
  const days = sql`day >= ${isoDay(fullFrom)}::date and day < ${isoDay(fullTo)}::date`;
  const rollupDays = fullFrom.getTime() < fullTo.getTime() ? days : sql`false`;
  return sql<{ doc: WindowDoc }>`
    with base as (
      select ${BASE_COLUMNS('h')} from handoffs h
      where h.org_id = ${org} and h.created_at >= ${from} and h.created_at < ${fullFrom}
      union all
      select ${BASE_COLUMNS('h')} from handoffs h
      where h.org_id = ${org} and h.created_at >= ${fullTo} and h.created_at < ${to}
      union all
      select ${BASE_COLUMNS('h')} from handoffs h
      where h.org_id = ${org} and not h.insights_folded and h.created_at >= ${fullFrom} and h.created_at < ${fullTo}
    ),
    ${factCtes(org)},
    hc as (
      select risk_level, action_type, decision_channel, handoffs, approved, denied, expired, cancelled, pending,
        policy_allowed, human_decided
      from hd
      union all
      select risk_level, action_type, decision_channel, handoffs, approved, denied, expired, cancelled, pending,
        policy_allowed, human_decided
      from insight_handoff_days where org_id = ${org} and ${rollupDays}
    ),
    hg as (
      select grouping(risk_level) as g_risk, grouping(action_type) as g_action, risk_level, action_type,
        sum(handoffs)::int8 as handoffs, sum(approved)::int8 as approved, sum(denied)::int8 as denied,
        sum(expired)::int8 as expired, sum(cancelled)::int8 as cancelled, sum(pending)::int8 as pending,
        sum(policy_allowed)::int8 as policy_allowed, sum(human_decided)::int8 as human_decided
      from hc
      group by grouping sets ((), (risk_level), (action_type))
    ),
    vc as (
      select member_id, risk_level, action_type, channel, decisions, approvals, denials, opened_first,
        fast_after_view, with_payload, payload_unopened
      from vd
      union all
      select member_id, risk_level, action_type, channel, decisions, approvals, denials, opened_first,
        fast_after_view, with_payload, payload_unopened
      from insight_vote_days where org_id = ${org} and ${rollupDays}
    ),
    vg as (
      select grouping(member_id) as g_member, grouping(risk_level) as g_risk, grouping(action_type) as g_action,
        member_id, risk_level, action_type,
        sum(decisions)::int8 as decisions, sum(approvals)::int8 as approvals, sum(denials)::int8 as denials,
        sum(opened_first)::int8 as opened_first, sum(fast_after_view)::int8 as fast_after_view,
        sum(with_payload)::int8 as with_payload, sum(payload_unopened)::int8 as payload_unopened
      from vc
      group by grouping sets ((), (member_id), (risk_level), (action_type))
    ),
    cg as (
      select null::uuid as member_id, decision_channel as channel, sum(approved + denied)::int8 as decisions
      from hc group by decision_channel having sum(approved + denied) > 0
      union all
      select member_id, channel, sum(decisions)::int8 from vc group by member_id, channel
    ),
    sg as (
      select series, dim, key, bucket, sum(n)::int8 as n, sum(total) as total
      from (
        select series, dim, key, bucket, n, total from sd
        union all
        select series, dim, key, bucket, n, total
        from insight_second_days where org_id = ${org} and ${rollupDays}
      ) s
      group by series, dim, key, bucket
    ),
    ng as (
      select action_type, target, device_id, sum(handoffs)::int8 as handoffs, sum(fast)::int8 as fast,
        max(max_risk) as max_risk
      from (
        select action_type, target, device_id, handoffs, fast, max_risk from nd
        union all
        select action_type, target, device_id, handoffs, fast, max_risk
        from insight_noisy_days where org_id = ${org} and ${rollupDays}
      ) n
      group by action_type, target, device_id
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
      'handoffs', coalesce((select jsonb_agg(to_jsonb(hg)) from hg), '[]'),
      'votes', coalesce((select jsonb_agg(to_jsonb(vg) || jsonb_build_object('name', m.name))
        from vg left join members m on m.org_id = ${org} and m.id = vg.member_id), '[]'),
      'channels', coalesce((select jsonb_agg(to_jsonb(cg)) from cg), '[]'),
      'noisy', coalesce((select jsonb_agg(to_jsonb(noisy)) from noisy), '[]'),
      'seconds', coalesce((select jsonb_agg(jsonb_build_array(series, dim, key, bucket, n, total)
        order by series, dim, key, bucket) from sg), '[]')
    ) as doc`;
}

/** Attaches each group's p50 and p90 from its histogram (core/insights percentileOfBuckets). */
function withPercentiles(doc: WindowDoc): InsightRows {
  const hist = new Map<string, [value: number, n: number][]>();
  for (const [series, dim, key, , n, total] of doc.seconds) {
    const k = `${series}|${dim}|${key}`;
    const list = hist.get(k) ?? [];
    list.push([total / n, n]);
    hist.set(k, list);
  }
  const pct = (series: 'h' | 'v', dim: SecondsDim, key: string | null) => {
    const buckets = hist.get(`${series}|${dim}|${key ?? ''}`) ?? [];
    return { p50: percentileOfBuckets(buckets, 0.5), p90: percentileOfBuckets(buckets, 0.9) };
  };
  return {
    handoffs: doc.handoffs.map((r) => ({
      ...r,
      ...(r.g_risk === 0
        ? pct('h', 'risk', r.risk_level)
        : r.g_action === 0
          ? pct('h', 'action', r.action_type)
          : pct('h', 'all', '')),
    })),
    votes: doc.votes.map((r) => ({
      ...r,
      ...(r.g_member === 0
        ? pct('v', 'member', r.member_id)
        : r.g_risk === 0
          ? pct('v', 'risk', r.risk_level)
          : r.g_action === 0
            ? pct('v', 'action', r.action_type)
            : pct('v', 'all', '')),
    })),
    channels: doc.channels,
    noisy: doc.noisy,
  };
}
