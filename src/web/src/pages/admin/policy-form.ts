/**
 * The escalation policy as an editable form and back (pure). Numbers stay strings while typed;
 * `fromForm` checks what the browser can check (whole numbers, non-empty targets) and the server
 * validates the rest (docs/handoffs.md). Parts the form does not edit (groups, unknown keys) pass
 * through unchanged.
 */
export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];
export const RULES = ['allow', 'approve', 'deny'] as const;
export type Rule = (typeof RULES)[number];
export const STEP_CHANNELS = ['console', 'slack', 'telegram', 'email', 'phone', 'sms'] as const;
/** docs/assurance.md: the weakest proof an approval may have. */
export const ASSURANCE_LEVELS = ['A1', 'A2', 'A3'] as const;
export type AssuranceLevel = (typeof ASSURANCE_LEVELS)[number];

export interface StepForm {
  channel: string;
  after_s: string;
  /** "all", or member ids and group:<name> separated by commas, spaces or new lines. */
  targets: string;
}

export interface LevelForm {
  rule: Rule;
  required_approvals: string;
  require_totp: boolean;
  min_assurance: AssuranceLevel;
  repeat: string;
  repeat_every_s: string;
  /** The longest a handoff of this level may live, Extend included (seconds). */
  max_lifetime_s: string;
  steps: StepForm[];
}

export interface PolicyForm {
  levels: Record<RiskLevel, LevelForm>;
  timeout_default: string;
  timeout_min: string;
  timeout_max: string;
  /** Everything else of the stored policy (groups…), sent back as it was. */
  rest: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, fallback: string) =>
  typeof v === 'number' || typeof v === 'string' ? String(v) : fallback;

function stepForm(s: unknown): StepForm {
  const o = isObj(s) ? s : {};
  const targets = o.targets;
  return {
    channel: typeof o.channel === 'string' ? o.channel : 'console',
    after_s: str(o.after_s, '0'),
    targets: Array.isArray(targets) ? targets.filter((t) => typeof t === 'string').join(', ') : 'all',
  };
}

export function toForm(policy: unknown): PolicyForm {
  const p = isObj(policy) ? policy : {};
  const levelsIn = isObj(p.levels) ? p.levels : {};
  const levels = {} as Record<RiskLevel, LevelForm>;
  for (const level of RISK_LEVELS) {
    const l = isObj(levelsIn[level]) ? (levelsIn[level] as Obj) : {};
    const rule = (RULES as readonly unknown[]).includes(l.rule) ? (l.rule as Rule) : 'approve';
    levels[level] = {
      rule,
      required_approvals: str(l.required_approvals, '1'),
      require_totp: l.require_totp === true,
      min_assurance: (ASSURANCE_LEVELS as readonly unknown[]).includes(l.min_assurance)
        ? (l.min_assurance as AssuranceLevel)
        : level === 'critical'
          ? 'A2'
          : 'A1',
      repeat: str(l.repeat, '0'),
      repeat_every_s: str(l.repeat_every_s, '600'),
      max_lifetime_s: str(l.max_lifetime_s, '86400'),
      steps: Array.isArray(l.steps) && l.steps.length > 0 ? l.steps.map(stepForm) : [stepForm({})],
    };
  }
  const t = isObj(p.timeout_s) ? p.timeout_s : {};
  const rest: Obj = {};
  for (const [k, v] of Object.entries(p)) if (k !== 'levels' && k !== 'timeout_s') rest[k] = v;
  return {
    levels,
    timeout_default: str(t.default, '900'),
    timeout_min: str(t.min, '30'),
    timeout_max: str(t.max, '86400'),
    rest,
  };
}

export type FormResult = { ok: true; value: Obj } | { ok: false; errors: string[] };

const INT = /^\d{1,9}$/;

export function fromForm(form: PolicyForm): FormResult {
  const errors: string[] = [];
  const int = (v: string, what: string): number => {
    const s = v.trim();
    if (!INT.test(s)) {
      errors.push(`${what} must be a whole number`);
      return 0;
    }
    return Number(s);
  };
  const levels: Obj = {};
  for (const level of RISK_LEVELS) {
    const l = form.levels[level];
    const steps = l.steps.map((s, i) => {
      const list = s.targets
        .split(/[\s,]+/)
        .map((x) => x.trim())
        .filter((x) => x !== '');
      if (list.length === 0) errors.push(`${level} step ${i + 1}: targets must be "all" or a list`);
      return {
        after_s: int(s.after_s, `${level} step ${i + 1} after (s)`),
        channel: s.channel,
        targets: list.length === 1 && list[0] === 'all' ? 'all' : list,
      };
    });
    if (steps.length === 0 && l.rule === 'approve') errors.push(`${level}: add at least one step`);
    levels[level] = {
      rule: l.rule,
      steps,
      required_approvals: int(l.required_approvals, `${level} approvals needed`),
      require_totp: l.require_totp,
      min_assurance: l.min_assurance,
      repeat: int(l.repeat, `${level} repeats`),
      repeat_every_s: int(l.repeat_every_s, `${level} repeat every (s)`),
      max_lifetime_s: int(l.max_lifetime_s, `${level} longest life with Extend (s)`),
    };
  }
  const timeout_s = {
    default: int(form.timeout_default, 'default timeout'),
    min: int(form.timeout_min, 'minimum timeout'),
    max: int(form.timeout_max, 'maximum timeout'),
  };
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { ...form.rest, levels, timeout_s } };
}

/** The audit list's query string from the filters (empty ones left out). */
export function auditQuery(f: {
  action?: string;
  actor_id?: string;
  from?: string;
  to?: string;
  before_seq?: number | null;
  limit?: number;
}): string {
  const q = new URLSearchParams();
  if (f.action) q.set('action', f.action);
  if (f.actor_id?.trim()) q.set('actor_id', f.actor_id.trim());
  // datetime-local inputs carry no zone: read them as the browser's local time.
  if (f.from) q.set('from', new Date(f.from).toISOString());
  if (f.to) q.set('to', new Date(f.to).toISOString());
  if (f.before_seq != null) q.set('before_seq', String(f.before_seq));
  q.set('limit', String(f.limit ?? 50));
  return q.toString();
}
