/**
 * The org's escalation policy (pure): per risk level, who is asked, on which channel, after how long,
 * how many distinct approvals decide it (quorum), whether approving needs a TOTP code (step-up), and
 * the bounds on the agent's timeout. Expiry always counts as a deny.
 */
import { ASSURANCE_LEVELS, type AssuranceLevel } from '../approval/assurance.js';
import { RISK_LEVELS, type McpToolAction, type RiskLevel } from '../risk/index.js';

/** Channels a step may use; a step on a channel the operator has not configured is recorded as such. */
export const CHANNELS = ['console', 'slack', 'telegram', 'email', 'phone', 'sms'] as const;
export type ChannelName = (typeof CHANNELS)[number];

export interface EscalationStep {
  /** Seconds after the handoff was created. */
  readonly after_s: number;
  readonly channel: ChannelName;
  /**
   * "all" (every active member with role member or admin), or a list of member ids and on-call
   * group references ("group:<name>", a group of this policy's `groups`).
   */
  readonly targets: readonly string[] | 'all';
}

/**
 * What happens when a handoff of this level arrives: `allow` decides it at once without asking a
 * human (recorded in the audit chain as allowed by policy), `approve` escalates to humans, `deny`
 * refuses it at once. The derived risk picks the rule, never the agent's claim.
 */
export const RULES = ['allow', 'approve', 'deny'] as const;
export type Rule = (typeof RULES)[number];

/**
 * The rule a handoff gets: its level's, made stricter, never looser, by the org's MCP tool rule
 * (`deny` refuses, `ask` asks a human where the level would allow). An `allow` tool rule acts on the
 * level instead (the risk engine's `mcp_tool_allowed`), so what the arguments carry still counts.
 */
export function ruleOf(level: Pick<LevelPolicy, 'rule'>, tool: McpToolAction | undefined): Rule {
  if (tool === 'deny') return 'deny';
  if (tool === 'ask' && level.rule === 'allow') return 'approve';
  return level.rule;
}

export interface LevelPolicy {
  readonly rule: Rule;
  readonly steps: readonly EscalationStep[];
  /** Distinct approvers needed to approve (a single deny decides). */
  readonly required_approvals: number;
  /** Approving needs a TOTP code from the approver. */
  readonly require_totp: boolean;
  /**
   * The weakest proof an approving answer may have (docs/assurance.md): A1 chat, SMS, voice or a web
   * session alone; A2 a TOTP step-up or a fresh second-factor sign-in; A3 a passkey. Denying never needs it.
   */
  readonly min_assurance: AssuranceLevel;
  /** Run the steps again this many times (0..5), every `repeat_every_s`, while still pending. */
  readonly repeat: number;
  readonly repeat_every_s: number;
  /**
   * The longest a handoff of this level may live, from its creation to its expiry, counting every
   * Extend a member adds (docs/handoffs.md "Extend"); the agent's own timeout is bounded by timeout_s.
   */
  readonly max_lifetime_s: number;
}

/** Default total life of a handoff, extensions included: a day. */
export const DEFAULT_MAX_LIFETIME_S = 86_400;

export interface EscalationPolicy {
  readonly levels: Readonly<Record<RiskLevel, LevelPolicy>>;
  /** On-call groups: a name -> member ids, referenced by steps as "group:<name>". */
  readonly groups: Readonly<Record<string, readonly string[]>>;
  /** The agent's timeout_s is clamped to [min, max]; default when absent. */
  readonly timeout_s: { readonly default: number; readonly min: number; readonly max: number };
}

const step0: EscalationStep = { after_s: 0, channel: 'console', targets: 'all' };
const asked = {
  steps: [step0],
  required_approvals: 1,
  require_totp: false,
  min_assurance: 'A1',
  repeat: 0,
  repeat_every_s: 600,
  max_lifetime_s: DEFAULT_MAX_LIFETIME_S,
} as const;

