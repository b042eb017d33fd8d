/**
 * The walker: what a shell command really does. Sees through wrappers (sudo, env, nohup, timeout,
 * xargs…), shells (`bash -c`, `sh <<EOF`, `… | sh`), eval, command substitution, simple variables
 * (`X=rm; $X -rf /`), quoting tricks and decoded payloads (`echo … | base64 -d | sh`), follows a
 * literal `cd`, and reads redirects; then hands each real command to the reader of its program:
 * files.ts (deletes, disks, permissions, sensitive writes), git.ts, cloud.ts (infrastructure and
 * cloud CLIs), system.ts (shutdowns, services, firewalls, users, packages), data.ts (databases,
 * interpreter code).
 */
import { basename, evidenceOf, operands, shortFlags } from './args.js';
import { CLOUD_READERS } from './cloud.js';
import { analyseInterpreterCode, DATA_READERS } from './data.js';
import { decodeBase64, decodeEscapes } from './decode.js';
import { FILE_READERS, formatFilesystem } from './files.js';
import { GIT_READERS } from './git.js';
import { parseShell, wordText, type ShellCommand, type ShellWord } from './lexer.js';
import { isDevice, isSensitivePath, protectedPathKind } from './paths.js';
import { DOWNLOADERS, INTERPRETERS, REMOTE_TOOLS, SHELLS } from './programs.js';
import type { Resolved, ShellEnvironment, ShellFindingSink, ShellReader, ShellScope } from './scope.js';
import { SYSTEM_READERS } from './system.js';
import { classifyPath } from '../../path-classifier.js';

/** A path argument naming a secrets file (an example or template of one is not). */
function touchesSecretFile(arg: string): boolean {
  const path = arg.replace(/^@/, '').replace(/^[A-Za-z_-]+=/, '');
  if (path.length === 0 || /(?:example|sample|template|dist)$/i.test(path)) return false;
  return (
    classifyPath(path) === 'secret-file' ||
    /^(?:~|\$HOME)\/\.(?:aws|ssh|gnupg|kube|docker|config\/gh)(?:\/|$)/.test(path)
  );
}

/** Programs that print, pack or send a file's content (not ssh -i, chmod or ls, which only use or list it). */
const CONTENT_READERS =
  /^(?:cat|tac|less|more|head|tail|bat|strings|xxd|od|hexdump|base64|tar|zip|7z|gzip|rsync|scp|curl|wget|http|https|nc|ncat|socat|gpg|openssl|grep|rg|awk|sed|jq|yq|type|get-content|gc|python3?|node|printf|echo)$/i;

/** Task runners and migration tools, and local scripts: the task's name says what it does. */
const TASK_RUNNERS =
  /^(?:npm|pnpm|yarn|bun|make|just|rake|rails|artisan|manage\.py|drizzle-kit|prisma|knex|sequelize|sequelize-cli|alembic|flyway|liquibase|dbmate|goose|migrate|typeorm|diesel|sqlx|atlas|mix|task)$/;

function taskRunner(
  name: string,
  args: readonly string[],
  out: ShellFindingSink,
  evidence: string,
  program: string,
): void {
  const script = /\//.test(program) || /\.(?:sh|bash|py|rb)$/.test(name);
  if (!TASK_RUNNERS.test(name) && !script) return;
  const task = [script ? name : '', ...args.filter((a) => !a.startsWith('-') || /^--force/.test(a))].join(
    ' ',
  );
  if (/(?:^|[\s:_-])(?:reset|drop|fresh|wipe|truncate|purge)(?:$|[\s:_.-])/i.test(task))
    out.add('schema_drop', evidence);
  else if (
    /migrat|(?:^|[\s:])(?:db:push|push|upgrade|schema:(?:sync|push|update))(?:$|[\s:])/i.test(task) &&
    !/\b(?:status|generate|create|new|make|dry-run|check)\b/.test(task)
  )
    out.add('migration_file', evidence);
  else if (/(?:^|[\s:_-])seeds?(?:$|[\s:_.-])/i.test(task)) out.add('data_modification', evidence);
  else if (/(?:^|[\s:_-])(?:deploy|release)(?:$|[\s:_.-])/i.test(task)) out.add('deploy', evidence);
}

