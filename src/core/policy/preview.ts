/**
 * The escalation plan of one risk level in one sentence, for the policy page: "a high-risk handoff
 * will: ask Alice by Slack, then after 5 min call Bob by phone; it needs 2 approvals; unanswered,
 * it is denied after 15 min." Built from the same policy shape the escalation runs (the steps in
 * their after_s order, the repeats, the quorum, the step-up, the default timeout). Pure.
 */
// The parts of EscalationPolicy (./escalation.ts) the sentence reads, declared here so the dashboard
// can bundle this file without the risk engine; an EscalationPolicy is assignable to PreviewPolicy.
type Level = 'low' | 'medium' | 'high' | 'critical';
interface EscalationStep {
  readonly after_s: number;
  readonly channel: 'console' | 'slack' | 'telegram' | 'email' | 'phone' | 'sms';
  readonly targets: readonly string[] | 'all';
}
interface LevelPolicy {
  readonly rule: 'allow' | 'approve' | 'deny';
  readonly steps: readonly EscalationStep[];
  readonly required_approvals: number;
  readonly require_totp: boolean;
  readonly repeat: number;
  readonly repeat_every_s: number;
}

/** "30 s", "5 min", "1 h 30 min", "2 d". */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  }
  if (s < 86_400) {
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return m === 0 ? `${h} h` : `${h} h ${m} min`;
  }
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  return h === 0 ? `${d} d` : `${d} d ${h} h`;
}

function list(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? 'nobody';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Who a step reaches, in words: everyone, names, on-call groups; an unknown id says so. */
function whom(step: EscalationStep, names: ReadonlyMap<string, string>): string {
  if (step.targets === 'all') return 'everyone';
  return list(
    step.targets.map((t) =>
      t.startsWith('group:') ? `the ${t.slice(6)} group` : (names.get(t) ?? 'an unknown member'),
    ),
  );
}

function action(step: EscalationStep, names: ReadonlyMap<string, string>): string {
  const who = whom(step, names);
  switch (step.channel) {
    case 'phone':
      return `call ${who}`;
    case 'sms':
      return `text ${who} by SMS`;
    case 'email':
      return `email ${who}`;
    case 'slack':
      return `ask ${who} by Slack`;
    case 'telegram':
      return `ask ${who} by Telegram`;
    case 'console':
      return `show it to ${who} on the server console`;
    default:
      return `ask ${who} by ${String(step.channel)}`;
  }
}

/**
 * The sentence for one level. `names` maps member ids to display names; `timeoutS` is the
 * handoff's lifetime (the policy's default timeout unless given).
 */
export interface PreviewPolicy {
  readonly levels: Readonly<Record<Level, LevelPolicy>>;
  readonly timeout_s: { readonly default: number };
}

export function previewSentence(
  level: Level,
  policy: PreviewPolicy,
  names: ReadonlyMap<string, string>,
  timeoutS: number = policy.timeout_s.default,
): string {
  const l = policy.levels[level];
  const subject = `a ${level}-risk handoff`;
  if (l.rule === 'allow') return `${subject} is allowed at once, without asking anyone.`;
  if (l.rule === 'deny') return `${subject} is refused at once, without asking anyone.`;
  const steps = l.steps
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => s.after_s < timeoutS)
    .sort((x, y) => x.s.after_s - y.s.after_s || x.i - y.i)
    .map(({ s }, k) =>
      k === 0 && s.after_s === 0
        ? action(s, names)
        : `${k === 0 ? '' : 'then '}after ${durationText(s.after_s)} ${action(s, names)}`,
    );
  const parts = [`${subject} will: ${steps.length === 0 ? 'ask nobody in time' : steps.join(', ')}`];
  if (l.repeat > 0) {
    parts.push(
      `repeat this ${l.repeat === 1 ? 'once' : `${l.repeat} times`}, every ${durationText(l.repeat_every_s)}, while it waits`,
    );
  }
  const quorum = l.required_approvals === 1 ? 'one approval' : `${l.required_approvals} approvals`;
  parts.push(`it needs ${quorum}${l.require_totp ? ', each with a TOTP code' : ''}`);
  parts.push(`unanswered, it is denied after ${durationText(timeoutS)}`);
  return `${parts.join('; ')}.`;
}