export const defaultEscalationPolicy: EscalationPolicy = {
  levels: {
    low: { rule: 'allow', ...asked },
    medium: { rule: 'approve', ...asked },
    high: { rule: 'approve', ...asked },
    critical: { rule: 'approve', ...asked, min_assurance: 'A2' },
  },
  timeout_s: { default: 900, min: 30, max: 86_400 },
  groups: {},
};

export type PolicyParse = { ok: true; value: EscalationPolicy } | { ok: false; errors: string[] };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates a stored or submitted policy; missing parts take the defaults. */
export function parseEscalationPolicy(value: unknown): PolicyParse {
  const errors: string[] = [];
  if (!isObject(value)) return { ok: false, errors: ['policy must be an object'] };
  const groupsIn = value.groups ?? {};
  const groups: Record<string, readonly string[]> = {};
  if (!isObject(groupsIn)) {
    errors.push('groups must be an object: {"<name>": [member ids]}');
  } else {
    for (const [name, members] of Object.entries(groupsIn)) {
      if (!/^[a-z0-9_-]{1,32}$/.test(name)) errors.push(`groups.${name}: a group name is [a-z0-9_-]{1,32}`);
      else if (
        !Array.isArray(members) ||
        members.length === 0 ||
        members.length > 50 ||
        !members.every((m) => typeof m === 'string' && UUID.test(m))
      ) {
        errors.push(`groups.${name} must be a list of 1 to 50 member ids`);
      } else groups[name] = members as string[];
    }
  }
  const isTarget = (t: unknown) =>
    typeof t === 'string' && (UUID.test(t) || (t.startsWith('group:') && t.slice(6) in groups));
  const levelsIn = value.levels ?? {};
  if (!isObject(levelsIn)) return { ok: false, errors: ['levels must be an object keyed by risk level'] };
  for (const k of Object.keys(levelsIn))
    if (!(RISK_LEVELS as readonly string[]).includes(k)) errors.push(`levels.${k}: not a risk level`);
  const levels = {} as Record<RiskLevel, LevelPolicy>;
  for (const level of RISK_LEVELS) {
    const raw = levelsIn[level];
    const base = defaultEscalationPolicy.levels[level];
    if (raw === undefined) {
      levels[level] = base;
      continue;
    }
    if (!isObject(raw)) {
      errors.push(`levels.${level} must be an object`);
      continue;
    }
    const steps: EscalationStep[] = [];
    const stepsIn = raw.steps ?? base.steps;
    if (!Array.isArray(stepsIn) || stepsIn.length === 0 || stepsIn.length > 10) {
      errors.push(`levels.${level}.steps must be a list of 1 to 10 steps`);
    } else {
      stepsIn.forEach((s: unknown, i: number) => {
        const at = `levels.${level}.steps[${i}]`;
        if (!isObject(s)) return void errors.push(`${at} must be an object`);
        const after = s.after_s;
        if (typeof after !== 'number' || !Number.isInteger(after) || after < 0 || after > 86_400)
          errors.push(`${at}.after_s must be an integer 0..86400`);
        if (!(CHANNELS as readonly unknown[]).includes(s.channel))
          errors.push(`${at}.channel must be one of ${CHANNELS.join(', ')}`);
        const targets = s.targets ?? 'all';
        const targetsOk =
          targets === 'all' ||
          (Array.isArray(targets) && targets.length > 0 && targets.length <= 50 && targets.every(isTarget));
        if (!targetsOk) {
          errors.push(
            `${at}.targets must be "all" or a list of member ids and "group:<name>" of defined groups`,
          );
        }
        if (errors.length === 0)
          steps.push({
            after_s: after as number,
            channel: s.channel as ChannelName,
            targets: targets as EscalationStep['targets'],
          });
      });
      for (let i = 1; i < steps.length; i++)
        if (steps[i]!.after_s < steps[i - 1]!.after_s)
          errors.push(`levels.${level}.steps must be in after_s order`);
    }
    const rule = raw.rule ?? base.rule;
    if (!(RULES as readonly unknown[]).includes(rule))
      errors.push(`levels.${level}.rule must be one of ${RULES.join(', ')}`);
    const required = raw.required_approvals ?? base.required_approvals;
    if (typeof required !== 'number' || !Number.isInteger(required) || required < 1 || required > 10)
      errors.push(`levels.${level}.required_approvals must be 1..10`);
    const totp = raw.require_totp ?? base.require_totp;
    if (typeof totp !== 'boolean') errors.push(`levels.${level}.require_totp must be true or false`);
    const minAssurance = raw.min_assurance ?? base.min_assurance;
    if (!(ASSURANCE_LEVELS as readonly unknown[]).includes(minAssurance))
      errors.push(`levels.${level}.min_assurance must be one of ${ASSURANCE_LEVELS.join(', ')}`);
    const repeat = raw.repeat ?? base.repeat;
    if (typeof repeat !== 'number' || !Number.isInteger(repeat) || repeat < 0 || repeat > 5)
      errors.push(`levels.${level}.repeat must be 0..5`);
    const every = raw.repeat_every_s ?? base.repeat_every_s;
    const lastStep = steps.at(-1)?.after_s ?? 0;
    if (
      typeof every !== 'number' ||
      !Number.isInteger(every) ||
      every < 60 ||
      every > 86_400 ||
      every <= lastStep
    ) {
      errors.push(`levels.${level}.repeat_every_s must be 60..86400 and longer than the last step's after_s`);
    }
    const lifetime = raw.max_lifetime_s ?? base.max_lifetime_s;
    if (typeof lifetime !== 'number' || !Number.isInteger(lifetime) || lifetime < 60 || lifetime > 7 * 86_400)
      errors.push(`levels.${level}.max_lifetime_s must be an integer 60..604800 (seconds)`);
    levels[level] = {
      rule: rule as Rule,
      steps,
      required_approvals: required as number,
      require_totp: totp as boolean,
      min_assurance: minAssurance as AssuranceLevel,
      repeat: repeat as number,
      repeat_every_s: every as number,
      max_lifetime_s: lifetime as number,
    };
  }
  const t = value.timeout_s ?? defaultEscalationPolicy.timeout_s;
  const timeout = isObject(t) ? { ...defaultEscalationPolicy.timeout_s, ...t } : undefined;
  const int = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 10 && v <= 7 * 86_400;
  if (
    !timeout ||
    !int(timeout.default) ||
    !int(timeout.min) ||
    !int(timeout.max) ||
    !(timeout.min <= timeout.default && timeout.default <= timeout.max)
  ) {
    errors.push('timeout_s must be {default, min, max}: integers 10..604800 with min <= default <= max');
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { levels, groups, timeout_s: timeout as EscalationPolicy['timeout_s'] } };
}

/** A step's targets as member ids (groups expanded, duplicates removed); undefined means everyone. */
export function resolveTargets(
  policy: EscalationPolicy,
  step: EscalationStep,
): readonly string[] | undefined {
  if (step.targets === 'all') return undefined;
  const ids = step.targets.flatMap((t) => (t.startsWith('group:') ? (policy.groups[t.slice(6)] ?? []) : [t]));
  return [...new Set(ids)];
}

/** When each step runs (seconds after creation), repeats included, within the handoff's lifetime. */
export function stepSchedule(
  level: LevelPolicy,
  timeoutS: number,
): { step: number; round: number; at_s: number }[] {
  const out: { step: number; round: number; at_s: number }[] = [];
  for (let round = 0; round <= level.repeat; round++) {
    level.steps.forEach((s, step) => {
      const at = round * level.repeat_every_s + s.after_s;
      if (at < timeoutS) out.push({ step, round, at_s: at });
    });
  }
  return out;
}

/** The agent's requested timeout, clamped into the policy's bounds. */
export function effectiveTimeout(policy: EscalationPolicy, requested: number | undefined): number {
  const { default: d, min, max } = policy.timeout_s;
  return Math.min(max, Math.max(min, requested ?? d));
}
