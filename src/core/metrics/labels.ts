/**
 * Metric label values (pure). Every label is a closed enum: a value outside its list becomes
 * `other`, so no org, member or handoff id, title, phone number or other free text can ever become
 * a label (DESIGN.md §3.8). The label test drives traffic full of secrets and checks every exported
 * value against these lists.
 */
import { CHANNELS } from '../policy/escalation.js';
import { RISK_LEVELS } from '../risk/levels.js';

export const OTHER = 'other';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', OTHER] as const;
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', OTHER] as const;
/** The route of a request no route matched (404s of unknown paths): never the raw path. */
export const UNMATCHED_ROUTE = 'unmatched';
export const RISK_LEVEL_LABELS = [...RISK_LEVELS, OTHER] as const;
export const DECISION_OUTCOMES = ['approved', 'denied', 'expired', 'cancelled', OTHER] as const;
/**
 * Where a decision came from: the escalation channels, the dashboard/API (`web`), the agent
 * withdrawing its own handoff (`agent`), the org's policy deciding at creation (`policy`) and
 * expiry (`none`).
 */
export const DECISION_CHANNELS = [...CHANNELS, 'web', 'agent', 'policy', 'none', OTHER] as const;
export const ESCALATION_CHANNELS = [...CHANNELS, OTHER] as const;
export const ESCALATION_OUTCOMES = ['sent', 'skipped', 'failed', 'channel_not_configured', OTHER] as const;
/** Audit checkpoint witnesses (docs/audit.md, "Witnesses") and how one push ended. */
export const WITNESS_LABELS = ['https', 's3', OTHER] as const;
export const WITNESS_OUTCOMES = ['ok', 'failed', OTHER] as const;

/** `value` when it is one of `allowed`, else `other`. */
export function closed<const T extends readonly string[]>(
  allowed: T,
  value: string | null | undefined,
): T[number] {
  return value != null && (allowed as readonly string[]).includes(value) ? (value as T[number]) : OTHER;
}

export function statusClass(status: number): (typeof STATUS_CLASSES)[number] {
  if (!Number.isInteger(status) || status < 100 || status > 599) return OTHER;
  return `${Math.floor(status / 100)}xx` as (typeof STATUS_CLASSES)[number];
}

/** The route template when it is one the server registered, else `unmatched`. */
export function routeLabel(template: string | undefined, registered: ReadonlySet<string>): string {
  return template !== undefined && registered.has(template) ? template : UNMATCHED_ROUTE;
}
