/**
 * Structured actions, read rather than trusted: payments, email sends and access grants, from the
 * payload when it is JSON and from the action's own fields; commands and SQL held in JSON fields
 * (an MCP tool's `{"command": …}`, `{"query": …}`) go to the shell and SQL readings. The agent's `action.amount` and
 * `recipients_count` are one reading among others; the larger wins.
 *
 * Amounts: Stripe-style `{amount, currency}` and `amount_total` are minor units (ISO 4217 exponent
 * of the currency); `{value, currency}` and `action.amount` are major units.
 */
import type { FindingSink } from '../findings.js';
import type { RiskInput } from '../types.js';
import { grantStrength } from './iam.js';

export interface StructuredPolicy {
  readonly payment_threshold: number;
  readonly payment_critical_multiplier: number;
  readonly bulk_email_threshold: number;
}

/** ISO 4217 minor-unit exponents that are not 2. */
const EXPONENT: Readonly<Record<string, number>> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  CLF: 4,
  UYW: 4,
};

export function currencyExponent(currency: string | undefined): number {
  return currency === undefined ? 2 : (EXPONENT[currency.toUpperCase()] ?? 2);
}

const MAX_NODES = 50_000;
const MAX_DEPTH = 32;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A decimal string ("2750.00") is in major units whatever the field says. */
function isDecimalString(v: Json | undefined): boolean {
  return typeof v === 'string' && /^\s*-?\d+\.\d+\s*$/.test(v);
}

