/**
 * Generates docs/privacy.md from the code (issue #10 item 8), so the page cannot drift:
 *   - tables and columns: parsed from migrations/*.sql (every CREATE TABLE, tenant or not);
 *   - retention, export, erasure and session figures: the constants the code uses;
 *   - the disclosure matrix: each channel adapter's declared `transmits`, from the channel registry
 *     built with every provider configured (a new adapter shows up by itself);
 *   - who can call what: every route's `auth` and `role`, read from the route files;
 *   - the metric label enums.
 * `npm run docs:privacy` rewrites the page; test/privacy/privacy-doc.test.ts fails when it is stale.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChannelAdapter, TransmittedField } from '../src/channels/channel.js';
import { createChannels } from '../src/channels/registry.js';
import { createPushChannel } from '../src/channels/push/adapter.js';
import { createTelephonyProvider } from '../src/channels/telephony/index.js';
import { createMemoryStore } from '../src/state/store.js';
import { loadConfig } from '../src/config/index.js';
import * as labels from '../src/core/metrics/labels.js';
import {
  DEFAULT_PAYLOAD_RETENTION_DAYS,
  MAX_PAYLOAD_RETENTION_DAYS,
} from '../src/core/retention/retention.js';
import { ERASURE_GRACE_DAYS } from '../src/features/erasure/erasure.service.js';
import { EXPORTS_PER_DAY, LINK_TTL_MS } from '../src/features/export/export.service.js';
import { createLogger } from '../src/lib/logger.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const PAGE = join(ROOT, 'docs', 'privacy.md');

/** Every field an adapter may transmit, described (a Record: a new field fails to compile here). */
const FIELDS: Record<TransmittedField, string> = {
  handoffId: 'opaque handoff id (button values, callback data; never shown as text)',
  shortCode: 'six-character short code',
  actionType: 'action type (e.g. `shell.exec`)',
  riskLevel: 'derived risk level',
  title: 'redacted, bounded title',
  gist: 'gist text (action, risk reasons, the redacted summary cut to a bound; speech, SMS or chat form)',
  summary:
    "a model's summary of the redacted payload, labelled as such (optional; plain text, at most 300 characters)",
  options: 'answer labels (redacted, bounded) and their ids',
  link: "link to the handoff's dashboard page",
};

