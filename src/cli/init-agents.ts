/**
 * `ony init codex|cursor|gemini`: writes the ony hook into the agent's config file, keeping everything
 * else in it. Idempotent: running it again replaces ony's own entry and changes nothing else. The
 * device token is never written: `ony hook <agent>` reads $ONY_TOKEN.
 *
 * Codex's config is TOML and ony has no TOML parser: ony's hook is a clearly delimited block of
 * `[[hooks.PreToolUse]]` tables, replaced in place or appended, never a rewrite of the file.
 */
import { resolve } from 'node:path';
import type { Command } from './command.js';
import { errorText, readIfExists, writeAtomically } from './config-file.js';
import { DEFAULT_BUDGET_S, MAX_BUDGET_S } from './hook.js';

/** How much longer the agent's timeout is than the budget, so ony's answer always arrives first. */
const TIMEOUT_SLACK_S = 10;
const STATUS = 'Asking ony for approval…';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };
const isObject = (v: Json | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

interface Args {
  readonly file: string;
  readonly budgetS: number;
  readonly command: string;
  readonly matcher: string | undefined;
}

interface Spec {
  readonly agent: 'codex' | 'cursor' | 'gemini';
  readonly defaultFile: string;
  readonly defaultMatcher?: string;
  /** The new file text, or why the file cannot be merged. */
  readonly merge: (before: string | undefined, args: Args) => string | { error: string };
}

function usageOf(spec: Spec): string {
  return `usage: ony init ${spec.agent} [--file <file>] [--budget <seconds>] [--command <cmd>]${spec.defaultMatcher !== undefined ? ' [--matcher <regex>]' : ''}

Adds the ony hook (\`ony hook ${spec.agent}\`) to ${spec.defaultFile}, keeping what is there. Running it
again updates ony's hook in place. See docs/integrations.md.

  --file <file>       the config file; default ${spec.defaultFile}
  --budget <seconds>  how long the hook waits for a decision (default ${DEFAULT_BUDGET_S}); the hook's
                      timeout is set ${TIMEOUT_SLACK_S} s above it so ony always answers first
  --command <cmd>     the hook's command; default "ony hook ${spec.agent}"
${spec.defaultMatcher !== undefined ? `  --matcher <regex>   which tools ask ony; default ${spec.defaultMatcher}\n` : ''}`;
}

function parseArgs(spec: Spec, argv: readonly string[]): Args | string {
  const values: Record<string, string> = {};
  const names = spec.defaultMatcher !== undefined ? 'file|budget|command|matcher' : 'file|budget|command';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = new RegExp(`^--(${names})(?:=(.*))?$`).exec(arg);
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
  const matcher = values.matcher ?? spec.defaultMatcher;
  if (matcher !== undefined) {
    try {
      new RegExp(matcher);
    } catch {
      return `--matcher must be a regular expression, got "${matcher}"`;
    }
  }
  if (values.command !== undefined && /[\r\n]/.test(values.command)) return '--command must be one line';
  return {
    file: resolve(values.file ?? spec.defaultFile),
    budgetS,
    command:
      values.command ?? `ony hook ${spec.agent}${budgetS !== DEFAULT_BUDGET_S ? ` --budget ${budgetS}` : ''}`,
    matcher,
  };
}

/** The JSON object in a file (empty: {}), or why not. */
function parseJson(before: string | undefined): { value: JsonObject } | { error: string } {
  if (before === undefined || before.trim() === '') return { value: {} };
  let v: Json;
  try {
    v = JSON.parse(before) as Json;
  } catch (err) {
    return { error: `it is not valid JSON (${errorText(err)})` };
  }
  return isObject(v) ? { value: v } : { error: 'it does not hold a JSON object' };
}

const isOny = (agent: string) => (h: Json) =>
  isObject(h) && typeof h.command === 'string' && new RegExp(`\\bhook ${agent}\\b`).test(h.command);

/** `list` without ony's entries (a group `{hooks: [...]}` loses ony's handlers, and goes when empty). */
function withoutOny(list: Json[], agent: string, grouped: boolean): Json[] {
  const mine = isOny(agent);
  const kept: Json[] = [];
  for (const g of list) {
    if (!grouped) {
      if (!mine(g)) kept.push(g);
      continue;
    }
    if (!isObject(g) || !Array.isArray(g.hooks)) {
      kept.push(g);
      continue;
    }
    const others = g.hooks.filter((h) => !mine(h));
    if (others.length === g.hooks.length) kept.push(g);
    else if (others.length > 0) kept.push({ ...g, hooks: others });
  }
  return kept;
}

const json = (v: JsonObject) => `${JSON.stringify(v, null, 2)}\n`;

/** Cursor's `.cursor/hooks.json`: `{"version": 1, "hooks": {"<event>": [{"command": …}]}}`. */
const CURSOR_EVENTS: readonly (readonly [string, string | undefined])[] = [
  ['beforeShellExecution', undefined],
  ['beforeMCPExecution', undefined],
  // Shell and MCP calls have their own events above (a preToolUse for them too would ask twice).
  ['preToolUse', 'Write|StrReplace|Edit|Delete'],
];

const cursor: Spec = {
  agent: 'cursor',
  defaultFile: '.cursor/hooks.json',
  merge(before, args) {
    const parsed = parseJson(before);
    if ('error' in parsed) return parsed;
    const file = parsed.value;
    const hooks = file.hooks ?? {};
    if (!isObject(hooks)) return { error: '"hooks" is not an object' };
    const next: JsonObject = { ...hooks };
    for (const [event, matcher] of CURSOR_EVENTS) {
      const list = hooks[event] ?? [];
      if (!Array.isArray(list)) return { error: `"hooks.${event}" is not an array` };
      next[event] = [
        ...withoutOny(list, 'cursor', false),
        {
          command: args.command,
          timeout: args.budgetS + TIMEOUT_SLACK_S,
          ...(matcher !== undefined && { matcher }),
        },
      ];
    }
    return json({ version: 1, ...file, hooks: next });
  },
};

/** Gemini CLI's settings.json: `hooks.BeforeTool: [{matcher, hooks: [{type: "command", …}]}]`. */
const gemini: Spec = {
  agent: 'gemini',
  defaultFile: '.gemini/settings.json',
  defaultMatcher: 'run_shell_command|write_file|replace|mcp__.*',
  merge(before, args) {
    const parsed = parseJson(before);
    if ('error' in parsed) return parsed;
    const file = parsed.value;
    const hooks = file.hooks ?? {};
    if (!isObject(hooks)) return { error: '"hooks" is not an object' };
    const list = hooks.BeforeTool ?? [];
    if (!Array.isArray(list)) return { error: '"hooks.BeforeTool" is not an array' };
    const group: JsonObject = {
      ...(args.matcher !== undefined && { matcher: args.matcher }),
      hooks: [
        {
          type: 'command',
          name: 'ony',
          command: args.command,
          // Gemini CLI's timeout is in milliseconds.
          timeout: (args.budgetS + TIMEOUT_SLACK_S) * 1000,
          description: STATUS,
        },
      ],
    };
    return json({ ...file, hooks: { ...hooks, BeforeTool: [...withoutOny(list, 'gemini', true), group] } });
  },
};

export const CODEX_BEGIN = '# >>> ony hook (written by `ony init codex`; replaced when it runs again) >>>';
export const CODEX_END = '# <<< ony hook <<<';

/** A TOML basic string (JSON's escapes are TOML's: \" \\ \n \uXXXX…). */
const tomlString = (s: string) => JSON.stringify(s);

/** Codex's config.toml: ony's `[[hooks.PreToolUse]]` in a delimited block, replaced or appended. */
const codex: Spec = {
  agent: 'codex',
  defaultFile: '.codex/config.toml',
  merge(before, args) {
    const text = before ?? '';
    const begin = text.indexOf(CODEX_BEGIN);
    const end = text.indexOf(CODEX_END);
    if ((begin === -1) !== (end === -1) || (begin !== -1 && end < begin)) {
      return {
        error: `ony's block is broken (one of its marker lines "${CODEX_BEGIN}" / "${CODEX_END}" is missing)`,
      };
    }
    const outside = begin === -1 ? text : text.slice(0, begin) + text.slice(end + CODEX_END.length);
    // An inline `PreToolUse = [...]` or a single `[hooks.PreToolUse]` table cannot take another
    // `[[hooks.PreToolUse]]`: say so rather than write a file Codex refuses.
    if (
      /^\s*(?:hooks\s*\.\s*)?PreToolUse\s*=|^\s*hooks\s*=|^\s*\[\s*hooks\s*\.\s*PreToolUse\s*\]/m.test(
        outside,
      )
    ) {
      return {
        error:
          'it defines hooks.PreToolUse inline or as a single table; add ony by hand as another [[hooks.PreToolUse]] (see docs/integrations.md)',
      };
    }
    const block = [
      CODEX_BEGIN,
      '[[hooks.PreToolUse]]',
      '[[hooks.PreToolUse.hooks]]',
      'type = "command"',
      `command = ${tomlString(args.command)}`,
      `timeout = ${args.budgetS + TIMEOUT_SLACK_S}`,
      `statusMessage = ${tomlString(STATUS)}`,
      CODEX_END,
    ].join('\n');
    if (begin !== -1) return text.slice(0, begin) + block + text.slice(end + CODEX_END.length);
    const sep = text === '' ? '' : text.endsWith('\n\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
    return `${text}${sep}${block}\n`;
  },
};

function initCommand(spec: Spec): Command {
  const usage = usageOf(spec);
  return {
    usage,
    async run(argv, io) {
      const args = parseArgs(spec, argv);
      if (typeof args === 'string') {
        io.stderr.write(`ony init ${spec.agent}: ${args}\n\n${usage}`);
        return 2;
      }
      const fail = (message: string): number => {
        io.stderr.write(`ony init ${spec.agent}: ${message}; ${args.file} was not changed\n`);
        return 1;
      };
      let before: string | undefined;
      try {
        before = await readIfExists(args.file);
      } catch (err) {
        return fail(`cannot read it: ${errorText(err)}`);
      }
      const text = spec.merge(before, args);
      if (typeof text !== 'string') return fail(text.error);
      if (text === before) {
        io.stdout.write(`${args.file}: the ony hook (${args.command}) is already there\n`);
        return 0;
      }
      try {
        await writeAtomically(args.file, text);
      } catch (err) {
        return fail(`cannot write it: ${errorText(err)}`);
      }
      io.stdout.write(
        `${args.file}: ${before === undefined ? 'created with' : 'updated with'} the ony hook (${args.command})\n` +
          `The agent needs ONY_TOKEN (a device token) and ONY_URL in its environment.\n`,
      );
      return 0;
    },
  };
}

export const initCodex = initCommand(codex);
export const initCursor = initCommand(cursor);
export const initGemini = initCommand(gemini);
