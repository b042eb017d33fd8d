/** Small shared pieces: data loading, errors, badges, form fields, time. */
import {
  useCallback,
  useEffect,
  useId,
  useRef,
  useState,
  type InputHTMLAttributes,
  type ReactNode,
} from 'react';
import { errorText } from './api';
import { shownParts } from './shown';
import type { HandoffStatus, RiskLevel } from './types';

/** Loads with `load` on mount and whenever `deps` change; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const run = useCallback(load, deps);
  const reload = useCallback(async () => {
    setLoading(true);
    try {
      setData(await run());
      setError(null);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setLoading(false);
    }
  }, [run]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, setData, error, loading, reload };
}

/** The page heading; sets the document title and takes focus after navigation (screen readers). */
export function PageTitle({ children, title }: { children: ReactNode; title: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · ony`;
    ref.current?.focus();
  }, [title]);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

export function ErrorBox({ error }: { error: string | null | undefined }) {
  if (error == null || error === '') return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  if (children == null || children === '') return null;
  return (
    <p className="notice" role="status">
      {children}
    </p>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

/**
 * One badge for every risk level and status, never colour alone: each kind has its own shape
 * (icon) and its text. Critical is filled and bold; pending is dashed with a clock.
 */
const BADGE_ICON: Record<RiskLevel | HandoffStatus, string> = {
  critical: '⛔',
  high: '▲',
  medium: '◆',
  low: '●',
  pending: '◷',
  approved: '✓',
  denied: '✕',
  expired: '⌛',
  cancelled: '⊘',
};

export function Badge({
  kind,
  value,
}: { kind: 'risk'; value: RiskLevel } | { kind: 'status'; value: HandoffStatus }) {
  return (
    <span className={`badge ${kind}-${value}`} data-badge={`${kind}-${value}`}>
      <span className="badge-icon" aria-hidden="true">
        {BADGE_ICON[value]}
      </span>{' '}
      {kind === 'risk' ? `${value} risk` : value}
    </span>
  );
}

export function RiskBadge({ level }: { level: RiskLevel }) {
  return <Badge kind="risk" value={level} />;
}

export function StatusBadge({ status }: { status: HandoffStatus }) {
  return <Badge kind="status" value={status} />;
}

export function Field({
  label,
  hint,
  ...input
}: InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} {...(hint !== undefined && { 'aria-describedby': `${id}-hint` })} {...input} />
      {hint !== undefined && (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      )}
    </div>
  );
}

/** The browser's timezone (the default until a member picks one on the Account page). */
export const browserTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** An absolute time, in `timeZone` (the member's) when given, else the browser's. */
export function formatTime(iso: string, timeZone?: string | null): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    return d.toLocaleString(undefined, {
      dateStyle: 'medium',
      timeStyle: 'long',
      ...(timeZone != null && { timeZone }),
    });
  } catch {
    return d.toLocaleString();
  }
}

/** "just now", "3 min ago", "2 h ago", "yesterday", "4 days ago"; "in 3 min" for a future time. */
export function relativeTime(iso: string, now: number): string {
  const ms = now - new Date(iso).getTime();
  if (Number.isNaN(ms)) return iso;
  const future = ms < 0;
  const s = Math.floor(Math.abs(ms) / 1000);
  const say = (n: number, unit: string) => (future ? `in ${n} ${unit}` : `${n} ${unit} ago`);
  if (s < 45) return future ? 'in a moment' : 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return say(m, 'min');
  const h = Math.round(m / 60);
  if (h < 24) return say(h, 'h');
  const d = Math.round(h / 24);
  if (d === 1) return future ? 'tomorrow' : 'yesterday';
  return say(d, 'days');
}

/**
 * A time as "3 min ago", with the absolute time (in the member's timezone) on hover and for
 * assistive technology. `now` comes from the list's one timer (useNow), not one per row.
 */
export function RelativeTime({ iso, now, timeZone }: { iso: string; now: number; timeZone?: string | null }) {
  const absolute = formatTime(iso, timeZone);
  return (
    <time dateTime={iso} title={absolute}>
      {relativeTime(iso, now)}
    </time>
  );
}

/** "4 min 10 s left", ticking every second; "expired" after the deadline. */
export function timeLeft(expiresAt: string, now: number): string {
  const ms = new Date(expiresAt).getTime() - now;
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s left`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s left`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min left`;
}

export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(t);
  }, [intervalMs]);
  return now;
}

export function TimeLeft({ expiresAt }: { expiresAt: string }) {
  const now = useNow();
  return <time dateTime={expiresAt}>{timeLeft(expiresAt, now)}</time>;
}

/** A reason code in words (`destructive_delete` -> `destructive delete`); the detail page shows the full explanation. */
export const reasonText = (code: string): string => code.replace(/_/g, ' ');

/**
 * Text an agent (or a person, or a device) wrote: every dashboard place that renders such text goes
 * through here. Hidden characters show as marked escapes (`⟨U+202E⟩`), never applied.
 */
export function AgentText({ children }: { children: string }) {
  return (
    <>
      {shownParts(children).map((p, i) =>
        p.escape ? (
          <mark key={i} className="hidden-char" title="a hidden character in this text">
            {p.text}
          </mark>
        ) : (
          p.text
        ),
      )}
    </>
  );
}
