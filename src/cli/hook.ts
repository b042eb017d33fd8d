/**
 * `ony hook claude-code` (also `ony hook`): a Claude Code PreToolUse command hook; `ony hook codex`,
 * `ony hook cursor` and `ony hook gemini` are the same hook for those agents: their input is mapped to
 * a PreToolUse input (src/core/integrations/agent-hooks-io.ts) and the answer to their own output. A thin client: it reads the hook
 * input on stdin, posts it to the server (`POST /v1/integrations/claude-code/pre-tool-use`, where the
 * one implementation lives) and prints the hook's JSON answer.
 *
 * A hook that crashes, exits with an unexpected code or times out lets the tool run, so this
 * command always exits 0 with a valid answer before its deadline, and every failure (no token, bad
 * input, server unreachable, 401, 5xx, no answer in time) is a deny that says why. It loads neither
 * the server, nor the database driver, nor the config: only node:http(s) and the small hook I/O module.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import {
  failureAnswer,
  isHookAnswer,
  parsePreToolUse,
  type HookAnswer,
  type OnPending,
} from '../core/integrations/claude-code-io.js';
import { AGENT_NAMES, fromAnswer, toPreToolUse, type Agent } from '../core/integrations/agent-hooks-io.js';
import { isRetryableStatus, isUnreachableError, parseRetryAfter, retryDelayMs } from '@ony/client';
import { DEFAULT_URL, isHttpUrl, type Command } from './command.js';
import { jsonForTerminal } from './terminal.js';

export const DEFAULT_BUDGET_S = 50;
export const MAX_BUDGET_S = 590;
/** Kept back from the budget for starting up and printing: the answer is out before the budget ends. */
const PRINT_MARGIN_MS = 500;
/** Kept back from what the server may wait, for the request itself (create, consume, network). */
const SERVER_MARGIN_MS = 1_500;
/** The server's default body limit is 3 MB; a larger hook input cannot be asked about. */
const MAX_INPUT_BYTES = 3_000_000;
const ROUTE = '/v1/integrations/claude-code/pre-tool-use';

const HOOKS: Readonly<Record<Agent, string>> = {
  'claude-code':
    'A Claude Code PreToolUse hook (type "command"): reads the hook input on stdin, asks ony whether the\ntool call may run, and prints the hook\'s JSON answer (permissionDecision allow, deny or ask).',
  codex:
    "A Codex CLI PreToolUse command hook: reads the hook input on stdin, asks ony whether the tool call\nmay run, and prints {} (allow: Codex's own approval settings apply) or a PreToolUse deny.",
  cursor:
    'A Cursor hook (beforeShellExecution, beforeMCPExecution, preToolUse): reads the hook input on stdin,\nasks ony, and prints {"permission": "allow"|"deny", ...}; never "ask".',
  gemini:
    'A Gemini CLI BeforeTool hook: reads the hook input on stdin, asks ony, and prints {"decision":\n"allow"|"deny", "reason": ...} with exit 0.',
};

const usageOf = (
  agent: Agent,
) => `usage: ony hook ${agent} [--budget <seconds>]${agent === 'claude-code' ? ' [--on-pending deny|ask]' : ''} [--server <url>]

${HOOKS[agent]}
Install it with \`ony init ${agent}\`; see docs/integrations.md.

  --budget <seconds>     how long to wait for a decision before answering; default $ONY_HOOK_BUDGET_S,
                         else ${DEFAULT_BUDGET_S} (1..${MAX_BUDGET_S}). Keep it below the hook's "timeout".
${
  agent === 'claude-code'
    ? `  --on-pending deny|ask  the answer when nobody decided within the budget: deny (default; the agent is
                         told the code to wait for and to try again later) or ask (the request is
                         withdrawn from ony and Claude Code asks the person at the terminal).
                         Default $ONY_HOOK_ON_PENDING, else deny.
`
    : ''
}  --server <url>         the ony server; default $ONY_URL, else ${DEFAULT_URL}

The device token comes from $ONY_TOKEN. It always exits 0 and never answers allow without a
decision: no token, bad input, an unreachable server or no answer in time is a deny with the reason.
A server that restarts (connection refused or reset, 502, 503, 504) is tried again within the budget,
with capped, jittered back-off (0.25 s doubling up to 5 s, or the server's Retry-After).
`;

interface Settings {
  readonly budgetS: number;
  readonly onPending: OnPending;
  readonly server: string;
}

function parseBudget(raw: string, from: string): number | string {
  const n = Number(raw);
  return /^\d+(\.\d+)?$/.test(raw.trim()) && n >= 1 && n <= MAX_BUDGET_S
    ? n
    : `${from} must be a number of seconds from 1 to ${MAX_BUDGET_S}, got "${raw}"`;
}

