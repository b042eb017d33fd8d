/**
 * `ony init claude-code`: writes the ony PreToolUse hook into a Claude Code settings file
 * (`.claude/settings.json` by default), keeping everything else in it. Idempotent: running it again
 * replaces ony's own hook (command or http) and changes nothing else. The device token is never
 * written: the command hook reads $ONY_TOKEN, the http hook interpolates it into its header.
 */
import { resolve } from 'node:path';
import { DEFAULT_URL, type Command } from './command.js';
import { errorText, readIfExists, writeAtomically } from './config-file.js';
import { DEFAULT_BUDGET_S, MAX_BUDGET_S } from './hook.js';

const ROUTE = '/v1/integrations/claude-code/pre-tool-use';
/** The tools that change something; `--matcher '*'` sends every tool call (reads too) to ony. */
export const DEFAULT_MATCHER = 'Bash|Write|Edit|MultiEdit|NotebookEdit|mcp__.*';
/** How much longer Claude Code's timeout is than the budget, so ony's answer always arrives first. */
const TIMEOUT_SLACK_S = 10;

const usage = `usage: ony init claude-code [--http] [--settings <file>] [--budget <seconds>] [--matcher <regex>]
                           [--command <cmd>] [--server <url>]

Adds the ony PreToolUse hook to a Claude Code settings file, keeping what is there (other hooks,
permissions, everything). Running it again updates ony's hook in place. See docs/integrations.md.

  --settings <file>   the settings file; default .claude/settings.json (the project's, usually
                      committed: the token is never written, only read from $ONY_TOKEN)
  --http              an http hook (Claude Code posts to the server itself) instead of the command
                      \`ony hook claude-code\`; the URL comes from --server, $ONY_URL or ${DEFAULT_URL}
  --budget <seconds>  how long the hook waits for a decision (default ${DEFAULT_BUDGET_S}); the hook's
                      "timeout" is set ${TIMEOUT_SLACK_S} s above it so ony always answers first
  --matcher <regex>   which tools ask ony; default ${DEFAULT_MATCHER}
  --command <cmd>     the command hook's command; default "ony hook claude-code"

Both forms set "onFailure": "block" (Claude Code 2.1.295 or later): a hook that cannot start, times
out or fails blocks the tool call instead of letting it run.
`;

interface Args {
  settings: string;
  http: boolean;
  budgetS: number;
  matcher: string;
  command: string;
  server: string;
}

