import type { Readable } from 'node:stream';
import {
  createClient,
  OnyApiError,
  type CreateHandoffInput,
  type Handoff,
  type HandoffOption,
} from '@ony/client';
import {
  ACTION_TYPES,
  LIMITS,
  PAYLOAD_KINDS,
  type ActionType,
  type PayloadKind,
} from '../core/risk/types.js';
import { DEFAULT_URL, isHttpUrl, type Command } from './command.js';
import { jsonForTerminal, oneLineForTerminal } from './terminal.js';

/** How long past the handoff's own expiry `--wait` keeps polling, so the server can mark it expired. */
const EXPIRY_GRACE_MS = 15_000;
/** When the expiry cannot be read from the answer. */
const FALLBACK_WAIT_MS = 15 * 60_000;

const EXIT = { approved: 0, denied: 1, undecided: 2, error: 3 } as const;

const usage = `usage: ony request --action <type> --title <text> [options]

Asks a human to approve an action (POST /v1/handoffs) and, with --wait, waits for the answer.
The server derives the risk itself and escalates a redacted gist to the approvers; the payload
is stored encrypted and is never sent to a phone, SMS, Slack or Telegram.

  --action <type>            ${ACTION_TYPES.slice(0, 6).join(', ')},
                             ${ACTION_TYPES.slice(6).join(', ')}
  --title <text>             what is asked, at most ${LIMITS.titleMaxChars} characters
  --summary <text>           more context, at most ${LIMITS.summaryMaxChars} characters
  --target <t>               what the action is aimed at (host, branch, environment, path, URL)
  --payload-file <path>|-    attach a file (or stdin) as the payload, at most 1 MiB of UTF-8
  --payload-kind <kind>      ${PAYLOAD_KINDS.join('|')}; default from the content: a unified diff ->
                             diff; otherwise from the action: shell.exec -> command, db.* -> sql,
                             anything else -> text
  --option <id>=<Label>      an answer the approver may pick (repeat, 1 to 5; default approve/deny);
                             id matches [a-z0-9_-]{1,32}; "deny" denies, every other option approves
  --timeout <seconds>        expire the handoff (a deny) after this long; default: the server's
  --callback-url <url>       where the server POSTs the signed decision
  --idempotency-key <k>      makes retries safe: the same key and body answer the same handoff
  --environment <env>, --repo <repo>, --branch <branch>, --host <host>
                             context that the risk derivation uses (production, protected branch)
  --amount <n>, --currency <ISO 4217>, --recipients <n>
                             payments and emails: amount in major units, number of recipients
  --wait [seconds]           wait for the decision (default: until the handoff expires)
  --json                     print the handoff view as JSON instead of text
  --server <url>             the ony server; default $ONY_URL, else ${DEFAULT_URL}
  --token <token>            a device token (ony_dev_…); default $ONY_TOKEN. Prefer the environment
                             variable: flags end up in shell history and in the process list.

Without --wait, prints the created handoff (id, short code, risk) and exits 0.
With --wait, prints one line such as "approved by Alice via web: ship it" and exits
  0 approved, 1 denied, 2 expired, cancelled or still pending when the wait ends (also when the
  server was still unreachable then), 3 error (bad usage, server unreachable when creating,
  rejected request: the reason goes to stderr).
While waiting, a restart or outage of the server (connection refused or reset, 502, 503, 504) is
retried with capped, jittered back-off (0.25 s doubling up to 5 s) until the handoff expires.
Ctrl-C while waiting withdraws (cancels) the handoff.

Example:
  git diff | ony request --action git.push --target main --title "Push the release" \\
    --payload-file - --wait 600
`;

interface Args {
  action: ActionType;
  title: string;
  summary?: string;
  target?: string;
  payloadFile?: string;
  payloadKind?: PayloadKind;
  options: HandoffOption[];
  timeoutS?: number;
  callbackUrl?: string;
  idempotencyKey?: string;
  context: { environment?: string; repo?: string; branch?: string; host?: string };
  amount?: number;
  currency?: string;
  recipients?: number;
  /** undefined: no wait; null: until expiry; else seconds. */
  wait: number | null | undefined;
  json: boolean;
  server?: string;
  token?: string;
}

const VALUE_FLAGS = [
  'action',
  'title',
  'summary',
  'target',
  'payload-file',
  'payload-kind',
  'option',
  'timeout',
  'callback-url',
  'idempotency-key',
  'environment',
  'repo',
  'branch',
  'host',
  'amount',
  'currency',
  'recipients',
  'server',
  'token',
] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];

const OPTION_ID = /^[a-z0-9_-]{1,32}$/;

function isValueFlag(name: string): name is ValueFlag {
  return (VALUE_FLAGS as readonly string[]).includes(name);
}