const ev = (words: readonly string[]): string => evidenceOf(words);

export type { ShellEnvironment, ShellFindingSink } from './scope.js';

interface Ctx {
  readonly env: ShellEnvironment;
  readonly out: ShellFindingSink;
  readonly depth: number;
  readonly budget: { chars: number };
  readonly vars: Map<string, string>;
}

const MAX_DEPTH = 8;
const FORK_BOMB =
  /([A-Za-z_:][A-Za-z0-9_:]{0,30})[ \t]{0,4}\([ \t]{0,4}\)[ \t]{0,4}\{[ \t]{0,4}\1[ \t]{0,4}\|[ \t]{0,4}\1[ \t]{0,4}&/;

/** Program (lower-cased) → its reader. The tables do not overlap (readers.test.ts checks it). */
const READERS: ReadonlyMap<string, ShellReader> = new Map(
  [FILE_READERS, GIT_READERS, CLOUD_READERS, SYSTEM_READERS, DATA_READERS].flatMap((table) =>
    table.flatMap(([names, reader]) => names.map((name) => [name, reader] as const)),
  ),
);

class ShellAnalyser implements ShellScope {
  /** The working directory after a literal `cd`, when known; relative delete targets resolve against it. */
  private cwd: string | undefined;

  constructor(
    private readonly ctx: Ctx,
    cwd?: string,
  ) {
    this.cwd = cwd;
  }

  get out(): ShellFindingSink {
    return this.ctx.out;
  }

  get env(): ShellEnvironment {
    return this.ctx.env;
  }

  private child(): ShellAnalyser {
    return new ShellAnalyser(
      { ...this.ctx, depth: this.ctx.depth + 1, vars: new Map(this.ctx.vars) },
      this.cwd,
    );
  }

  nested(script: string): void {
    this.child().analyseScript(script);
  }

  inCwd(target: string): string {
    if (this.cwd === undefined || /^[/~]/.test(target) || /^[A-Za-z]:/.test(target) || target.startsWith('$'))
      return target;
    return `${this.cwd}/${target}`;
  }

  analyseScript(script: string): void {
    const { out, budget } = this.ctx;
    if (this.ctx.depth > MAX_DEPTH) {
      out.add('obfuscated_command', 'nested too deeply to analyse');
      return;
    }
    budget.chars -= script.length;
    if (budget.chars < 0) {
      out.add('analysis_incomplete', 'nested commands beyond the analysis budget');
      return;
    }
    if (FORK_BOMB.test(script)) out.add('fork_bomb', evidenceOf([script.trim()]));
    const commands = parseShell(script);
    for (let k = 0; k < commands.length; k++) {
      const cmd = commands[k]!;
      const upstream = commands.slice(k - cmd.position, k);
      this.analyseCommand(cmd, upstream);
    }
  }

  /** The output of a pipeline made only of literals and decoders (echo … | base64 -d | rev). */
  private staticOutput(script: string, depth = 0): { text: string; decoded: boolean } | undefined {
    if (depth > 4) return undefined;
    const commands = parseShell(script);
    if (commands.length === 0 || commands.some((c) => c.pipeline !== commands[0]!.pipeline)) return undefined;
    let text: string | undefined;
    let decoded = false;
    for (const cmd of commands) {
      const words = cmd.words.map((w) => this.resolveWord(w, depth + 1));
      if (words.some((w) => w.dynamic)) return undefined;
      decoded ||= words.some((w) => w.decoded);
      const [name0, ...args] = words.map((w) => w.text);
      const name = basename(name0 ?? '');
      const hereString = cmd.redirects.find((r) => r.body !== undefined)?.body;
      if (text === undefined && hereString !== undefined) text = hereString;
      if (name === 'echo') {
        const flags = args.filter((a) => /^-[neE]+$/.test(a));
        const rest = args.slice(flags.length).join(' ');
        text = flags.some((f) => f.includes('e')) ? decodeEscapes(rest) : rest;
        if (flags.some((f) => f.includes('e')) && /\\/.test(args.join(' '))) decoded = true;
      } else if (name === 'printf') {
        const [format = '', ...values] = args;
        let i = 0;
        text = decodeEscapes(format.replace(/%[sbd]/g, () => values[i++] ?? ''));
        if (/\\/.test(format)) decoded = true;
      } else if (name === 'cat' && args.length === 0) {
        if (text === undefined) return undefined;
      } else if (
        (name === 'base64' || name === 'openssl') &&
        (args.includes('-d') || args.includes('--decode') || args.includes('-D'))
      ) {
        if (text === undefined) return undefined;
        const out = decodeBase64(text);
        if (out === undefined) return undefined;
        text = out;
        decoded = true;
      } else if (name === 'xxd' && args.some((a) => a.includes('r'))) {
        if (text === undefined) return undefined;
        const hex = text.replace(/[^0-9A-Fa-f]/g, '');
        text = hex.replace(/../g, (h) => String.fromCharCode(parseInt(h, 16)));
        decoded = true;
      } else if (name === 'rev') {
        if (text === undefined) return undefined;
        text = text
          .split('\n')
          .map((l) => [...l].reverse().join(''))
          .join('\n');
        decoded = true;
      } else {
        return undefined;
      }
    }
    return text === undefined ? undefined : { text, decoded };
  }

  resolve(word: ShellWord): string {
    return this.resolveWord(word).text;
  }

  private resolveWord(word: ShellWord, depth = 0): Resolved {
    let text = '';
    let dynamic = false;
    let decoded = false;
    for (const part of word.parts) {
      if (part.kind === 'literal') text += part.text;
      else if (part.kind === 'variable') {
        const known = this.ctx.vars.get(part.name);
        if (known !== undefined) text += known;
        else if (part.name === 'HOME') text += '~';
        else {
          text += `$${part.name}`;
          dynamic = true;
        }
      } else if (part.kind === 'substitution') {
        const output = this.staticOutput(part.script, depth);
        if (output !== undefined) {
          text += output.text.replace(/\n+$/, '');
          decoded ||= output.decoded;
        } else {
          text += '$(…)';
          dynamic = true;
        }
      } else {
        text += part.kind === 'arithmetic' ? '0' : '/dev/fd/63';
        dynamic = true;
      }
    }
    return { text, dynamic, decoded };
  }

  private analyseNested(cmd: ShellCommand): void {
    const words = [
      ...cmd.words,
      ...cmd.assignments.map((a) => a.value),
      ...cmd.redirects.flatMap((r) => (r.target ? [r.target] : [])),
    ];
    for (const word of words) {
      for (const part of word.parts) {
        if (part.kind === 'substitution' || part.kind === 'process-substitution')
          this.child().analyseScript(part.script);
      }
    }
  }

  private analyseCommand(cmd: ShellCommand, upstream: readonly ShellCommand[]): void {
    const { out } = this.ctx;
    this.analyseNested(cmd);
    for (const a of cmd.assignments) {
      if (cmd.words.length === 0) this.ctx.vars.set(a.name, this.resolve(a.value));
    }
    for (const r of cmd.redirects) {
      if (r.target === undefined || !/>/.test(r.op)) continue;
      const target = this.resolve(r.target);
      if (isDevice(target)) out.add('disk_wipe', `> ${target}`);
      else if (r.op === '>' && protectedPathKind(target) !== undefined)
        out.add('protected_data_delete', `> ${target}`);
      else if (isSensitivePath(target)) out.add('sensitive_path_write', `> ${target}`);
    }
    if (cmd.words.length === 0) return;
    const resolved = cmd.words.map((w) => this.resolveWord(w));
    this.walkWords(resolved, cmd, upstream, false);
  }

  analyseWords(words: readonly Resolved[], cmd: ShellCommand): void {
    this.walkWords(words, cmd, [], false);
  }

  /** Strips wrappers (sudo, env, timeout, xargs…) and dispatches on the real program. */
  private walkWords(
    resolved: readonly Resolved[],
    cmd: ShellCommand,
    upstream: readonly ShellCommand[],
    argsFromStdin: boolean,
  ): void {
    const { out } = this.ctx;
    let words = resolved;
    let fromStdin = argsFromStdin;
    for (let guard = 0; guard < 16 && words.length > 0; guard++) {
      const name = basename(words[0]!.text);
      const rest = words.slice(1);
      const skipOptions = (withArg: RegExp): readonly Resolved[] => {
        let i = 0;
        while (i < rest.length && rest[i]!.text.startsWith('-')) {
          if (rest[i]!.text === '--') {
            i++;
            break;
          }
          i += withArg.test(rest[i]!.text) ? 2 : 1;
        }
        return rest.slice(i);
      };
      if (name === 'sudo' || name === 'doas' || name === 'run0') {
        out.add('privileged_command', evidenceOf(words.map((w) => w.text)));
        words = skipOptions(/^-[ugChpDrtTU]$|^--(?:user|group|host|prompt|chdir)$/);
      } else if (name === 'su') {
        out.add('privileged_command', evidenceOf(words.map((w) => w.text)));
        const c = rest.findIndex((w) => w.text === '-c' || w.text === '--command');
        if (c !== -1 && rest[c + 1] !== undefined) this.child().analyseScript(rest[c + 1]!.text);
        return;
      } else if (name === 'env') {
        let i = 0;
        while (
          i < rest.length &&
          (rest[i]!.text.startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[i]!.text))
        ) {
          i += /^-[uCS]$/.test(rest[i]!.text) ? 2 : 1;
        }
        words = rest.slice(i);
      } else if (
        [
          'nohup',
          'exec',
          'command',
          'builtin',
          'time',
          'unbuffer',
          'setsid',
          'caffeinate',
          'npx',
          'bunx',
          'stdbuf',
          'nice',
          'ionice',
          'chronic',
          'catchsegv',
          'then',
          'do',
          'else',
          '!',
          '{',
          'if',
          'while',
          'until',
        ].includes(name)
      ) {
        words = skipOptions(/^-[ncp]$/);
      } else if (name === 'timeout') {
        const r = skipOptions(/^-[sk]$|^--(?:signal|kill-after)$/);
        words = r.slice(1);
      } else if (name === 'watch') {
        words = skipOptions(/^-[nd]$|^--(?:interval)$/);
      } else if (name === 'chroot') {
        words = skipOptions(/^--(?:userspec|groups)$/).slice(1);
      } else if (name === 'busybox') {
        words = rest;
      } else if (name === 'xargs' || name === 'parallel') {
        words = skipOptions(/^-[IdnLPsaEe]$|^--(?:max-args|max-procs|delimiter|arg-file|replace)$/);
        fromStdin = true;
      } else {
        break;
      }
    }
    if (words.length === 0) return;
    const head = words[0]!;
    if (head.dynamic) {
      out.add('dynamic_command', evidenceOf(words.map((w) => w.text)));
    }
    if (head.decoded) out.add('obfuscated_command', evidenceOf(words.map((w) => w.text)));
    const name = basename(head.text);
    const args = words.slice(1).map((w) => w.text);
    const all = words.map((w) => w.text);
    if (REMOTE_TOOLS.has(name)) for (const a of args) this.ctx.out.productionHint(a);
    this.dispatch(name, args, all, words, cmd, upstream, fromStdin);
    taskRunner(name, args, this.ctx.out, ev(all), head.text);
    // Reading or sending a secrets file (`cat ~/.aws/credentials`, `curl -d @~/.ssh/id_rsa`, `tar ~/.ssh`).
    const secret = CONTENT_READERS.test(name) ? args.find((a) => touchesSecretFile(a)) : undefined;
    // `env | curl -d @- …`: the environment (where the secrets live) sent over the network.
    const sendsEnvironment =
      DOWNLOADERS.has(name.toLowerCase()) &&
      upstream.some((c) =>
        /^(?:env|printenv|set|export|declare)$/.test(
          basename(c.words[0] !== undefined ? this.resolve(c.words[0]) : ''),
        ),
      );
    if (secret !== undefined || sendsEnvironment) this.ctx.out.add('secret_file_change', ev(all));
  }

  private runsStdin(cmd: ShellCommand, upstream: readonly ShellCommand[], label: string): void {
    const { out } = this.ctx;
    const body = cmd.redirects.find((r) => r.body !== undefined)?.body;
    if (body !== undefined) {
      this.child().analyseScript(body);
      return;
    }
    if (upstream.length === 0) return;
    const upstreamScript = upstream.map((c) => c.words.map((w) => wordText(w)).join(' ')).join(' | ');
    const downloads = upstream.some((c) => {
      const names = c.words.map((w) => basename(this.resolve(w)).toLowerCase());
      const i = names.findIndex((n) => !['sudo', 'env', 'timeout', 'nohup', 'command'].includes(n));
      return i !== -1 && DOWNLOADERS.has(names[i]!);
    });
    if (downloads) {
      out.add('remote_code_pipe', `${upstreamScript} | ${label}`);
      return;
    }
    const output = this.staticOutput(upstream.map((c) => this.rebuild(c)).join(' | '));
    if (output !== undefined) {
      if (output.decoded) out.add('obfuscated_command', `${evidenceOf([upstreamScript])} | ${label}`);
      this.child().analyseScript(output.text);
      return;
    }
    out.add('obfuscated_command', `${evidenceOf([upstreamScript])} | ${label}`);
  }

  /** The pipeline that ends with `cmd`, as text, for static evaluation. */
  private rebuild(cmd: ShellCommand): string {
    return (
      cmd.words.map((w) => `'${this.resolve(w).replace(/'/g, `'\\''`)}'`).join(' ') +
      cmd.redirects
        .map((r) => (r.body !== undefined ? ` <<< '${r.body.replace(/'/g, `'\\''`)}'` : ''))
        .join('')
    );
  }

  private dispatch(
    name: string,
    args: string[],
    all: string[],
    words: readonly Resolved[],
    cmd: ShellCommand,
    upstream: readonly ShellCommand[],
    fromStdin: boolean,
  ): void {
    const { out } = this.ctx;
    const ev = evidenceOf(all);
    const lower = name.toLowerCase();
    const runsDownload = cmd.words.some((w) =>
      w.parts.some(
        (p) =>
          (p.kind === 'substitution' || p.kind === 'process-substitution') &&
          /\b(?:curl|wget|fetch|iwr|irm|Invoke-WebRequest)\b/i.test(p.script),
      ),
    );

    if (
      (SHELLS.has(lower) ||
        INTERPRETERS.has(name) ||
        lower === 'eval' ||
        lower === 'source' ||
        lower === '.') &&
      runsDownload
    ) {
      out.add('remote_code_pipe', ev);
    }
    if (SHELLS.has(lower)) {
      const c = args.findIndex(
        (a) => a === '-c' || /^-[a-z]*c[a-z]*$/.test(a) || a === '-Command' || a === '-command',
      );
      if (c !== -1) {
        const scriptWord = words[c + 2];
        if (scriptWord !== undefined) {
          if (scriptWord.decoded) out.add('obfuscated_command', ev);
          this.child().analyseScript(scriptWord.text);
        }
        return;
      }
      const enc = args.findIndex((a) => /^-e(?:nc(?:odedcommand)?)?$/i.test(a));
      if (enc !== -1 && (lower === 'pwsh' || lower === 'powershell')) {
        out.add('obfuscated_command', ev);
        // -EncodedCommand is base64 of UTF-16LE: read what it runs.
        const decoded = decodeBase64(args[enc + 1] ?? '');
        if (decoded !== undefined) {
          const text = Buffer.from(decoded, 'latin1').toString('utf16le');
          // PowerShell: a backslash separates paths.
          if (/^[\t\n\r\x20-\x7e]*$/.test(text)) this.child().analyseScript(text.replace(/\\/g, '/'));
        }
        return;
      }
      if (args.filter((a) => !a.startsWith('-')).length === 0 || args.includes('-s') || args.includes('-')) {
        this.runsStdin(cmd, upstream, name);
      }
      return;
    }
    if (INTERPRETERS.has(name) || INTERPRETERS.has(lower)) {
      const e = args.findIndex((a) => a === '-c' || a === '-e' || a === '-E' || a === '--eval' || a === '-r');
      if (e !== -1 && args[e + 1] !== undefined) {
        analyseInterpreterCode(args[e + 1]!, this);
        return;
      }
      if (args.filter((a) => !a.startsWith('-')).length === 0 || args.includes('-'))
        this.runsStdin(cmd, upstream, name);
      return;
    }
    switch (lower) {
      case 'cd':
      case 'pushd': {
        const dir = operands(args)[0];
        this.cwd =
          dir === undefined
            ? '~'
            : dir.startsWith('/') || dir.startsWith('~')
              ? dir
              : this.cwd !== undefined
                ? `${this.cwd}/${dir}`
                : undefined;
        return;
      }
      case 'eval': {
        if (words.slice(1).some((w) => w.decoded)) out.add('obfuscated_command', ev);
        if (words.slice(1).some((w) => w.dynamic)) {
          const downloads = cmd.words.some((w) =>
            w.parts.some((p) => p.kind === 'substitution' && /\b(?:curl|wget)\b/.test(p.script)),
          );
          out.add(downloads ? 'remote_code_pipe' : 'dynamic_command', ev);
        }
        this.child().analyseScript(args.join(' '));
        return;
      }
      case 'source':
      case '.': {
        const target = cmd.words[1];
        if (
          target?.parts.some((p) => p.kind === 'process-substitution' && /\b(?:curl|wget)\b/.test(p.script))
        )
          out.add('remote_code_pipe', ev);
        return;
      }
      default: {
        const read = READERS.get(lower) ?? formatFilesystem;
        read({ name: lower, args, flags: shortFlags(args), ev, words, cmd, upstream, fromStdin }, this);
        return;
      }
    }
  }
}

/** PowerShell and cmd.exe, where a backslash separates paths instead of escaping. */
const WINDOWS_SHELL =
  /\b(?:Remove-Item|Get-ChildItem|Set-ExecutionPolicy|Stop-Service|Format-Volume|Clear-Disk)\b|\$env:|%[A-Z]+%|\b(?:rmdir|rd|del|erase)\s+\/[sqfSQF]\b|\b[A-Za-z]:\\/;

export function analyseShell(script: string, env: ShellEnvironment, out: ShellFindingSink): void {
  const run = (text: string) =>
    new ShellAnalyser({
      env,
      out,
      depth: 0,
      budget: { chars: text.length * 4 + 65_536 },
      vars: new Map(),
    }).analyseScript(text);
  run(script);
  // Read as Windows would too: `C:\Users\dev` is a path there, not `C:Usersdev`.
  if (WINDOWS_SHELL.test(script)) run(script.replace(/\\/g, '/'));
}