function num(v: Json | undefined): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\s*-?\d+(?:\.\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The payload as JSON, when it is an object or an array. */
export function parseJsonPayload(content: string): Json | undefined {
  const text = content.trim();
  if (!/^[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

interface Readings {
  /** Amounts in major units, with where they came from. */
  readonly amounts: Array<{ major: number; label: string }>;
  /** Values of command-like keys (`command`, `cmd`, `script`…), argv arrays quoted back into a line. */
  readonly commands: string[];
  /** Values of SQL-like keys (`sql`, `query`, `statement`). */
  readonly sql: string[];
  recipients: number;
  listSend: string | undefined;
  readonly grants: string[];
  /** The JSON is an access policy document (statements with an Effect), whatever the action says. */
  policyDocument: boolean;
}

const RECIPIENT_KEYS = new Set(['to', 'cc', 'bcc', 'recipients', 'emails', 'to_addresses', 'bcc_addresses']);
const COUNT_KEYS = new Set(['recipients_count', 'recipient_count', 'num_recipients']);
const LIST_KEYS =
  /^(?:segments?(?:_ids?)?|audiences?(?:_ids?)?|lists?(?:_ids?)?|mailing_lists?|contact_lists?|broadcast(?:_id)?|campaign_id|tags?|send_to_all|all_users|all_customers)$/i;
const ALL_AUDIENCE =
  /\b(?:all|every|entire)[\s_-]+(?:(?:of[\s_-]+)?(?:our|the)[\s_-]+)?(?:customers|users|subscribers|contacts|members|accounts|clients|recipients|list)\b|\beveryone\b/i;
const COMMAND_KEYS =
  /^(?:command|commands|cmd|cmdline|command_line|script|shell|bash|sh|run|exec|execute|entrypoint|args|argv)$/i;
const SQL_KEYS = /^(?:sql|query|statement|statements|sql_query|raw_sql)$/i;
const GRANT_KEYS =
  /^(?:role|roles|role_name|roleName|role_arn|policy|policy_arn|PolicyArn|policies|permission|permissions|access_level|accessLevel|Action|actions|clusterrole|roleRef|member_role|privileges)$/;

function countRecipients(v: Json): number {
  if (Array.isArray(v))
    return v.filter((x) => (typeof x === 'string' && x.includes('@')) || isObject(x)).length;
  if (typeof v === 'string') return v.split(/[,;]/).filter((s) => s.includes('@')).length;
  if (isObject(v) && typeof v.email === 'string') return 1;
  return 0;
}

function emptyReadings(): Readings {
  return {
    amounts: [],
    commands: [],
    sql: [],
    recipients: 0,
    listSend: undefined,
    grants: [],
    policyDocument: false,
  };
}

function walk(root: Json): Readings {
  const r = emptyReadings();
  let nodes = 0;
  const visit = (v: Json, depth: number, key: string): void => {
    if (++nodes > MAX_NODES || depth > MAX_DEPTH) return;
    if (Array.isArray(v)) {
      for (const item of v) visit(item, depth + 1, key);
      return;
    }
    if (typeof v === 'string') {
      if (COMMAND_KEYS.test(key)) r.commands.push(v);
      if (SQL_KEYS.test(key)) r.sql.push(v);
      if (GRANT_KEYS.test(key)) r.grants.push(v);
      if (ALL_AUDIENCE.test(v) && /^(?:to|audience|segment|list|recipients|send_to)$/i.test(key))
        r.listSend ??= v.slice(0, 80);
      return;
    }
    if (!isObject(v)) return;
    const currency = str(v.currency) ?? str(v.currency_code) ?? str(v.currencyCode);
    const amount = num(v.amount);
    if (amount !== undefined && currency !== undefined) {
      // Stripe-style: an integer is in minor units; a fraction can only be major units.
      const major =
        Number.isInteger(amount) && !isDecimalString(v.amount)
          ? amount / 10 ** currencyExponent(currency)
          : amount;
      r.amounts.push({ major, label: `${major} ${currency.toUpperCase()}` });
    }
    for (const k of ['amount_total', 'amount_subtotal', 'amount_cents', 'amount_in_cents'] as const) {
      const minor = num(v[k]);
      if (minor !== undefined) {
        const major = minor / 10 ** currencyExponent(currency);
        r.amounts.push({ major, label: `${major} ${currency?.toUpperCase() ?? ''}`.trim() });
      }
    }
    const value = num(v.value);
    if (value !== undefined && currency !== undefined)
      r.amounts.push({ major: value, label: `${value} ${currency.toUpperCase()}` });
    for (const [k, child] of Object.entries(v)) {
      if (RECIPIENT_KEYS.has(k.toLowerCase())) r.recipients += countRecipients(child);
      if (COUNT_KEYS.has(k.toLowerCase())) r.recipients = Math.max(r.recipients, num(child) ?? 0);
      if (LIST_KEYS.test(k) && child !== null && child !== false && child !== '' && !Array.isArray(child))
        r.listSend ??= `${k}: ${String(child).slice(0, 60)}`;
      if (LIST_KEYS.test(k) && Array.isArray(child) && child.length > 0) r.listSend ??= k;
      if (Array.isArray(child) && GRANT_KEYS.test(k))
        for (const c of child) if (typeof c === 'string') r.grants.push(c);
      // ["bash", "-c", "rm -rf /"]: an argv, quoted back into one command line.
      if (
        Array.isArray(child) &&
        COMMAND_KEYS.test(k) &&
        child.length > 1 &&
        child.every((c) => typeof c === 'string')
      )
        r.commands.push(child.map((c) => `'${String(c).replace(/'/g, `'\\''`)}'`).join(' '));
      visit(child, depth + 1, k);
    }
    // AWS policy statements: an Allow of every action.
    // AWS statements (Effect) and GCP/Kubernetes bindings (a role and its members or subjects).
    if (str(v.Effect) === 'Allow' || str(v.Effect) === 'Deny') r.policyDocument = true;
    const principal = isObject(v.Principal) ? v.Principal.AWS : v.Principal;
    if (
      str(v.Effect) === 'Allow' &&
      (principal === '*' || (Array.isArray(principal) && principal.includes('*')))
    )
      r.grants.push('"Principal": "*"');
    if (
      (v.role !== undefined || v.roleRef !== undefined) &&
      (Array.isArray(v.members) || Array.isArray(v.subjects))
    )
      r.policyDocument = true;
    if (str(v.Effect) === 'Allow') {
      const actions = Array.isArray(v.Action) ? v.Action : [v.Action ?? null];
      if (actions.some((a) => a === '*' || a === '*:*' || a === 'iam:*')) r.grants.push('"Action": "*"');
    }
  };
  visit(root, 0, '');
  return r;
}

export interface StructuredResult {
  /** True when the reading found a payment, so the caller need not report an unknown amount. */
  readonly payment: boolean;
  readonly email: boolean;
  readonly grant: 'admin' | 'readonly' | 'other' | undefined;
}

/** Payments, emails and grants from the JSON payload and the action's own fields. */
export function analyseStructured(
  input: RiskInput,
  policy: StructuredPolicy,
  out: FindingSink,
  readers: { shell(script: string): void; sql(text: string): void },
): StructuredResult {
  const json = input.payload !== undefined ? parseJsonPayload(input.payload.content) : undefined;
  const r = json !== undefined ? walk(json) : emptyReadings();
  for (const command of r.commands) readers.shell(command);
  for (const sql of r.sql) readers.sql(sql);
  const { action } = input;

  // ---- payments
  const stated = action.amount;
  const amounts = [...r.amounts];
  if (stated !== undefined)
    amounts.push({ major: stated, label: `${stated} ${action.currency ?? ''}`.trim() });
  const payment = amounts.length > 0;
  if (payment) {
    const top = amounts.reduce((a, b) => (b.major > a.major ? b : a));
    const largestRead = r.amounts.reduce((m, a) => Math.max(m, a.major), 0);
    if (
      stated !== undefined &&
      r.amounts.length > 0 &&
      Math.abs(largestRead - stated) > 0.005 * Math.max(1, stated)
    )
      out.add('amount_mismatch', `stated ${stated}, payload ${largestRead}`);
    const threshold = policy.payment_threshold;
    if (top.major >= threshold * policy.payment_critical_multiplier)
      out.add('payment_critical', `${top.label} ≥ ${threshold * policy.payment_critical_multiplier}`);
    else if (top.major > threshold) out.add('payment_over_threshold', `${top.label} > ${threshold}`);
    else out.add('payment', top.label);
  }

  // ---- email
  const count = Math.max(r.recipients, action.recipients_count ?? 0);
  const audienceText = [action.target, input.title, input.summary].filter(Boolean).join(' ');
  const listSend =
    r.listSend ??
    (action.type === 'email.send' && ALL_AUDIENCE.test(audienceText) ? 'all recipients' : undefined);
  const email = action.type === 'email.send' || r.recipients > 0 || action.recipients_count !== undefined;
  if (email || listSend !== undefined) {
    if (count > policy.bulk_email_threshold)
      out.add('bulk_email', `${count} recipients > ${policy.bulk_email_threshold}`);
    else if (listSend !== undefined && (email || r.listSend !== undefined))
      out.add('bulk_email', `list or segment send (${listSend})`);
    else if (email) out.add('email_send', count === 0 ? 'recipients not stated' : `${count} recipients`);
  }

  // ---- access grants
  let grant: StructuredResult['grant'];
  const strengths = r.grants.map((g) => ({ g, strength: grantStrength(g, action.type === 'iam.change') }));
  for (const { g, strength } of strengths)
    if (strength === 'admin') {
      out.add('iam_admin_grant', g.slice(0, 120));
      grant = 'admin';
    }
  if (grant === undefined && strengths.length > 0)
    grant = strengths.every((x) => x.strength === 'readonly') ? 'readonly' : 'other';
  // A role field elsewhere (a user record, a config) is only a grant when the action says so; an admin
  // grant is reported whatever the action claims.
  const isGrant = action.type === 'iam.change' || r.policyDocument;
  if (r.policyDocument && grant === undefined) grant = 'other';
  if (isGrant && grant === 'readonly') out.add('iam_readonly', r.grants.join(', ').slice(0, 120));
  else if (isGrant && grant === 'other')
    out.add('iam_change', r.grants.join(', ').slice(0, 120) || 'access policy document');
  return { payment, email: email || listSend !== undefined, grant };
}