function positiveInt(text: string): number | undefined {
  return /^\d+$/.test(text) && Number(text) > 0 && Number.isSafeInteger(Number(text))
    ? Number(text)
    : undefined;
}

/** Parses argv; a string is a usage error. */
function parseArgs(argv: readonly string[]): Args | string {
  const values: Partial<Record<ValueFlag, string>> = {};
  const options: string[] = [];
  let wait: number | null | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) return `unexpected argument "${arg}"`;
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    if (name === 'json') {
      if (inline !== undefined) return '--json takes no value';
      json = true;
    } else if (name === 'wait') {
      // The seconds are optional: take the next argument only when it is a number.
      const next =
        inline ?? (argv[i + 1] !== undefined && /^\d+$/.test(argv[i + 1]!) ? argv[++i] : undefined);
      if (next === undefined) wait = null;
      else {
        const seconds = positiveInt(next);
        if (seconds === undefined) return `--wait takes a positive number of seconds, got "${next}"`;
        wait = seconds;
      }
    } else if (isValueFlag(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) return `--${name} needs a value`;
      if (name === 'option') options.push(value);
      else if (values[name] !== undefined) return `--${name} given twice`;
      else values[name] = value;
    } else return `unknown option --${name}`;
  }

  const action = values.action;
  if (action === undefined) return '--action is required';
  if (!(ACTION_TYPES as readonly string[]).includes(action)) {
    return `--action must be one of ${ACTION_TYPES.join(', ')}; got "${action}"`;
  }
  const title = values.title;
  if (title === undefined || title.trim() === '') return '--title is required';
  if ([...title].length > LIMITS.titleMaxChars)
    return `--title is longer than ${LIMITS.titleMaxChars} characters`;
  if (values.summary !== undefined && [...values.summary].length > LIMITS.summaryMaxChars) {
    return `--summary is longer than ${LIMITS.summaryMaxChars} characters`;
  }

  const kind = values['payload-kind'];
  if (kind !== undefined) {
    if (!(PAYLOAD_KINDS as readonly string[]).includes(kind)) {
      return `--payload-kind must be one of ${PAYLOAD_KINDS.join(', ')}; got "${kind}"`;
    }
    if (values['payload-file'] === undefined) return '--payload-kind needs --payload-file';
  }

  const parsedOptions: HandoffOption[] = [];
  for (const spec of options) {
    const at = spec.indexOf('=');
    const id = at === -1 ? spec : spec.slice(0, at);
    const label = at === -1 ? '' : spec.slice(at + 1).trim();
    if (!OPTION_ID.test(id)) return `--option "${spec}": the id must match [a-z0-9_-]{1,32}`;
    if (label === '') return `--option "${spec}": expected id=Label`;
    if ([...label].length > 60) return `--option "${spec}": the label is longer than 60 characters`;
    if (parsedOptions.some((o) => o.id === id)) return `--option "${id}" given twice`;
    parsedOptions.push({ id, label });
  }
  if (parsedOptions.length > 5) return 'at most 5 --option';

  let timeoutS: number | undefined;
  if (values.timeout !== undefined) {
    timeoutS = positiveInt(values.timeout);
    if (timeoutS === undefined)
      return `--timeout takes a positive number of seconds, got "${values.timeout}"`;
  }
  const callbackUrl = values['callback-url'];
  if (callbackUrl !== undefined && !isHttpUrl(callbackUrl)) return '--callback-url must be an http(s) URL';
  const key = values['idempotency-key'];
  if (key !== undefined && (key === '' || key.length > 200))
    return '--idempotency-key must be 1 to 200 characters';
  if (values.server !== undefined && !isHttpUrl(values.server)) return '--server must be an http(s) URL';

  let amount: number | undefined;
  if (values.amount !== undefined) {
    amount = Number(values.amount);
    if (values.amount.trim() === '' || !Number.isFinite(amount) || amount < 0) {
      return `--amount must be a non-negative number, got "${values.amount}"`;
    }
  }
  let recipients: number | undefined;
  if (values.recipients !== undefined) {
    recipients = /^\d+$/.test(values.recipients) ? Number(values.recipients) : undefined;
    if (recipients === undefined) return `--recipients must be a whole number, got "${values.recipients}"`;
  }

  const args: Args = {
    action: action as ActionType,
    title,
    options: parsedOptions,
    context: {},
    wait,
    json,
  };
  if (values.summary !== undefined) args.summary = values.summary;
  if (values.target !== undefined) args.target = values.target;
  if (values['payload-file'] !== undefined) args.payloadFile = values['payload-file'];
  if (kind !== undefined) args.payloadKind = kind as PayloadKind;
  if (timeoutS !== undefined) args.timeoutS = timeoutS;
  if (callbackUrl !== undefined) args.callbackUrl = callbackUrl;
  if (key !== undefined) args.idempotencyKey = key;
  for (const c of ['environment', 'repo', 'branch', 'host'] as const) {
    if (values[c] !== undefined) args.context[c] = values[c];
  }
  if (amount !== undefined) args.amount = amount;
  if (values.currency !== undefined) args.currency = values.currency;
  if (recipients !== undefined) args.recipients = recipients;
  if (values.server !== undefined) args.server = values.server;
  if (values.token !== undefined) args.token = values.token;
  return args;
}

