/**
 * Approval-fatigue insights (docs/insights.md): the window rules, the thresholds and the words.
 * Pure: the numbers are counted in SQL (features/insights/insights.repository.ts); this module
 * checks the window, turns counts into rates and writes the noisy-action suggestions.
 */

/** A decision this close to its reference time (first view, or escalation) counts as fast. */
export const FAST_SECONDS = 5;
/** The longest window one request may ask for. */
export const MAX_WINDOW_DAYS = 366;
/** The window when the request names none: the last 30 days. */
export const DEFAULT_WINDOW_DAYS = 30;
/** A noisy action needs at least this many handoffs in the window… */
export const NOISY_MIN_HANDOFFS = 5;
/** …and at least this share of them approved fast. */
export const NOISY_MIN_FAST_SHARE = 0.9;
/** Noisy actions are suggested for allow-by-policy only up to this level; higher ones never. */
export const NOISY_LEVELS = ['low', 'medium'] as const;
/** How many noisy actions an answer lists at most (the noisiest first). */
export const NOISY_LIMIT = 20;

const DAY_MS = 86_400_000;
/** An ISO 8601 date (`2026-12-01`, midnight UTC) or date-time with a zone (`…T10:00:00Z`, `+02:00`). */
const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

export type WindowResult =
  | { readonly ok: true; readonly from: Date; readonly to: Date }
  | { readonly ok: false; readonly error: string };

function parseInstant(name: string, v: string): Date | string {
  if (!ISO.test(v))
    return `${name} must be an ISO 8601 date or date-time with a time zone (e.g. 2026-12-01 or 2026-12-01T09:00:00Z), got "${v.slice(0, 40)}"`;
  const d = new Date(v.length === 10 ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(d.getTime())) return `${name} is not a real date: "${v.slice(0, 40)}"`;
  // Date rolls 2026-02-31 over to March: refuse what it had to correct.
  if (d.toISOString().slice(0, 10) !== v.slice(0, 10) && v.length === 10)
    return `${name} is not a real date: "${v}"`;
  return d;
}

/**
 * The window [from, to): both optional (to defaults to now, from to DEFAULT_WINDOW_DAYS before to);
 * from must be before to and the window at most MAX_WINDOW_DAYS long.
 */
export function parseWindow(from: string | undefined, to: string | undefined, now: Date): WindowResult {
  const end = to === undefined ? now : parseInstant('to', to);
  if (typeof end === 'string') return { ok: false, error: end };
  const start =
    from === undefined ? new Date(end.getTime() - DEFAULT_WINDOW_DAYS * DAY_MS) : parseInstant('from', from);
  if (typeof start === 'string') return { ok: false, error: start };
  if (start.getTime() >= end.getTime())
    return { ok: false, error: `from (${start.toISOString()}) must be before to (${end.toISOString()})` };
  if (end.getTime() - start.getTime() > MAX_WINDOW_DAYS * DAY_MS)
    return { ok: false, error: `the window is longer than ${MAX_WINDOW_DAYS} days; ask for a shorter one` };
  return { ok: true, from: start, to: end };
}

/** n / d rounded to 4 decimals; null when there is nothing to divide by. */
export const rate = (n: number, d: number): number | null =>
  d === 0 ? null : Math.round((n / d) * 10_000) / 10_000;

/** Seconds rounded to 3 decimals (milliseconds); null stays null. */
export const seconds = (s: number | null): number | null => (s === null ? null : Math.round(s * 1000) / 1000);

export interface NoisyGroup {
  readonly actionType: string;
  readonly target: string | null;
  readonly deviceName: string | null;
  readonly handoffs: number;
  readonly fast: number;
  readonly maxRisk: string;
}

/** Whether a group is noisy: enough handoffs, nearly all approved fast, and low or medium risk. */
export function isNoisy(g: Pick<NoisyGroup, 'handoffs' | 'fast' | 'maxRisk'>): boolean {
  return (
    g.handoffs >= NOISY_MIN_HANDOFFS &&
    g.fast / g.handoffs >= NOISY_MIN_FAST_SHARE &&
    (NOISY_LEVELS as readonly string[]).includes(g.maxRisk)
  );
}

/** Backticks inside a quoted name would end the quote: shown as a plain quote instead. */
const quoted = (s: string) => `\`${s.replace(/`/g, "'").slice(0, 80)}\``;

/** E.g. "96% of `npm test` handoffs from device `ci-3` were approved within 5 s: allow by policy?" */
export function noisySuggestion(g: NoisyGroup): string {
  const pct = Math.floor((g.fast / g.handoffs) * 100);
  const what = g.target !== null ? `${quoted(g.target)} (${g.actionType})` : quoted(g.actionType);
  const from = g.deviceName !== null ? ` from device ${quoted(g.deviceName)}` : ' from a removed device';
  return `${pct}% of ${what} handoffs${from} were approved within ${FAST_SECONDS} s: allow by policy?`;
}

/**
 * Postgres's percentile_cont over a histogram: `buckets` are [value, count] pairs (each value stands
 * for `count` equal observations); the answer interpolates between the two observations around
 * rank p·(N−1), as percentile_cont does over the expanded list. Null when there is none.
 */
export function percentileOfBuckets(
  buckets: readonly (readonly [number, number])[],
  p: number,
): number | null {
  const sorted = buckets.filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return null;
  const pos = p * (total - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const at = (rank: number): number => {
    let seen = 0;
    for (const [v, n] of sorted) {
      seen += n;
      if (rank < seen) return v;
    }
    return sorted[sorted.length - 1]![0];
  };
  const a = at(lo);
  return lo === hi ? a : a + (pos - lo) * (at(hi) - a);
}