/** What each table is for; a table missing here is listed as undescribed (add a line). */
const PURPOSE: Record<string, string> = {
  orgs: 'organizations (name, slug)',
  org_keys:
    "the org's data keys, wrapped by a master key (`wrapped_key`, with the master key id for rotation)",
  org_settings: 'per-org settings: risk and escalation policies, payload retention window',
  members:
    "people: name, email, role, status, phone number (masked in every answer but its owner's; verified with a code before use; SMS opt-out), timezone (an IANA name for the dashboard's times, shown only to its owner), TOTP secret (encrypted), password (argon2id), the risk levels that notify them",
  sessions: 'dashboard sessions (token stored only as a SHA-256 hash)',
  invites: 'pending invitations: email, role, token hash',
  recovery_codes: 'TOTP recovery codes (hashed)',
  passkeys:
    "members' passkeys (WebAuthn): credential id, public key, signature counter, transports, the name the member gave it, created and last used times (no secret)",
  passkey_challenges:
    'issued passkey challenges (SHA-256 only): purpose, member, expiry, when used; a step-up challenge names its handoff and option',
  devices: "agents' devices: name, token hash, webhook secret (encrypted)",
  setup_tokens: 'the one-time first-run setup token (hash)',
  handoffs:
    'handoff metadata: redacted title, summary, target and context, derived risk, status, decision; the salted payload hash',
  handoff_payloads:
    'the payload, encrypted with the org data key (per-row salt); deleted by the retention sweep',
  handoff_approvals: 'votes: member, option, comment, channel, time',
  handoff_views:
    'insights (docs/insights.md): when each member first opened a handoff and first fetched its payload (times only; per org; admins see them per approver, others only in aggregate)',
  insight_handoff_days:
    'insights rollup (docs/insights.md): per day, level, action type and deciding channel, counts of finished handoffs by outcome (no content)',
  insight_vote_days:
    "insights rollup: per day, member, level, action type and channel, counts of people's decisions and of fast or unread approvals (no content; admins see them per approver, others only in aggregate)",
  insight_second_days:
    'insights rollup: per day, histograms of seconds from escalation to decision, by level, action type or member (counts and sums only)',
  insight_noisy_days:
    'insights rollup: per day, action type, normalised target and device, counts of finished handoffs and of those approved within 5 s',
  escalation_attempts:
    'escalation steps run: step, channel, outcome (sent, skipped with a closed-enum reason, failed…), time (no content)',
  phone_calls:
    'phone call records: provider call id, masked number, status, duration, outcome (no audio, recording or transcript)',
  audit_events:
    'the append-only hash chain: action, actor, subject ids, allow-listed metadata (never payloads, secrets, tokens or phone numbers)',
  audit_heads: 'the per-org chain head (last seq, last hash)',
  audit_outbox: 'entries waiting for their transaction to commit (moved into audit_events at COMMIT)',
  audit_checkpoints: 'signed checkpoints of the chain head',
  channel_identities: 'linked Slack / Telegram identities of members',
  channel_messages: 'provider message references, to update sent messages after a decision',
  sso_configs: "the org's OpenID Connect settings (client secret encrypted)",
  org_channel_credentials:
    "the org's own Telegram bot and telephony account: the credentials and webhook secret encrypted with the org data key (`config_enc`, write-only), a random webhook route id, a SHA-256 of the bot or account id (one org per bot), non-secret facts (bot @username, provider, masked From number)",
  push_subscriptions:
    "members' browsers that receive Web Push (docs/notifications.md): the push service's endpoint URL, the browser's public key and auth secret (encrypted with the org data key), created and last sent times; deleted when the push service answers 404/410, or the member is deactivated or erased",
  slack_installations:
    "the org's own Slack workspace: team id and name, bot user id, picked channel id, scopes, the bot token (encrypted with the org data key)",
  slack_install_states:
    'pending "Add to Slack" installs: SHA-256 of the single-use state and of the admin\'s session id, expiry',
  sso_identities: 'links of members to an OpenID provider subject',
  sso_break_glass: 'members allowed to sign in with a password while SSO is enforced',
  mail_tokens: 'email-change and reset tokens (hash only)',
  mail_deliveries: 'outgoing mail log (delivery state, masked address)',
  sign_in_devices: 'known browsers per member (hash), for new-sign-in notices',
  exports: 'export records: status, who, when, download token hash, expiry, counts',
  org_erasures: 'scheduled org erasures: who asked, when it runs, who cancelled',
  org_key_rotations: 'a data re-encryption in progress (`ony keys rotate --data`, resumable)',
  org_tombstones: 'what is left of an erased org: org id hash, last seq, last hash, time',
  audit_signing_keys:
    'every audit checkpoint signing key ever used: its name, public key and from when (append-only; no secret)',
  replay_claims:
    'replay protection: SHA-256 hashes of provider message ids, nonces, signatures and chat update ids, with an expiry (swept when expired); no org, no content',
  sms_reply_code_counters:
    'the last SMS reply code given to each number (the number only as a SHA-256 hash), so codes are never reused',
};

export interface TableFact {
  readonly name: string;
  readonly file: string;
  readonly columns: readonly string[];
  readonly tenant: boolean;
}

/** Top-level comma split of a CREATE TABLE body (parentheses nest). */
function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of body) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') parts.push(cur);
  return parts;
}

const NOT_COLUMN = /^(constraint|primary|unique|foreign|check|exclude|like)\b/i;