/** The settings from flags and environment; a string is a usage error (still answered with a deny). */
function settingsOf(agent: Agent, argv: readonly string[], env: NodeJS.ProcessEnv): Settings | string {
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = (
      agent === 'claude-code' ? /^--(budget|on-pending|server)(?:=(.*))?$/ : /^--(budget|server)(?:=(.*))?$/
    ).exec(arg);
    if (m === null) return `unexpected argument "${arg}"`;
    const value = m[2] ?? argv[++i];
    if (value === undefined) return `--${m[1]} needs a value`;
    flags[m[1]!] = value;
  }
  const budgetRaw = flags.budget ?? env.ONY_HOOK_BUDGET_S;
  const budget =
    budgetRaw === undefined || budgetRaw.trim() === ''
      ? DEFAULT_BUDGET_S
      : parseBudget(budgetRaw, flags.budget !== undefined ? '--budget' : 'ONY_HOOK_BUDGET_S');
  if (typeof budget === 'string') return budget;
  // Only Claude Code may ask the person at the terminal; the other agents are denied while pending.
  const onPending =
    agent === 'claude-code'
      ? (flags['on-pending'] ?? env.ONY_HOOK_ON_PENDING ?? 'deny').trim().toLowerCase()
      : 'deny';
  if (onPending !== 'deny' && onPending !== 'ask')
    return `--on-pending must be deny or ask, got "${onPending}"`;
  const server = (flags.server ?? env.ONY_URL ?? DEFAULT_URL).trim();
  if (!isHttpUrl(server)) return `ONY_URL must be an http(s) URL, got "${server}"`;
  return { budgetS: budget, onPending, server };
}

class Deadline extends Error {}

/** A failure worth trying again within the budget: the server restarts, or answered 502/503/504. */
class Outage extends Error {
  constructor(
    message: string,
    readonly reason: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** An attempt needs at least this long to be worth starting. */
const MIN_ATTEMPT_MS = 250;

/** Reads stdin up to a size, or fails at the deadline (a terminal that never sends EOF). */
async function readInput(stdin: Readable, until: Promise<never>): Promise<Buffer> {
  const read = (async () => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stdin) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      size += buf.length;
      if (size > MAX_INPUT_BYTES) throw new Error(`the hook input is larger than ${MAX_INPUT_BYTES} bytes`);
      chunks.push(buf);
    }
    return Buffer.concat(chunks);
  })();
  try {
    return await Promise.race([read, until]);
  } catch (err) {
    // Stop reading (a terminal's stdin would keep the process alive after the answer).
    stdin.destroy();
    read.catch(() => undefined);
    throw err;
  }
}

/** The `detail` of a problem+json answer, else the start of the body. */
function detailOf(body: string): string {
  try {
    const p = JSON.parse(body) as { detail?: unknown; title?: unknown };
    if (typeof p.detail === 'string' && p.detail !== '') return p.detail;
    if (typeof p.title === 'string' && p.title !== '') return p.title;
  } catch {
    // not JSON: fall through
  }
  return body.trim().slice(0, 200) || 'no details';
}

/** Posts the hook input; answers the server's hook answer, or throws with a reason for the agent. */
async function post(
  agent: Agent,
  settings: Settings,
  token: string,
  body: string,
  budgetS: number,
  timeoutMs: number,
) {
  const base = settings.server.replace(/\/+$/, '');
  const url = new URL(
    `${base}${ROUTE}?budget_s=${budgetS.toFixed(3)}&on_pending=${settings.onPending}${agent !== 'claude-code' ? `&agent=${agent}` : ''}`,
  );
  // TLS is loaded only for an https server: every tool call starts this process.
  const send = url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
  return new Promise<HookAnswer>((resolve, reject) => {
    const req = send(url, {
      method: 'POST',
      // A fresh connection, closed after the answer: nothing keeps the process alive afterwards.
      agent: false,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, application/problem+json',
        connection: 'close',
        'content-length': Buffer.byteLength(body),
      },
    });
    const timer = setTimeout(() => {
      req.destroy(new Deadline(`ony did not answer within the hook's budget of ${settings.budgetS}s`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      if (err instanceof Deadline) reject(err);
      else {
        const code = (err as NodeJS.ErrnoException).code;
        const message = `cannot reach ony at ${base}: ${err.message}${code && !err.message.includes(code) ? ` (${code})` : ''}`;
        reject(isUnreachableError(err) ? new Outage(message, code ?? 'unreachable') : new Error(message));
      }
    });
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status === 200) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          if (isHookAnswer(parsed)) resolve(parsed);
          else
            reject(
              new Error(`${base} answered something that is not a hook answer (is ONY_URL the ony server?)`),
            );
        } else if (status === 401) {
          reject(new Error(`ony rejected the device token (check ONY_TOKEN): ${detailOf(text)}`));
        } else if (status === 400 || status === 413 || status === 422) {
          reject(new Error(`ony rejected the hook input: ${detailOf(text)}`));
        } else if (isRetryableStatus(status)) {
          const retryAfter = res.headers['retry-after'];
          reject(
            new Outage(
              `ony answered HTTP ${status}: ${detailOf(text)}`,
              `HTTP ${status}`,
              parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : undefined, Date.now()),
            ),
          );
        } else {
          reject(new Error(`ony answered HTTP ${status}: ${detailOf(text)}`));
        }
      });
    });
    req.end(body);
  });
}