const HUNK = /^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@/;
/** Lines git writes after `diff --git` for a change without hunks (mode, rename, binary, empty file). */
const GIT_EXTENDED_HEADER =
  /^(?:old mode|new mode|deleted file mode|new file mode|similarity index|dissimilarity index|rename from|rename to|copy from|copy to|index [0-9a-f]+\.\.[0-9a-f]+|Binary files )/;

/**
 * Whether the content is a well-formed unified diff: a `--- a` / `+++ b` file header followed by a
 * hunk header (`@@ -1,2 +1,3 @@`), or a `diff --git a/… b/…` line followed by git's extended header.
 */
export function isUnifiedDiff(content: string): boolean {
  const lines = content.replace(/\r\n/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ') && HUNK.test(lines[i + 2] ?? ''))
      return true;
    if (/^diff --git "?a\/.+ "?b\/.+/.test(line) && GIT_EXTENDED_HEADER.test(lines[i + 1] ?? '')) return true;
  }
  return false;
}

/**
 * The payload kind when --payload-kind is not given, read from the content first: a well-formed
 * unified diff is a `diff`, whatever the action; anything else follows the action (shell.exec ->
 * command, db.* -> sql, else text). Never `diff` for content that is not one.
 */
export function defaultPayloadKind(action: ActionType, content: string): PayloadKind {
  if (isUnifiedDiff(content)) return 'diff';
  if (action === 'shell.exec') return 'command';
  if (action.startsWith('db.')) return 'sql';
  return 'text';
}

async function readBytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    chunks.push(buf);
    // Stop early on a runaway pipe rather than buffering all of it.
    if (size > LIMITS.payloadMaxBytes) break;
  }
  return Buffer.concat(chunks);
}