function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Args | string {
  const values: Record<string, string> = {};
  let http = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--http') {
      http = true;
      continue;
    }
    const m = /^--(settings|budget|matcher|command|server)(?:=(.*))?$/.exec(arg);
    if (m === null) return `unexpected argument "${arg}"`;
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === '') return `--${m[1]} needs a value`;
    if (values[m[1]!] !== undefined) return `--${m[1]} given twice`;
    values[m[1]!] = value;
  }
  let budgetS = DEFAULT_BUDGET_S;
  if (values.budget !== undefined) {
    budgetS = Number(values.budget);
    if (!/^\d+$/.test(values.budget) || budgetS < 1 || budgetS > MAX_BUDGET_S) {
      return `--budget must be a whole number of seconds from 1 to ${MAX_BUDGET_S}, got "${values.budget}"`;
    }
  }
  const matcher = values.matcher ?? DEFAULT_MATCHER;
  try {
    new RegExp(matcher === '*' ? '.*' : matcher);
  } catch {
    return `--matcher must be a regular expression (or *), got "${matcher}"`;
  }
  const server = (values.server ?? env.ONY_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  try {
    const u = new URL(server);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
  } catch {
    return `the server must be an http(s) URL, got "${server}"`;
  }
  if (values.server !== undefined && !http) return '--server is for --http (the command hook reads $ONY_URL)';
  const defaultCommand = `ony hook claude-code${budgetS !== DEFAULT_BUDGET_S ? ` --budget ${budgetS}` : ''}`;
  if (values.command !== undefined && http) return '--command is for the command hook, not --http';
  return {
    settings: resolve(values.settings ?? '.claude/settings.json'),
    http,
    budgetS,
    matcher,
    command: values.command ?? defaultCommand,
    server,
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };
const isObject = (v: Json | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** ony's own hook handler, in either form. */
function isOnyHandler(h: Json): boolean {
  if (!isObject(h)) return false;
  if (h.type === 'command' && typeof h.command === 'string') return /\bhook claude-code\b/.test(h.command);
  if (h.type === 'http' && typeof h.url === 'string') return h.url.includes(ROUTE);
  return false;
}

export function onyHandler(args: Omit<Args, 'settings' | 'matcher'>): JsonObject {
  const common = {
    timeout: args.budgetS + TIMEOUT_SLACK_S,
    statusMessage: 'Asking ony for approval…',
    onFailure: 'block',
  };
  return args.http
    ? {
        type: 'http',
        url: `${args.server}${ROUTE}?budget_s=${args.budgetS}`,
        headers: { Authorization: 'Bearer $ONY_TOKEN' },
        allowedEnvVars: ['ONY_TOKEN'],
        ...common,
      }
    : { type: 'command', command: args.command, ...common };
}

/**
 * The settings with ony's hook in `hooks.PreToolUse` (a string is why it cannot be merged). ony's
 * previous handler, if any, is taken out first (its matcher group too when it held nothing else).
 */
export function mergeSettings(settings: Json, group: JsonObject): JsonObject | string {
  if (!isObject(settings)) return 'the settings file does not hold a JSON object';
  const hooks = settings.hooks ?? {};
  if (!isObject(hooks)) return '"hooks" in the settings file is not an object';
  const pre = hooks.PreToolUse ?? [];
  if (!Array.isArray(pre)) return '"hooks.PreToolUse" in the settings file is not an array';
  const kept: Json[] = [];
  for (const g of pre) {
    if (!isObject(g) || !Array.isArray(g.hooks)) {
      kept.push(g);
      continue;
    }
    const others = g.hooks.filter((h) => !isOnyHandler(h));
    if (others.length === g.hooks.length) kept.push(g);
    else if (others.length > 0) kept.push({ ...g, hooks: others });
  }
  return { ...settings, hooks: { ...hooks, PreToolUse: [...kept, group] } };
}

export const command: Command = {
  usage,
  async run(argv, io) {
    const args = parseArgs(argv, io.env);
    if (typeof args === 'string') {
      io.stderr.write(`ony init claude-code: ${args}\n\n${usage}`);
      return 2;
    }
    const fail = (message: string): number => {
      io.stderr.write(`ony init claude-code: ${message}; ${args.settings} was not changed\n`);
      return 1;
    };
    let before: string | undefined;
    try {
      before = await readIfExists(args.settings);
    } catch (err) {
      return fail(`cannot read it: ${errorText(err)}`);
    }
    let current: Json = {};
    if (before !== undefined && before.trim() !== '') {
      try {
        current = JSON.parse(before) as Json;
      } catch (err) {
        return fail(`it is not valid JSON (${errorText(err)})`);
      }
    }
    const handler = onyHandler(args);
    const merged = mergeSettings(current, { matcher: args.matcher, hooks: [handler] });
    if (typeof merged === 'string') return fail(merged);
    const text = `${JSON.stringify(merged, null, 2)}\n`;
    const form = args.http ? `http hook (${String(handler.url)})` : `command hook (${args.command})`;
    if (text === before) {
      io.stdout.write(`${args.settings}: the ony ${form} is already there\n`);
      return 0;
    }
    try {
      await writeAtomically(args.settings, text);
    } catch (err) {
      return fail(`cannot write it: ${errorText(err)}`);
    }
    io.stdout.write(
      `${args.settings}: ${before === undefined ? 'created with' : 'updated with'} the ony ${form}, matcher "${args.matcher}"\n` +
        `Claude Code needs ONY_TOKEN (a device token)${args.http ? '' : ' and ONY_URL'} in its environment.\n`,
    );
    return 0;
  },
};