export const hookCommand = (agent: Agent): Command => ({
  usage: usageOf(agent),
  async run(argv, io) {
    const startedAt = Date.now();
    const answer = (a: HookAnswer, problem?: string): number => {
      if (problem !== undefined) io.stderr.write(`ony hook ${agent}: ${problem}\n`);
      const out = fromAnswer(agent, a);
      // The same JSON value, with hidden characters written as \u escapes (the reason can quote people).
      io.stdout.write(`${jsonForTerminal(out.stdout)}\n`);
      return out.exitCode;
    };
    const deny = (why: string): number => answer(failureAnswer(why), why);

    const settings = settingsOf(agent, argv, io.env);
    if (typeof settings === 'string') return deny(`bad usage of ony hook ${agent}: ${settings}`);
    const token = io.env.ONY_TOKEN?.trim();
    if (token === undefined || token === '') {
      return deny(`no device token: set ONY_TOKEN in the environment ${AGENT_NAMES[agent]} runs in`);
    }
    const hardDeadline = startedAt + settings.budgetS * 1000 - PRINT_MARGIN_MS;
    let timer: NodeJS.Timeout | undefined;
    const until = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Deadline(`no hook input on stdin within the budget of ${settings.budgetS}s`)),
        Math.max(0, hardDeadline - Date.now()),
      );
    });
    until.catch(() => undefined);
    try {
      let raw: Buffer;
      try {
        raw = await readInput(io.stdin, until);
      } catch (err) {
        return deny(err instanceof Error ? err.message : String(err));
      }
      let value: unknown;
      try {
        value = JSON.parse(raw.toString('utf8'));
      } catch {
        return deny('the hook input on stdin is not JSON');
      }
      let input = value;
      if (agent !== 'claude-code') {
        // A fresh id per call: a retry joins its handoff by fingerprint, as a Claude Code retry does.
        const mapped = toPreToolUse(agent, value, `ony_${agent}_${randomUUID()}`);
        if (!mapped.ok)
          return deny(
            `the hook input is not a ${AGENT_NAMES[agent]} hook input: ${mapped.errors.join('; ')}`,
          );
        input = mapped.value;
      }
      const parsed = parsePreToolUse(input);
      if (!parsed.ok) return deny(`the hook input is not a PreToolUse input: ${parsed.errors.join('; ')}`);
      const body = JSON.stringify(input);
      // A restart or outage of the server is retried within the budget (RETRY_POLICY): the same
      // tool_use_id joins the same handoff, so a retry never asks twice. Out of budget: deny.
      for (let attempt = 1; ; attempt++) {
        const timeoutMs = Math.max(0, hardDeadline - Date.now());
        const serverBudgetS = Math.max(0, (timeoutMs - SERVER_MARGIN_MS) / 1000);
        try {
          return answer(await post(agent, settings, token, body, serverBudgetS, timeoutMs));
        } catch (err) {
          if (!(err instanceof Outage)) return deny(err instanceof Error ? err.message : String(err));
          const delayMs = retryDelayMs(attempt, Math.random(), err.retryAfterMs);
          if (Date.now() + delayMs + MIN_ATTEMPT_MS > hardDeadline) {
            return deny(`${err.message} (tried ${attempt} times within the budget of ${settings.budgetS}s)`);
          }
          io.stderr.write(
            `ony hook ${agent}: ony is unreachable (${err.reason}); trying again in ${(delayMs / 1000).toFixed(1)}s\n`,
          );
          await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
      }
    } finally {
      clearTimeout(timer);
    }
  },
});

/** `ony hook claude-code`, kept under its old name. */
export const command: Command = hookCommand('claude-code');