async function readPayload(path: string, stdin: Readable): Promise<string> {
  let bytes: Buffer;
  if (path === '-') bytes = await readBytes(stdin);
  else {
    const { readFile } = await import('node:fs/promises');
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new UsageError(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const what = path === '-' ? 'the payload on stdin' : path;
  if (bytes.length > LIMITS.payloadMaxBytes) throw new UsageError(`${what} is larger than 1 MiB`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${what} is not valid UTF-8 text`);
  }
}

class UsageError extends Error {}

function buildBody(args: Args, payload: string | undefined): CreateHandoffInput {
  const action: { -readonly [K in keyof CreateHandoffInput['action']]: CreateHandoffInput['action'][K] } = {
    type: args.action,
  };
  if (args.target !== undefined) action.target = args.target;
  if (args.amount !== undefined) action.amount = args.amount;
  if (args.currency !== undefined) action.currency = args.currency;
  if (args.recipients !== undefined) action.recipients_count = args.recipients;
  return {
    action,
    title: args.title,
    ...(args.summary !== undefined ? { summary: args.summary } : {}),
    ...(args.options.length > 0 ? { options: args.options } : {}),
    ...(payload !== undefined
      ? { payload: { kind: args.payloadKind ?? defaultPayloadKind(args.action, payload), content: payload } }
      : {}),
    ...(args.timeoutS !== undefined ? { timeout_s: args.timeoutS } : {}),
    ...(args.callbackUrl !== undefined ? { callback_url: args.callbackUrl } : {}),
    ...(Object.keys(args.context).length > 0 ? { context: args.context } : {}),
  };
}

/**
 * Text from agents and approvers goes to a terminal: one line, control characters (escape
 * sequences), bidi controls and other hidden characters shown as `⟨U+202E⟩`, never applied.
 */
const oneLine = oneLineForTerminal;

function describeCreated(h: Handoff): string {
  const reasons = h.risk.reasons.length > 0 ? `: ${h.risk.reasons.join(', ')}` : '';
  return `handoff ${h.id} (code ${oneLine(h.short_code)}) ${h.status}, risk ${h.risk.level}${reasons}; expires ${h.expires_at}`;
}

/** The one line `--wait` prints, e.g. `approved by Alice via web: ship it`. */
export function describeOutcome(h: Handoff, waitedS: number): string {
  if (h.status === 'pending') {
    return `still pending after ${waitedS}s: handoff ${h.id} (code ${oneLine(h.short_code)})`;
  }
  if (h.status === 'expired') return `expired: nobody decided before ${h.expires_at}`;
  const d = h.decision;
  if (d === null) return h.status;
  let line: string = h.status;
  if (d.option !== 'approve' && d.option !== 'deny') {
    const label = h.options.find((o) => o.id === d.option)?.label;
    line += ` with "${oneLine(d.option)}"${label !== undefined ? ` (${oneLine(label)})` : ''}`;
  }
  if (d.decided_by !== null) line += ` by ${oneLine(d.decided_by.name)}`;
  line += ` via ${oneLine(d.channel)}`;
  if (d.comment !== null && oneLine(d.comment) !== '') line += `: ${oneLine(d.comment)}`;
  return line;
}

function exitCodeFor(h: Handoff): number {
  if (h.status === 'approved') return EXIT.approved;
  if (h.status === 'denied') return EXIT.denied;
  return EXIT.undecided;
}

/** How long `--wait` without seconds waits: the handoff's lifetime (server clocks) plus a grace. */
function untilExpiryMs(h: Handoff): number {
  const lifetime = Date.parse(h.expires_at) - Date.parse(h.created_at);
  return Number.isFinite(lifetime) && lifetime > 0 ? lifetime + EXPIRY_GRACE_MS : FALLBACK_WAIT_MS;
}

function describeError(err: unknown): string {
  if (err instanceof OnyApiError) {
    const hint = err.status === 401 ? ' (check ONY_TOKEN: a device token, ony_dev_…)' : '';
    return `${err.detail}${hint} [HTTP ${err.status} ${err.code}]`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Aborts the returned signal on Ctrl-C / SIGTERM while `fn` runs. */
async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Interrupted());
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

export const command: Command = {
  usage,
  async run(argv, io) {
    const fail = (message: string): number => {
      io.stderr.write(`ony request: ${message}\n`);
      return EXIT.error;
    };
    const args = parseArgs(argv);
    if (typeof args === 'string') {
      io.stderr.write(`ony request: ${args}\n\n${usage}`);
      return EXIT.error;
    }
    const token = args.token ?? io.env.ONY_TOKEN;
    if (token === undefined || token.trim() === '') {
      return fail('no device token: set ONY_TOKEN (or pass --token)');
    }
    const server = args.server ?? io.env.ONY_URL ?? DEFAULT_URL;
    if (!isHttpUrl(server)) return fail(`ONY_URL must be an http(s) URL, got "${server}"`);

    let payload: string | undefined;
    if (args.payloadFile !== undefined) {
      try {
        payload = await readPayload(args.payloadFile, io.stdin);
      } catch (err) {
        return fail(err instanceof Error ? err.message : String(err));
      }
    }

    const client = createClient({ baseUrl: server, token: token.trim() });
    let created: Handoff;
    try {
      created = await client.createHandoff(
        buildBody(args, payload),
        args.idempotencyKey !== undefined ? { idempotencyKey: args.idempotencyKey } : {},
      );
    } catch (err) {
      return fail(describeError(err));
    }

    if (args.wait === undefined) {
      io.stdout.write(args.json ? `${jsonForTerminal(created, 2)}\n` : `${describeCreated(created)}\n`);
      return EXIT.approved;
    }

    let final = created;
    const startedAt = Date.now();
    if (created.status === 'pending') {
      const timeoutMs = args.wait === null ? untilExpiryMs(created) : args.wait * 1000;
      io.stderr.write(`${describeCreated(created)}\nwaiting for a decision…\n`);
      try {
        final = await withInterrupt((signal) =>
          client.waitForDecision(created.id, {
            timeoutMs,
            signal,
            current: created,
            // Through a restart or an outage the wait goes on (RETRY_POLICY); say so, without flooding.
            onRetry: (e) => {
              if (e.attempt === 1 || e.attempt % 10 === 0) {
                io.stderr.write(
                  `ony is unreachable (${e.reason}); still waiting, next try in ${(e.delayMs / 1000).toFixed(1)}s (attempt ${e.attempt})\n`,
                );
              }
            },
          }),
        );
      } catch (err) {
        if (!(err instanceof Interrupted)) return fail(describeError(err));
        // Nobody is waiting for the answer any more: withdraw the request so no approver is paged for it.
        try {
          final = await client.cancelHandoff(created.id);
        } catch (cancelErr) {
          return fail(`interrupted; could not cancel handoff ${created.id}: ${describeError(cancelErr)}`);
        }
      }
    }
    const waitedS = Math.round((Date.now() - startedAt) / 1000);
    io.stdout.write(args.json ? `${jsonForTerminal(final, 2)}\n` : `${describeOutcome(final, waitedS)}\n`);
    return exitCodeFor(final);
  },
};