export async function tableFacts(): Promise<TableFact[]> {
  const dir = join(ROOT, 'migrations');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const tables = new Map<string, TableFact>();
  for (const file of files) {
    const sql = (await readFile(join(dir, file), 'utf8')).replace(/--[^\n]*/g, '');
    const re = /create\s+table\s+(?:if\s+not\s+exists\s+)?(?:public\.)?"?([a-z_][a-z0-9_]*)"?\s*\(/gi;
    for (let m = re.exec(sql); m !== null; m = re.exec(sql)) {
      let depth = 1;
      let i = re.lastIndex;
      for (; i < sql.length && depth > 0; i++) {
        if (sql[i] === '(') depth++;
        else if (sql[i] === ')') depth--;
      }
      const columns = splitTopLevel(sql.slice(re.lastIndex, i - 1))
        .map((c) => c.trim())
        .filter((c) => c !== '' && !NOT_COLUMN.test(c))
        .map((c) => c.split(/\s+/)[0]!.replace(/"/g, ''));
      tables.set(m[1]!, { name: m[1]!, file, columns, tenant: columns.includes('org_id') });
    }
    // Columns added later.
    const alter = /alter\s+table\s+(?:only\s+)?(?:public\.)?"?([a-z_][a-z0-9_]*)"?\s+([^;]*);/gi;
    for (let m = alter.exec(sql); m !== null; m = alter.exec(sql)) {
      const t = tables.get(m[1]!);
      if (t === undefined) continue;
      const added = [
        ...m[2]!.matchAll(/add\s+column\s+(?:if\s+not\s+exists\s+)?"?([a-z_][a-z0-9_]*)"?/gi),
      ].map((a) => a[1]!);
      if (added.length > 0) {
        const columns = [...new Set([...t.columns, ...added])];
        tables.set(t.name, { ...t, columns, tenant: columns.includes('org_id') });
      }
    }
  }
  return [...tables.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function columnNotes(columns: readonly string[]): string {
  const enc = columns.filter((c) => c.endsWith('_enc'));
  const hashed = columns.filter((c) => /(_hash|sha256)$/.test(c));
  const personal = columns.filter((c) =>
    /^(email|name|phone\w*|address\w*|display_name|label|timezone)$/.test(c),
  );
  const notes: string[] = [];
  if (personal.length > 0) notes.push(`personal data: ${personal.map((c) => `\`${c}\``).join(', ')}`);
  if (enc.length > 0) notes.push(`encrypted: ${enc.map((c) => `\`${c}\``).join(', ')}`);
  if (hashed.length > 0) notes.push(`hashes only: ${hashed.map((c) => `\`${c}\``).join(', ')}`);
  return notes.join('; ');
}

export interface RouteFact {
  readonly method: string;
  readonly url: string;
  readonly auth: string;
  readonly role: string;
  readonly file: string;
  readonly route?: { readonly config?: unknown };
}

/** A config with every provider configured (fake credentials: nothing connects while building). */
function everythingConfigured() {
  return loadConfig({
    ONY_MASTER_KEY: Buffer.alloc(32).toString('base64'),
    ONY_PUBLIC_URL: 'https://ony.example',
    ONY_MIGRATE_ON_START: 'false',
    // No built dashboard: its hashed asset names would make the page depend on the last build.
    ONY_WEB_DIR: join(ROOT, 'no-such-web-dir'),
    ONY_TELEGRAM_BOT_TOKEN: '123456:AAAAAAAAAAAAAAAAAAAA',
    ONY_TELEGRAM_MODE: 'webhook',
    ONY_SLACK_BOT_TOKEN: 'xoxb-0000000000',
    ONY_SLACK_MODE: 'http',
    ONY_SLACK_SIGNING_SECRET: 'doc-signing-secret',
    ONY_SMTP_URL: 'smtp://doc@127.0.0.1:25',
    ONY_MAIL_FROM: 'ony@example.com',
    ONY_METRICS_TOKEN: 'doc-metrics-token-0000',
    ONY_TELEPHONY_PROVIDER: 'twilio',
    ONY_TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
    ONY_TWILIO_AUTH_TOKEN: 'doc-auth-token',
    ONY_TELEPHONY_FROM: '+15005550006',
  });
}

/**
 * Every route of the real server (built over a throw-away in-memory database, workers not
 * started), with its `auth` and `role` route config as the auth hook reads them.
 */
export async function routeFacts(): Promise<RouteFact[]> {
  const { openPglite } = await import('../src/db/client.js');
  const { migrate } = await import('../src/db/migrator.js');
  const { createContainer } = await import('../src/container.js');
  const { buildApp } = await import('../src/http/app.js');
  const database = await openPglite(undefined);
  await migrate(database.db);
  const container = await createContainer(everythingConfigured(), {
    database,
    store: createMemoryStore(),
    logger: createLogger('silent'),
  });
  const routes: RouteFact[] = [];
  try {
    const app = await buildApp(container, {
      onRoute: (r) => {
        const methods = (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD');
        for (const method of methods)
          routes.push({ method, url: r.url, auth: '', role: '', file: '', route: r });
      },
    });
    await app.ready();
    await app.close();
  } finally {
    await container.close();
  }
  const seen = new Set<string>();
  return routes
    .map((r) => {
      // Read after ready(): plugins' own onRoute hooks (docs, dashboard files) may set the config.
      const config = (r.route?.config ?? {}) as { auth?: string; role?: string };
      const auth = config.auth ?? 'refused (no auth config)';
      const role = config.role ?? (auth === 'session' ? 'viewer' : '-');
      return { method: r.method, url: r.url, auth, role, file: '' };
    })
    .filter((r) => !r.url.startsWith('/docs'))
    .filter((r) => {
      const key = `${r.method} ${r.url}`;
      return !seen.has(key) && seen.add(key) !== undefined;
    })
    .sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method));
}

function allChannels(): Readonly<Record<string, Pick<ChannelAdapter, 'transmits'>>> {
  const config = everythingConfigured();
  // The phone and SMS adapters need a provider, the ephemeral store and a code counter (never called here).
  return {
    ...createChannels(config, createLogger('silent'), {
      provider: createTelephonyProvider(config.telephony!.provider),
      store: createMemoryStore(),
      replyCodes: { next: () => Promise.reject(new Error('not used')) },
    }),
    // Web Push is not an escalation step: the push job sends through it (docs/notifications.md).
    push: createPushChannel({ vapid: { subject: '', publicKey: '', privateKey: '' }, allowHosts: [] }),
  };
}

const code = (s: string) => `\`${s}\``;
const list = (xs: readonly string[]) => xs.map(code).join(', ');

export async function renderPrivacyPage(): Promise<string> {
  const tables = await tableFacts();
  const routes = await routeFacts();
  const channels = allChannels();
  const defaults = loadConfig({ ONY_MASTER_KEY: Buffer.alloc(32).toString('base64') });
  const fieldNames = Object.keys(FIELDS) as TransmittedField[];
  const names = Object.keys(channels).sort();
  const L: string[] = [];
  const p = (...lines: string[]) => L.push(...lines);

  p(
    '# Privacy: what ony stores, what leaves, who can read it',
    '',
    '<!-- Generated by `npm run docs:privacy` (scripts/privacy-doc.ts) from the code: migrations, channel',
    '     adapters, route configs and constants. Do not edit by hand; test/privacy/privacy-doc.test.ts fails',
    '     when this file is stale. -->',
    '',
    'ony keeps decisions and their audit trail, not your data: payloads are encrypted and short-lived,',
    'channels get a redacted gist, and the server connects out only to providers you configured.',
    '',
    '## How long things are kept',
    '',
    '| what | how long | where set |',
    '|---|---|---|',
    `| handoff payloads (encrypted) | ${DEFAULT_PAYLOAD_RETENTION_DAYS} days after creation by default, 0 (never stored) to ${MAX_PAYLOAD_RETENTION_DAYS} days; pending handoffs are never swept | \`PUT /v1/admin/retention\`, daily sweep, \`ony retention run\` |`,
    '| handoff metadata, decisions, audit chain | until the member is erased (person pseudonymised) or the org is erased | - |',
    `| dashboard sessions | ${defaults.session.idleSeconds} s idle, ${defaults.session.absoluteSeconds} s at most | \`ONY_SESSION_IDLE_SECONDS\`, \`ONY_SESSION_ABSOLUTE_SECONDS\` |`,
    `| export download links | single use, ${LINK_TTL_MS / 60_000} minutes; at most ${EXPORTS_PER_DAY} exports a day, one running per org | - |`,
    `| an org after an erasure request | ${ERASURE_GRACE_DAYS} days of grace (any admin can cancel), then every row is deleted; a tombstone remains | \`ony org erase\` |`,
    '| ephemeral state (rate-limit windows, wake-ups) | seconds to minutes, in memory or Redis | `REDIS_URL` |',
    `| failed sign-ins (email hash, client address) | ${defaults.loginThrottle.windowSeconds} s from the first failure (the account's reset marker twice that), in memory or Redis | \`ONY_LOGIN_WINDOW_SECONDS\` |`,
    '',
    '## Tables',
    '',
    'Every table the migrations create. Tenant tables (with `org_id`) have row-level security enabled and',
    'forced, and every row of them is removed by an org erasure.',
    '',
    '| table | tenant | holds | personal, encrypted and hashed columns | created in |',
    '|---|---|---|---|---|',
  );
  for (const t of tables) {
    p(
      `| \`${t.name}\` | ${t.tenant ? 'yes' : 'no'} | ${PURPOSE[t.name] ?? `(undescribed: add it to PURPOSE in scripts/privacy-doc.ts) columns ${list(t.columns.slice(0, 8))}`} | ${columnNotes(t.columns) || '-'} | ${t.file} |`,
    );
  }
  p(
    '',
    '## Disclosure matrix: what leaves through each channel',
    '',
    'Each channel adapter declares the fields it transmits (`transmits`); a test asserts nothing else leaves. There is no field for the payload, the raw command or tokens. Escalation reaches only the channels an operator configured.',
    '',
    `| field | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---').join('|')}|`,
  );
  for (const f of fieldNames) {
    p(
      `| ${FIELDS[f]} (\`${f}\`) | ${names.map((n) => (channels[n]!.transmits.includes(f) ? 'yes' : '-')).join(' | ')} |`,
    );
  }
  p(
    '| payload, raw command or target, unredacted text, tokens | ' +
      names.map(() => 'never').join(' | ') +
      ' |',
    '',
    "Web Push (docs/notifications.md) goes to the push service of each browser a member subscribed (their browser vendor's: Google, Mozilla, Apple…), after an SSRF check of its endpoint. The push service sees the endpoint, this server's VAPID token and an encrypted blob (aes128gcm); only the member's browser can read the fields marked under `push`.",
    '',
    "Agent callbacks (`callback_url`) receive the handoff's view (status, decision, redacted title), signed with the device's webhook secret, after an SSRF check.",
    '',
    'The payload summarizer (docs/summarizer.md), only when configured (`ONY_SUMMARIZER_URL`), receives the action type and the redacted title, summary and payload (cut to a bound after redaction). Not the target, the context, ids, names or anything unredacted; its checked answer is stored on the handoff, its raw response never.',
    '',
    "Audit witnesses (docs/audit.md), only when configured (`ONY_AUDIT_WITNESS_URL`, `ONY_AUDIT_WITNESS_S3_BUCKET`), receive the signed checkpoints of each org's chain: the org id, the head seq and hash, the signing time and the Ed25519 signature. No entry, payload, name or other personal data.",
    '',
    '## Who can call what',
    '',
    "Roles: `viewer` < `member` < `admin`. `session` routes take the dashboard cookie (a role at least the one shown); `device` routes an agent token (its own handoffs only); `none` is public (the provider webhooks under `/webhooks/` verify the provider's signature or secret instead). Another org's id answers 404.",
    '',
    '| method | route | auth | minimum role |',
    '|---|---|---|---|',
  );
  for (const r of routes) p(`| ${r.method} | \`${r.url}\` | ${r.auth} | ${r.role} |`);
  p(
    '',
    '## Export, deletion, erasure, key rotation',
    '',
    `- **Export** (docs/export.md): an admin exports the whole org as a zip of JSON files plus \`audit.jsonl\` and the signed checkpoints (\`ony audit verify --file\` checks them offline); secrets, tokens and credentials are left out. A member exports their own data. The link is single use and valid ${LINK_TTL_MS / 60_000} minutes; every export and download is audited.`,
    '- **Member deletion**: erases name, email, phone, linked chat identities, TOTP, sessions and invites; a stable pseudonymous member id keeps the decisions and the chain verifiable (`member.erased`). The last admin cannot be deleted.',
    `- **Org erasure** (docs/erasure.md): password + TOTP + the org name typed back, ${ERASURE_GRACE_DAYS} days of grace, then one privileged definer function deletes every row of the org (audit chain included) and leaves a tombstone. The org's data key is destroyed first: a payload surviving in an old backup can no longer be decrypted (crypto-shredding).`,
    '- **Key rotation** (docs/keys.md): `ONY_MASTER_KEYS` lists master keys newest first; `ony keys rotate` re-wraps every data key, `--data` also re-encrypts the data under fresh data keys, resumably.',
    '',
    '## Metrics and telemetry',
    '',
    'ony sends no telemetry; a test records every outbound connection of a full flow and allows only configured providers and callback URLs. `/metrics` is off unless `ONY_METRICS_TOKEN` or `ONY_METRICS_LISTEN` is set, and its labels are closed enums (any other value becomes `other`):',
    '',
    `- \`method\`: ${list(labels.HTTP_METHODS)}`,
    `- \`status_class\`: ${list(labels.STATUS_CLASSES)}`,
    `- \`route\`: a route template registered by the server (as listed above), or \`${labels.UNMATCHED_ROUTE}\``,
    `- \`risk_level\`: ${list(labels.RISK_LEVEL_LABELS)}`,
    `- decision \`outcome\`: ${list(labels.DECISION_OUTCOMES)}; decision \`channel\`: ${list(labels.DECISION_CHANNELS)}`,
    `- escalation \`channel\`: ${list(labels.ESCALATION_CHANNELS)}; escalation \`outcome\`: ${list(labels.ESCALATION_OUTCOMES)}`,
    '- `queue`: the job queue names the server runs, or `other`',
    `- witness push (\`ony_audit_witness_pushes_total\`) \`witness\`: ${list(labels.WITNESS_LABELS)}; \`outcome\`: ${list(labels.WITNESS_OUTCOMES)}`,
    '',
    '`/metrics` shows as `none` in the route table because it checks its own bearer token (`ONY_METRICS_TOKEN`) instead of a session or device token; without configuration it does not exist.',
    '',
  );
  // Formatted as `prettier --check .` expects, so the generated page passes the lint too.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(PAGE)) ?? {};
  return prettier.format(L.join('\n'), { ...options, filepath: PAGE });
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  const text = await renderPrivacyPage();
  if (process.argv.includes('--check')) {
    const current = await readFile(PAGE, 'utf8').catch(() => '');
    if (current !== text) {
      process.stderr.write('docs/privacy.md is stale: run npm run docs:privacy\n');
      process.exitCode = 1;
    }
  } else {
    await writeFile(PAGE, text);
    process.stdout.write(`wrote ${relative(process.cwd(), PAGE)}\n`);
  }
}
