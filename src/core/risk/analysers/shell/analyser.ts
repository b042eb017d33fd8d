/**
 * What a shell command really does. Sees through wrappers (sudo, env, nohup, timeout, xargs…),
 * shells (`bash -c`, `sh <<EOF`, `… | sh`), eval, command substitution, simple variables
 * (`X=rm; $X -rf /`), quoting tricks and decoded payloads (`echo … | base64 -d | sh`), then
 * classifies each command: deletes, disk writes, permission changes, remote code, git pushes,
 * infrastructure and cloud CLIs, database clients, publishing, shutdowns.
 */
import { grantStrength } from '../iam.js';
import { analyseMongo, analyseSql } from '../sql.js';
import type { RiskLevel } from '../../levels.js';
import type { ReasonCode } from '../../reasons.js';
import { parseShell, wordText, type ShellCommand, type ShellWord } from './lexer.js';

export interface ShellFindingSink {
  add(reason: ReasonCode, evidence: string, level?: RiskLevel): void;
  /** Words that may name a production host, context, namespace or environment. */
  productionHint(text: string): void;
}

export interface ShellEnvironment {
  isProtectedBranch(branch: string): boolean;
  /** The branch a bare `git push` pushes (context.branch or action.target), when known. */
  readonly currentBranch?: string;
}

interface Resolved {
  readonly text: string;
  /** Part of the word is only known at run time. */
  readonly dynamic: boolean;
  /** Part of the word came from decoding (base64, hex, printf escapes). */
  readonly decoded: boolean;
}

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

const SHELLS = new Set([
  'sh',
  'bash',
  'zsh',
  'dash',
  'ksh',
  'ash',
  'fish',
  'mksh',
  'csh',
  'tcsh',
  'busybox-sh',
  'pwsh',
  'powershell',
]);
const INTERPRETERS = new Set([
  'python',
  'python2',
  'python3',
  'perl',
  'ruby',
  'node',
  'nodejs',
  'php',
  'deno',
  'bun',
  'lua',
  'Rscript',
]);
const DOWNLOADERS = new Set([
  'curl',
  'wget',
  'fetch',
  'nc',
  'ncat',
  'netcat',
  'aria2c',
  'http',
  'https',
  'iwr',
  'invoke-webrequest',
  'irm',
  'invoke-restmethod',
]);
const REMOTE_TOOLS = new Set([
  'ssh',
  'scp',
  'rsync',
  'sftp',
  'kubectl',
  'helm',
  'terraform',
  'tofu',
  'terragrunt',
  'pulumi',
  'aws',
  'gcloud',
  'az',
  'psql',
  'mysql',
  'mariadb',
  'mongo',
  'mongosh',
  'redis-cli',
  'ansible',
  'ansible-playbook',
  'flyctl',
  'fly',
  'heroku',
  'vercel',
  'netlify',
  'serverless',
  'sls',
  'cdk',
  'eb',
  'kamal',
  'cap',
  'docker',
  'podman',
  'kubectx',
  'k9s',
  'oc',
  'doctl',
  'wrangler',
  'railway',
  'render',
  'gh',
  'pg_dump',
  'pg_restore',
  'dropdb',
  'createdb',
  'mysqldump',
  'mongodump',
  'mongorestore',
  'clickhouse-client',
  'cqlsh',
  'sqlcmd',
  'deploy',
  'make',
  'npm',
  'yarn',
  'pnpm',
  'just',
]);
const DEVICE =
  /^\/dev\/(?:sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|md\d|dm-\d|mapper\/|disk\d|rdisk\d|loop\d|sr\d|nbd\d|zd\d|root\b|by-(?:id|uuid|label|path)\/)/;
const SYSTEM_DIRS = new Set([
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/opt',
  '/proc',
  '/root',
  '/sbin',
  '/srv',
  '/sys',
  '/usr',
  '/var',
  '/mnt',
  '/media',
  '/snap',
  '/run',
  '/Users',
  '/System',
  '/Library',
  '/Applications',
  '/private',
  '/usr/bin',
  '/usr/lib',
  '/usr/local',
  '/usr/sbin',
  '/var/lib',
]);
const DISPOSABLE = new Set([
  'node_modules',
  'dist',
  'build',
  'target',
  'out',
  'coverage',
  '.cache',
  '__pycache__',
  '.next',
  '.nuxt',
  '.turbo',
  '.pytest_cache',
  '.mypy_cache',
  '.ruff_cache',
  'tmp',
  '.tmp',
  '.parcel-cache',
  '.venv',
  'venv',
  '.tox',
  '.gradle',
  '.svelte-kit',
  'storybook-static',
  '.eslintcache',
  '.angular',
  'obj',
  '.terraform',
]);
const SENSITIVE_PATH =
  /^(?:\/etc\/|\/boot\/|\/root\/|\/usr\/(?:s?bin|lib)\/|\/var\/spool\/cron|\/Library\/LaunchDaemons\/|~\/\.(?:ssh\/|bashrc$|bash_profile$|profile$|zshrc$|zprofile$|bash_login$|config\/autostart\/)|\/home\/[^/]+\/\.(?:ssh\/|bashrc$|profile$|zshrc$))/;

function basename(word: string): string {
  const base = word.replace(/^.*[/\\]/, '');
  return base.replace(/\.exe$/i, '');
}

/** Normalises a path for root checks: `$HOME`→`~`, `//`→`/`, `.`/`..` resolved, no trailing slash. */
export function normalizePath(raw: string): string {
  let p = raw.replace(/^\$\{?HOME\}?/, '~').replace(/\\/g, '/');
  if (/^[A-Za-z]:(?:\/|$)/.test(p)) p = `/${p[0]!.toLowerCase()}:${p.slice(2)}`;
  const absolute = p.startsWith('/');
  const home = p === '~' || p.startsWith('~/');
  const segments: string[] = [];
  for (const seg of (home ? p.slice(1) : p).split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (segments.length > 0 && segments[segments.length - 1] !== '..') segments.pop();
      else if (!absolute && !home) segments.push('..');
      continue;
    }
    segments.push(seg);
  }
  const joined = segments.join('/');
  if (home) return joined ? `~/${joined}` : '~';
  if (absolute) return `/${joined}`;
  return joined || '.';
}

/** `/`, `/*`, `~`, `~/*`, a drive root, or a top-level system directory (or its contents). */
export function isRootLike(raw: string): boolean {
  const p = normalizePath(raw);
  if (p === '/' || p === '~' || p === '/*' || p === '~/*' || p === '/.*' || p === '~/.*') return true;
  if (/^\/[a-z]:(?:\/\*?)?$/.test(p) || /^\/[a-z]:\/windows(?:\/.*)?$/i.test(p)) return true;
  const withoutGlob = p.replace(/\/\*$/, '');
  if (SYSTEM_DIRS.has(withoutGlob)) return true;
  if (/^\/(?:home|Users)\/[^/*]+$/.test(withoutGlob)) return true;
  if (/^\/\*/.test(p) || /^~\/\*/.test(p)) return true;
  return false;
}

/** A build artefact or cache (node_modules, dist, .cache, target…) or anything under /tmp. */
export function isBuildArtifact(raw: string): boolean {
  const p = normalizePath(raw);
  if (/^\/tmp\/[^*]/.test(p) || /^\/var\/tmp\/[^*]/.test(p) || /^\/private\/tmp\/[^*]/.test(p)) return true;
  const segments = p.split('/');
  const last = segments.pop() ?? '';
  if (/[*?]/.test(last)) return segments.some((s) => DISPOSABLE.has(s));
  return DISPOSABLE.has(last) || segments.some((s) => DISPOSABLE.has(s) && s !== 'tmp' && s !== '.tmp');
}

/**
 * Data and identity that no agent should delete: database data directories, system identity and
 * auth files, SSH authorised keys, boot and kernel files.
 */
const PROTECTED: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /^(?:\/var\/lib\/(?:postgresql|pgsql|postgres|mysql|mariadb|mongodb|mongo|redis|etcd|cassandra|elasticsearch|opensearch|clickhouse|couchdb|influxdb|rabbitmq|kafka|zookeeper|neo4j|docker\/volumes)|\/var\/opt\/mssql|\/etc\/kubernetes\/pki|\/usr\/local\/var\/(?:postgres(?:ql@?\d*)?|mysql|mongodb|redis)|\/opt\/homebrew\/var\/(?:postgres(?:ql@?\d*)?|mysql|mongodb|redis)|\/data\/db|\/srv\/(?:postgres|mysql|mongodb)|~\/Library\/Application Support\/Postgres)(?:\/|$)/,
    'database data directory',
  ],
  [
    /(?:^|\/)(?:pg_wal|pg_xlog|base|global|pg_tblspc)(?:\/|$)(?=.*)|(?:^|\/)PG_VERSION$/,
    'database data directory',
  ],
  [
    /^\/etc\/(?:passwd|shadow|group|gshadow|sudoers|sudoers\.d|pam\.d|security|master\.passwd|login\.defs|nsswitch\.conf|krb5\.keytab)(?:\/|$|-)/,
    'identity or auth file',
  ],
  [
    /^(?:~|\/root|\/home\/[^/]+|\/Users\/[^/]+)\/\.ssh(?:\/|$)|^\/etc\/ssh(?:\/|$)/,
    'SSH keys or configuration',
  ],
  [
    /^\/boot(?:\/|$)|^\/(?:vmlinuz|initrd\.img)(?:\.old)?$|^\/lib\/modules(?:\/|$)|^\/usr\/lib\/modules(?:\/|$)|^\/efi(?:\/|$)/,
    'boot or kernel files',
  ],
];

/** What kind of protected data a path is, if it is. */
export function protectedPathKind(raw: string): string | undefined {
  const p = normalizePath(raw);
  if (!/^[/~]/.test(p))
    return /(?:^|\/)(?:pg_wal|pg_xlog)(?:\/|$)|(?:^|\/)PG_VERSION$/.test(p)
      ? 'database data directory'
      : undefined;
  for (const [re, kind] of PROTECTED) if (re.test(p)) return kind;
  return undefined;
}

/** `--replicas=0`, `--replicas 0`: a flag whose value is zero. */
function desiredZero(args: readonly string[], flag: string): boolean {
  return args.some((a, i) => a === `${flag}=0` || (a === flag && args[i + 1] === '0'));
}

function shortFlags(args: readonly string[]): Set<string> {
  const set = new Set<string>();
  for (const a of args) {
    if (a === '--') break;
    if (/^-[A-Za-z0-9]+$/.test(a)) for (const ch of a.slice(1)) set.add(ch);
  }
  return set;
}

function hasLong(args: readonly string[], ...names: string[]): boolean {
  return args.some((a) => names.some((n) => a === n || a.startsWith(`${n}=`)));
}

function operands(args: readonly string[]): string[] {
  const out: string[] = [];
  let afterDashes = false;
  for (const a of args) {
    if (!afterDashes && a === '--') afterDashes = true;
    else if (afterDashes || !a.startsWith('-') || a === '-') out.push(a);
  }
  return out;
}

function evidenceOf(words: readonly string[]): string {
  const text = words.join(' ');
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** Decodes printf-style escapes (`\x72`, `\162`, `\n`). */
function decodeEscapes(text: string): string {
  return text.replace(/\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|[ntr\\])/g, (_, esc: string) => {
    if (esc[0] === 'x') return String.fromCharCode(parseInt(esc.slice(1), 16));
    if (/^[0-7]/.test(esc)) return String.fromCharCode(parseInt(esc, 8));
    return ({ n: '\n', t: '\t', r: '\r', '\\': '\\' } as Record<string, string>)[esc] ?? esc;
  });
}

function decodeBase64(text: string): string | undefined {
  const clean = text.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]+$/.test(clean) || clean.length % 4 === 1) return undefined;
  try {
    return atob(clean.padEnd(Math.ceil(clean.length / 4) * 4, '='));
  } catch {
    return undefined;
  }
}

class ShellAnalyser {
  /** The working directory after a literal `cd`, when known; relative delete targets resolve against it. */
  private cwd: string | undefined;

  constructor(
    private readonly ctx: Ctx,
    cwd?: string,
  ) {
    this.cwd = cwd;
  }

  private child(): ShellAnalyser {
    return new ShellAnalyser(
      { ...this.ctx, depth: this.ctx.depth + 1, vars: new Map(this.ctx.vars) },
      this.cwd,
    );
  }

  private inCwd(target: string): string {
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
      const words = cmd.words.map((w) => this.resolve(w, depth + 1));
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

  private resolve(word: ShellWord, depth = 0): Resolved {
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
      if (cmd.words.length === 0) this.ctx.vars.set(a.name, this.resolve(a.value).text);
    }
    for (const r of cmd.redirects) {
      if (r.target === undefined || !/>/.test(r.op)) continue;
      const target = this.resolve(r.target).text;
      if (DEVICE.test(target)) out.add('disk_wipe', `> ${target}`);
      else if (r.op === '>' && protectedPathKind(target) !== undefined)
        out.add('protected_data_delete', `> ${target}`);
      else if (SENSITIVE_PATH.test(normalizePath(target))) out.add('sensitive_path_write', `> ${target}`);
    }
    if (cmd.words.length === 0) return;
    const resolved = cmd.words.map((w) => this.resolve(w));
    this.analyseWords(resolved, cmd, upstream, false);
  }

  /** Strips wrappers (sudo, env, timeout, xargs…) and dispatches on the real program. */
  private analyseWords(
    resolved: Resolved[],
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
      const skipOptions = (withArg: RegExp): Resolved[] => {
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
      const names = c.words.map((w) => basename(this.resolve(w).text).toLowerCase());
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
      cmd.words.map((w) => `'${this.resolve(w).text.replace(/'/g, `'\\''`)}'`).join(' ') +
      cmd.redirects
        .map((r) => (r.body !== undefined ? ` <<< '${r.body.replace(/'/g, `'\\''`)}'` : ''))
        .join('')
    );
  }

  private dispatch(
    name: string,
    args: string[],
    all: string[],
    words: Resolved[],
    cmd: ShellCommand,
    upstream: readonly ShellCommand[],
    fromStdin: boolean,
  ): void {
    const { out } = this.ctx;
    const ev = evidenceOf(all);
    const lower = name.toLowerCase();
    const flags = shortFlags(args);
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
        this.analyseInterpreterCode(args[e + 1]!);
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
      case 'rm':
      case 'unlink':
      case 'rmdir':
      case 'del':
      case 'erase':
      case 'rd':
      case 'remove-item':
      case 'ri':
        return this.remove(lower, args, ev, fromStdin, upstream);
      case 'shred':
      case 'srm':
      case 'wipe': {
        const targets = operands(args);
        if (targets.some((t) => DEVICE.test(t))) out.add('disk_wipe', ev);
        else if (targets.some((t) => protectedPathKind(t) !== undefined))
          out.add('protected_data_delete', ev);
        else out.add('destructive_delete', ev);
        return;
      }
      case 'find': {
        const deletes =
          args.includes('-delete') ||
          args.some(
            (a, i) =>
              /^-(?:exec|execdir|ok)$/.test(a) && /^(?:rm|shred|unlink)$/.test(basename(args[i + 1] ?? '')),
          );
        if (!deletes) return;
        const starts: string[] = [];
        for (const a of args) {
          if (a.startsWith('-') || a === '(' || a === '!') break;
          starts.push(this.inCwd(a));
        }
        if (starts.some(isRootLike)) out.add('recursive_delete_root', ev);
        else if (starts.some((t) => protectedPathKind(t) !== undefined)) out.add('protected_data_delete', ev);
        else if (starts.length > 0 && starts.every((t) => isBuildArtifact(t)))
          out.add('build_artifacts_delete', ev);
        else out.add('destructive_delete', ev);
        return;
      }
      case 'dd': {
        const of = args.find((a) => a.startsWith('of='));
        if (of !== undefined && DEVICE.test(of.slice(3))) out.add('disk_wipe', ev);
        else if (of !== undefined && SENSITIVE_PATH.test(normalizePath(of.slice(3))))
          out.add('sensitive_path_write', ev);
        return;
      }
      case 'wipefs':
      case 'fdisk':
      case 'sfdisk':
      case 'cfdisk':
      case 'parted':
      case 'sgdisk':
      case 'gdisk':
      case 'blkdiscard':
      case 'mke2fs':
      case 'format':
      case 'diskpart':
      case 'clear-disk':
      case 'format-volume':
        if (lower === 'fdisk' && (flags.has('l') || args.includes('--list'))) return;
        if (lower === 'parted' && args.includes('print')) return;
        out.add('disk_wipe', ev);
        return;
      case 'mkswap':
        if (operands(args).some((a) => DEVICE.test(a))) out.add('disk_wipe', ev);
        return;
      case 'cryptsetup':
        if (args.some((a) => /^(?:luksFormat|erase|luksErase|reencrypt)$/.test(a))) out.add('disk_wipe', ev);
        return;
      case 'diskutil':
        if (
          args.some((a) =>
            /^(?:eraseDisk|eraseVolume|zeroDisk|randomDisk|secureErase|partitionDisk)$/i.test(a),
          )
        )
          out.add('disk_wipe', ev);
        return;
      case 'chmod':
      case 'chown':
      case 'chgrp':
      case 'setfacl':
      case 'icacls': {
        const recursive =
          flags.has('R') || hasLong(args, '--recursive') || args.some((a) => /^\/t$/i.test(a));
        const targets = operands(args).slice(
          lower === 'chmod' || lower === 'chown' || lower === 'chgrp' ? 1 : 0,
        );
        if (recursive && targets.some(isRootLike)) {
          out.add('root_permission_change', ev);
          return;
        }
        const mode = operands(args)[0] ?? '';
        if (
          lower === 'chmod' &&
          (/^0?[0-7]?[0-7][0-7][2367]$/.test(mode) ||
            /(?:^|,)[ao]*\+[rwx]*w|(?:^|,)[ugoa]*\+[rwx]*s|^[4267][0-7]{3}$/.test(mode))
        ) {
          out.add('insecure_permissions', ev);
        }
        if (targets.some((t) => SENSITIVE_PATH.test(normalizePath(t)))) out.add('sensitive_path_write', ev);
        return;
      }
      case 'mv':
      case 'cp':
      case 'tee':
      case 'install':
      case 'ln':
      case 'rsync':
      case 'scp': {
        const targets = operands(args);
        const dest = lower === 'tee' ? targets : targets.slice(-1);
        if (lower === 'mv' && targets.slice(0, -1).some((t) => protectedPathKind(t) !== undefined))
          out.add('protected_data_delete', ev);
        else if (lower === 'mv' && dest[0] === '/dev/null') out.add('destructive_delete', ev);
        else if (dest.some((d) => DEVICE.test(d))) out.add('disk_wipe', ev);
        else if (dest.some((d) => SENSITIVE_PATH.test(normalizePath(d)))) out.add('sensitive_path_write', ev);
        if (
          lower === 'rsync' &&
          hasLong(
            args,
            '--delete',
            '--delete-before',
            '--delete-after',
            '--delete-during',
            '--delete-excluded',
          )
        ) {
          out.add(dest.some(isRootLike) ? 'recursive_delete_root' : 'destructive_delete', ev);
        }
        return;
      }
      case 'sed':
      case 'perl':
        if (flags.has('i') || hasLong(args, '--in-place')) {
          if (
            operands(args)
              .slice(1)
              .some((t) => SENSITIVE_PATH.test(normalizePath(t)))
          )
            out.add('sensitive_path_write', ev);
        }
        return;
      case 'truncate':
        out.add(
          operands(args).some((t) => protectedPathKind(t) !== undefined)
            ? 'protected_data_delete'
            : 'delete_files',
          ev,
        );
        return;
      case 'crontab':
        if (flags.has('r')) out.add('delete_files', ev);
        else if (operands(args).length > 0 || args.includes('-')) out.add('sensitive_path_write', ev);
        return;
      case 'git':
        return this.git(args, ev);
      case 'shutdown':
      case 'reboot':
      case 'halt':
      case 'poweroff':
      case 'stop-computer':
      case 'restart-computer':
        out.add('system_shutdown', ev);
        return;
      case 'init':
      case 'telinit':
        if (/^[06]$/.test(args[0] ?? '')) out.add('system_shutdown', ev);
        return;
      case 'systemctl':
      case 'service': {
        const verb = lower === 'systemctl' ? operands(args)[0] : operands(args)[1];
        const unit = lower === 'systemctl' ? operands(args)[1] : operands(args)[0];
        if (/^(?:poweroff|reboot|halt|kexec|emergency|rescue)$/.test(verb ?? ''))
          out.add('system_shutdown', ev);
        else if (/^(?:stop|disable|mask|kill)$/.test(verb ?? '')) {
          if (
            /^(?:firewalld|ufw|apparmor|auditd|fail2ban|iptables|nftables|selinux|crowdstrike|falcon-sensor|osqueryd|wazuh-agent)/.test(
              unit ?? '',
            )
          )
            out.add('security_disable', ev);
          else out.add('system_shutdown', ev);
        }
        return;
      }
      case 'kill':
        if (args.some((a) => a === '-1' || a === '1' || (a === '--' && false))) out.add('process_kill', ev);
        if (operands(args).some((a) => a === '1' || a === '-1')) out.add('process_kill', ev);
        return;
      case 'killall':
      case 'pkill':
      case 'killall5':
      case 'taskkill':
      case 'stop-process':
        out.add('process_kill', ev);
        return;
      case 'iptables':
      case 'ip6tables':
        if (
          flags.has('F') ||
          hasLong(args, '--flush') ||
          (flags.has('P') && args.includes('ACCEPT')) ||
          flags.has('X')
        )
          out.add('security_disable', ev);
        return;
      case 'nft':
        if (args.includes('flush')) out.add('security_disable', ev);
        return;
      case 'ufw':
        if (args[0] === 'disable' || args[0] === 'reset') out.add('security_disable', ev);
        return;
      case 'setenforce':
        if (args[0] === '0' || args[0]?.toLowerCase() === 'permissive') out.add('security_disable', ev);
        return;
      case 'aa-teardown':
      case 'aa-disable':
        out.add('security_disable', ev);
        return;
      case 'set-mppreference':
        if (args.some((a) => /^-Disable/i.test(a))) out.add('security_disable', ev);
        return;
      case 'useradd':
      case 'userdel':
      case 'usermod':
      case 'adduser':
      case 'deluser':
      case 'groupadd':
      case 'groupdel':
      case 'passwd':
      case 'chpasswd':
      case 'gpasswd':
      case 'visudo':
      case 'htpasswd':
      case 'net':
        if (lower === 'net' && !/^(?:user|localgroup|group)$/i.test(args[0] ?? '')) return;
        this.grant(args, ev);
        return;
      case 'ssh': {
        const rest = this.afterSshOptions(args);
        if (rest.length > 0) this.ctx.out.productionHint(rest[0]!);
        if (rest.length > 1) this.child().analyseScript(rest.slice(1).join(' '));
        return;
      }
      case 'kubectl':
      case 'oc':
        return this.kubectl(args, ev, words);
      case 'helm': {
        const verb = operands(args)[0];
        if (verb === 'uninstall' || verb === 'delete' || verb === 'del' || verb === 'un')
          out.add('infra_destroy', ev);
        else if (verb === 'install' || verb === 'upgrade' || verb === 'rollback') out.add('deploy', ev);
        return;
      }
      case 'terraform':
      case 'tofu':
      case 'terragrunt':
      case 'pulumi':
      case 'cdk':
      case 'serverless':
      case 'sls': {
        const verb = operands(args)[0];
        if (
          verb === 'destroy' ||
          verb === 'remove' ||
          args.includes('-destroy') ||
          args.includes('--destroy')
        )
          out.add('infra_destroy', ev);
        else if (
          verb === 'apply' ||
          verb === 'up' ||
          verb === 'import' ||
          verb === 'deploy' ||
          verb === 'taint' ||
          (verb === 'state' && /^(?:rm|mv|push|replace-provider)$/.test(operands(args)[1] ?? ''))
        )
          out.add('infra_change', ev);
        return;
      }
      case 'aws':
        return this.aws(args, ev);
      case 'gcloud':
        return this.gcloud(args, ev);
      case 'az':
        return this.az(args, ev);
      case 'doctl':
      case 'flyctl':
      case 'fly':
      case 'heroku':
      case 'railway':
      case 'vercel':
      case 'netlify':
      case 'wrangler': {
        const text = args.join(' ');
        const prod = /(?:^|\s)--prod(?:uction)?\b|\bpromote\b/.test(text);
        if (/\b(?:destroy|delete|remove|rm|apps:destroy|pg:reset)\b/.test(text)) out.add('infra_destroy', ev);
        else if (/(?:^|\s)(?:ps:scale|scale\s+count)\b/.test(text) && /(?:=|\s)0(?:\s|$)/.test(text))
          out.add('scale_to_zero', ev);
        else if (
          (lower === 'vercel' || lower === 'netlify') &&
          !prod &&
          /^(?:deploy)?$/.test(operands(args)[0] ?? '')
        )
          out.add('preview_deploy', ev);
        else if (/\b(?:deploy|release|promote)\b|--prod\b/.test(text)) {
          out.add('deploy', ev);
          if (prod) this.ctx.out.productionHint('production');
        } else if (/\b(?:secrets?|config:set|env\s+(?:add|rm))\b/.test(text)) this.grant(args, ev);
        return;
      }
      case 'docker':
      case 'podman':
      case 'nerdctl':
        return this.docker(args, ev, words, cmd);
      case 'npm':
      case 'pnpm':
      case 'yarn':
      case 'bun': {
        const verb = operands(args)[0];
        if (verb === 'publish' || verb === 'unpublish' || (verb === 'npm' && operands(args)[1] === 'publish'))
          out.add('package_publish', ev);
        else if (
          (verb === 'install' || verb === 'i' || verb === 'add') &&
          (flags.has('g') || hasLong(args, '--global'))
        )
          out.add('dependency_change', ev);
        return;
      }
      case 'cargo':
      case 'twine':
      case 'gem':
      case 'poetry':
      case 'dotnet':
      case 'nuget':
      case 'mvn':
      case 'gradle':
      case 'flit':
      case 'hatch':
      case 'uv': {
        const text = args.join(' ');
        if (/\b(?:publish|upload|push|deploy|yank)\b/.test(text)) out.add('package_publish', ev);
        return;
      }
      case 'pip':
      case 'pip3':
        if (
          args[0] === 'install' &&
          !args.includes('-r') &&
          !args.includes('--user') &&
          (upstream !== undefined || args.includes('--break-system-packages'))
        )
          out.add('dependency_change', ev);
        return;
      case 'psql':
      case 'mysql':
      case 'mariadb':
      case 'sqlite3':
      case 'sqlcmd':
      case 'cockroach':
      case 'clickhouse-client':
      case 'duckdb':
      case 'cqlsh':
        return this.sqlClient(lower, args, cmd, ev);
      case 'dropdb':
      case 'pg_dropcluster':
        out.add('drop_database', ev);
        return;
      case 'mysqladmin':
        if (args.some((a) => a === 'drop')) out.add('drop_database', ev);
        else if (args.some((a) => /^(?:shutdown)$/.test(a))) out.add('system_shutdown', ev);
        return;
      case 'redis-cli':
      case 'valkey-cli':
      case 'keydb-cli': {
        const text = args.join(' ').toUpperCase();
        if (/\bFLUSH(?:ALL|DB)\b/.test(text)) out.add('drop_database', ev);
        else if (/\b(?:SHUTDOWN)\b/.test(text)) out.add('system_shutdown', ev);
        else if (/\b(?:DEL|UNLINK|SET|HSET|EXPIRE|CONFIG\s+SET)\b/.test(text))
          out.add('data_modification', ev);
        return;
      }
      case 'mongo':
      case 'mongosh': {
        const e = args.findIndex((a) => a === '--eval');
        const code = e !== -1 ? args[e + 1] : cmd.redirects.find((r) => r.body !== undefined)?.body;
        if (code !== undefined) for (const f of analyseMongo(code)) out.add(f.reason, f.statement);
        return;
      }
      case 'curl':
      case 'wget':
        if (
          args.some((a) => /^(?:-X|--request)$/.test(a)) &&
          /^(?:DELETE)$/i.test(args[args.findIndex((a) => /^(?:-X|--request)$/.test(a)) + 1] ?? '')
        ) {
          // The GitHub and GitLab APIs' "delete this repository/project".
          const repo = args.some((a) =>
            /\/repos\/[^/\s]+\/[^/\s?]+\/?(?:\?|$)|\/api\/v4\/(?:projects|groups)\/[^/\s?]+\/?(?:\?|$)/.test(
              a,
            ),
          );
          out.add(repo ? 'repository_delete' : 'data_modification', ev);
        }
        return;
      case 'gh':
        if (args[0] === 'repo' && args[1] === 'delete') out.add('repository_delete', ev);
        else if (args[0] === 'secret' && /^(?:set|delete|remove)$/.test(args[1] ?? '')) this.grant(args, ev);
        else if (args[0] === 'release' && args[1] === 'create') out.add('package_publish', ev);
        else if (args[0] === 'pr' && args[1] === 'merge') out.add('push_protected_branch', ev);
        return;
      case 'vault':
        if (
          /^(?:write|delete|kv|secrets|policy|auth|token)$/.test(args[0] ?? '') &&
          !/^(?:get|list|read)$/.test(args[1] ?? '')
        )
          this.grant(args, ev);
        return;
      case 'ssh-keygen':
        if (args.includes('-R')) return;
        return;
      case 'ansible':
      case 'ansible-playbook':
        out.add('infra_change', ev);
        return;
      default:
        if (
          /^mkfs(?:\.|$)/.test(lower) ||
          /^mkfs\./.test(lower) ||
          lower === 'newfs' ||
          /^newfs_/.test(lower)
        )
          out.add('disk_wipe', ev);
        return;
    }
  }

  /** An access change, graded by what it grants: admin rights are critical, a viewer role medium. */
  private grant(args: readonly string[], ev: string): void {
    const strength = grantStrength(args.join(' '));
    this.ctx.out.add(
      strength === 'admin' ? 'iam_admin_grant' : strength === 'readonly' ? 'iam_readonly' : 'iam_change',
      ev,
    );
  }

  private remove(
    name: string,
    args: string[],
    ev: string,
    fromStdin: boolean,
    upstream: readonly ShellCommand[],
  ): void {
    const { out } = this.ctx;
    const flags = shortFlags(args);
    const ps = name === 'remove-item' || name === 'ri';
    const recursive =
      flags.has('r') ||
      flags.has('R') ||
      hasLong(args, '--recursive') ||
      (ps && args.some((a) => /^-r(?:ecurse)?$/i.test(a))) ||
      ((name === 'rd' || name === 'rmdir' || name === 'del' || name === 'erase') &&
        args.some((a) => /^\/s$/i.test(a)));
    const targets = operands(args)
      .filter((t) => !/^\/[sqfaSQFA]$/.test(t) && !/^-\w+$/.test(t))
      .map((t) => this.inCwd(t));
    if (targets.some(isRootLike) && (recursive || targets.some((t) => /\*/.test(t)))) {
      out.add('recursive_delete_root', ev);
      return;
    }
    if (targets.some((t) => protectedPathKind(t) !== undefined)) {
      out.add('protected_data_delete', ev);
      return;
    }
    if (fromStdin) {
      // `ls / | xargs rm -rf`, `find / -type f | xargs rm`: the names come from a listing of the root.
      const listsRoot = upstream.some((c) => {
        const words = c.words.map((w) => this.resolve(w).text);
        const program = basename(words[0] ?? '');
        if (!/^(?:ls|find|fd|du|echo|printf|tree|locate|git)$/.test(program)) return false;
        const listed = words.slice(1).filter((a) => !a.startsWith('-'));
        return listed.some((a) => isRootLike(a) || protectedPathKind(a) !== undefined);
      });
      out.add(listsRoot ? 'recursive_delete_root' : 'destructive_delete', ev);
      return;
    }
    if (targets.length > 0 && targets.every((t) => isBuildArtifact(t))) {
      out.add('build_artifacts_delete', ev);
      return;
    }
    if (name === 'rmdir' && !recursive) {
      out.add('delete_files', ev);
      return;
    }
    const wholeDirectory = targets.some(
      (t) => /^(?:\.?\/?\*|\.|\.\/|\.\.|\.\.\/|\.\*|~\/.+)$/.test(t) || /(?:^|\/)\*$/.test(t),
    );
    if (recursive || wholeDirectory || targets.length > 20) out.add('destructive_delete', ev);
    else out.add('delete_files', ev);
  }

  private git(args: string[], ev: string): void {
    const { out, env } = this.ctx;
    let i = 0;
    while (i < args.length && args[i]!.startsWith('-'))
      i += /^-[Cc]$|^--(?:git-dir|work-tree|namespace)$/.test(args[i]!) ? 2 : 1;
    const sub = args[i];
    const rest = args.slice(i + 1);
    const flags = shortFlags(rest);
    switch (sub) {
      case 'push': {
        const force =
          flags.has('f') ||
          hasLong(rest, '--force', '--force-with-lease', '--force-if-includes') ||
          rest.includes('--mirror');
        const del = flags.has('d') || hasLong(rest, '--delete');
        const positional = operands(
          rest.filter(
            (a, k) =>
              !(
                /^(?:-o|--push-option|--repo|--receive-pack|--exec)$/.test(a) ||
                /^(?:-o|--push-option|--repo)$/.test(rest[k - 1] ?? '')
              ),
          ),
        );
        const refspecs = positional.slice(1);
        const branches: Array<{ branch: string | undefined; force: boolean; del: boolean }> = refspecs.map(
          (spec) => {
            const plus = spec.startsWith('+');
            const body = plus ? spec.slice(1) : spec;
            const colon = body.indexOf(':');
            const dst = (colon === -1 ? body : body.slice(colon + 1)).replace(/^refs\/heads\//, '');
            return {
              branch: dst === 'HEAD' || dst === '' ? env.currentBranch : dst,
              force: force || plus,
              del: del || colon === 0,
            };
          },
        );
        if (rest.includes('--mirror') || hasLong(rest, '--all'))
          branches.push({ branch: undefined, force, del: false });
        if (branches.length === 0) branches.push({ branch: env.currentBranch, force, del });
        for (const b of branches) {
          // An unknown branch might be protected: assume it is.
          const isProtected = b.branch === undefined || env.isProtectedBranch(b.branch);
          if (b.del) out.add(isProtected ? 'protected_branch_delete' : 'delete_files', ev);
          else if (b.force) out.add(isProtected ? 'force_push_protected_branch' : 'force_push', ev);
          else if (b.branch !== undefined && env.isProtectedBranch(b.branch))
            out.add('push_protected_branch', ev);
        }
        return;
      }
      case 'reset':
        if (rest.includes('--hard') || rest.includes('--merge') || rest.includes('--keep'))
          out.add('discard_local_changes', ev);
        return;
      case 'clean':
        if (flags.has('f') || hasLong(rest, '--force')) out.add('discard_local_changes', ev);
        return;
      case 'checkout':
      case 'restore':
        if (
          rest.includes('.') ||
          (rest.includes('--') && rest[rest.indexOf('--') + 1] === '.') ||
          flags.has('f') ||
          hasLong(rest, '--force')
        ) {
          if (sub === 'restore' || rest.includes('.') || flags.has('f')) out.add('discard_local_changes', ev);
        }
        return;
      case 'stash':
        if (rest[0] === 'drop' || rest[0] === 'clear') out.add('discard_local_changes', ev);
        return;
      case 'branch':
        if (flags.has('D') || (flags.has('d') && flags.has('f'))) out.add('discard_local_changes', ev);
        return;
      case 'filter-branch':
      case 'filter-repo':
        out.add('history_rewrite', ev);
        return;
      case 'update-ref':
        if (flags.has('d')) out.add('discard_local_changes', ev);
        return;
      default:
        return;
    }
  }

  private afterSshOptions(args: string[]): string[] {
    let i = 0;
    while (i < args.length && args[i]!.startsWith('-')) {
      i += /^-[bcDEeFIiJLlmOopQRSWw]$/.test(args[i]!) ? 2 : 1;
    }
    return args.slice(i);
  }

  private kubectl(args: string[], ev: string, words: Resolved[]): void {
    const { out } = this.ctx;
    const positional: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '--') break;
      if (
        /^(?:-n|--namespace|--context|--cluster|-l|--selector|-f|--filename|-o|--output|-c|--container|--kubeconfig|--type|--from-literal|--from-file)$/.test(
          a,
        )
      ) {
        i++;
        continue;
      }
      if (!a.startsWith('-')) positional.push(a);
    }
    const verb = positional[0];
    const kind = (positional[1] ?? '').toLowerCase();
    if (verb === 'delete') {
      out.add('infra_destroy', ev);
      if (
        /^(?:secrets?|roles?|rolebindings?|clusterroles?|clusterrolebindings?|serviceaccounts?|sa)$/.test(
          kind,
        )
      )
        this.grant(args, ev);
    } else if (verb === 'drain' || verb === 'cordon') out.add('infra_change', ev);
    else if (verb === 'scale' && desiredZero(args, '--replicas')) out.add('scale_to_zero', ev);
    else if (
      verb === 'create' &&
      /^(?:secret|role|rolebinding|clusterrole|clusterrolebinding|serviceaccount|sa|token)$/.test(kind)
    )
      this.grant(args, ev);
    else if (verb === 'auth' || (verb === 'certificate' && positional[1] === 'approve')) this.grant(args, ev);
    else if (
      verb === 'apply' ||
      verb === 'create' ||
      verb === 'replace' ||
      verb === 'patch' ||
      verb === 'edit' ||
      verb === 'scale' ||
      verb === 'set' ||
      verb === 'annotate' ||
      verb === 'label' ||
      verb === 'taint'
    )
      out.add('infra_change', ev);
    else if (verb === 'rollout' && /^(?:restart|undo|resume)$/.test(positional[1] ?? ''))
      out.add('deploy', ev);
    else if (verb === 'exec' || verb === 'debug') {
      const dd = words.findIndex((w) => w.text === '--');
      if (dd !== -1)
        this.child().analyseScript(
          words
            .slice(dd + 1)
            .map((w) => w.text)
            .join(' '),
        );
    }
  }

  private aws(args: string[], ev: string): void {
    const { out } = this.ctx;
    const positional = args.filter((a, i) => !a.startsWith('-') && !/^--/.test(args[i - 1] ?? ''));
    const [service = '', op = ''] = positional;
    if (service === 's3') {
      if (op === 'rb' && args.includes('--force')) out.add('repository_delete', ev);
      else if (
        op === 'rb' ||
        (op === 'rm' && args.includes('--recursive')) ||
        (op === 'sync' && args.includes('--delete'))
      )
        out.add('destructive_delete', ev);
      else if (op === 'rm') out.add('delete_files', ev);
      return;
    }
    if (
      (service === 'organizations' &&
        /^(?:close-account|delete-organization|remove-account-from-organization)$/.test(op)) ||
      (service === 's3api' && op === 'delete-bucket') ||
      (service === 'codecommit' && op === 'delete-repository') ||
      (service === 'ecr' && op === 'delete-repository' && args.includes('--force'))
    ) {
      out.add('repository_delete', ev);
      return;
    }
    if (service === 'ecs' && op === 'update-service' && desiredZero(args, '--desired-count')) {
      out.add('scale_to_zero', ev);
      return;
    }
    if (
      service === 'autoscaling' &&
      /^(?:set-desired-capacity|update-auto-scaling-group)$/.test(op) &&
      (desiredZero(args, '--desired-capacity') || desiredZero(args, '--max-size'))
    ) {
      out.add('scale_to_zero', ev);
      return;
    }
    if (
      /^(?:iam|sso-admin|identitystore|organizations|sts)$/.test(service) &&
      !/^(?:get|list|describe|simulate|generate-credential-report|get-caller-identity|assume-role)/.test(op)
    ) {
      this.grant(args, ev);
      return;
    }
    if (service === 'secretsmanager' || service === 'kms' || service === 'ssm') {
      if (/^(?:schedule-key-deletion|delete-)/.test(op)) out.add('infra_destroy', ev);
      else if (/^(?:put-|create-|update-|rotate-|restore-|put-parameter)/.test(op)) this.grant(args, ev);
      return;
    }
    if (/^(?:delete-|terminate-|remove-|deregister-|purge-|batch-delete-|drop-)/.test(op)) {
      out.add(
        service === 'rds' && /^delete-db-(?:instance|cluster)$/.test(op) ? 'drop_database' : 'infra_destroy',
        ev,
      );
    } else if (
      /^(?:create-|put-|update-|modify-|attach-|detach-|run-|start-|stop-|reboot-|restore-|associate-|disassociate-|authorize-|revoke-|set-|tag-|untag-|register-|enable-|disable-|deploy|apply-|add-|replace-|reset-)/.test(
        op,
      )
    ) {
      out.add(
        /policy|role|permission|authorize-security-group|revoke-security-group/.test(op)
          ? 'iam_change'
          : 'infra_change',
        ev,
      );
    }
    if (service === 'lambda' && op === 'update-function-code') out.add('deploy', ev);
  }

  private gcloud(args: string[], ev: string): void {
    const { out } = this.ctx;
    const positional = args.filter((a) => !a.startsWith('-'));
    const text = positional.join(' ');
    if (
      /\b(?:add-iam-policy-binding|remove-iam-policy-binding|set-iam-policy)\b/.test(text) ||
      (positional[0] === 'iam' && !/\b(?:list|describe|get)\b/.test(text))
    ) {
      this.grant(args, ev);
    } else if (/^sql instances delete\b|^sql databases delete\b|^spanner databases delete\b/.test(text))
      out.add('drop_database', ev);
    else if (
      /^projects delete\b|^source repos delete\b|^storage buckets delete\b|^storage rm\b.*--recursive|^artifacts repositories delete\b|^resource-manager folders delete\b/.test(
        text + (args.some((a) => a === '--recursive' || a === '-r') ? ' --recursive' : ''),
      )
    )
      out.add('repository_delete', ev);
    else if (/\bdelete\b/.test(text)) out.add('infra_destroy', ev);
    else if (/\bdeploy\b/.test(text)) out.add('deploy', ev);
    else if (/\b(?:create|update|patch|set|resize|start|stop|reset|import)\b/.test(text))
      out.add('infra_change', ev);
  }

  private az(args: string[], ev: string): void {
    const { out } = this.ctx;
    const text = args.filter((a) => !a.startsWith('-')).join(' ');
    if (/^(?:role|ad)\b/.test(text) && /\b(?:create|delete|update|add|remove|reset)\b/.test(text))
      this.grant(args, ev);
    else if (/^keyvault (?:secret|key|certificate) (?:set|delete|purge|import)\b/.test(text))
      this.grant(args, ev);
    else if (
      /^(?:sql|cosmosdb|postgres|mysql)\b.*\bdelete\b/.test(text) &&
      /\b(?:db|database|server|flexible-server)\b/.test(text)
    )
      out.add('drop_database', ev);
    else if (/\bdelete\b/.test(text)) out.add('infra_destroy', ev);
    else if (/\bdeploy\b|\bdeployment\b/.test(text)) out.add('deploy', ev);
    else if (/\b(?:create|update|set|start|stop|restart|scale)\b/.test(text)) out.add('infra_change', ev);
  }

  private docker(args: string[], ev: string, words: Resolved[], cmd: ShellCommand): void {
    const { out } = this.ctx;
    const positional = args.filter(
      (a, i) => !a.startsWith('-') && !/^(?:-H|--host|--context|-c|--config)$/.test(args[i - 1] ?? ''),
    );
    const [verb = '', sub = ''] = positional;
    if (
      verb === 'system' &&
      sub === 'prune' &&
      (args.includes('-a') || args.includes('--all') || args.includes('--volumes'))
    )
      out.add('destructive_delete', ev);
    else if (verb === 'volume' && (sub === 'rm' || sub === 'prune' || sub === 'remove'))
      out.add('destructive_delete', ev);
    else if (
      verb === 'push' ||
      (verb === 'image' && sub === 'push') ||
      (verb === 'buildx' && args.includes('--push'))
    )
      out.add('package_publish', ev);
    else if (verb === 'run' || verb === 'create') {
      if (
        args.includes('--privileged') ||
        args.some((a, i) => (a === '-v' || a === '--volume') && /^\/:/.test(args[i + 1] ?? '')) ||
        args.some((a) => /^--(?:pid|network|net)=host$/.test(a))
      ) {
        out.add('privileged_command', ev);
      }
    } else if (verb === 'exec') {
      let i = 0;
      const rest = words.slice(1);
      while (i < rest.length && rest[i]!.text !== 'exec') i++;
      i++;
      while (i < rest.length && rest[i]!.text.startsWith('-'))
        i += /^(?:-e|--env|-u|--user|-w|--workdir|--env-file)$/.test(rest[i]!.text) ? 2 : 1;
      const inner = rest.slice(i + 1);
      if (inner.length > 0) this.analyseWords(inner, cmd, [], false);
    } else if (verb === 'compose' && sub === 'down' && (args.includes('-v') || args.includes('--volumes')))
      out.add('destructive_delete', ev);
  }

  private sqlClient(name: string, args: string[], cmd: ShellCommand, ev: string): void {
    const { out } = this.ctx;
    let sql: string | undefined;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (
        a === '-c' ||
        a === '--command' ||
        a === '-e' ||
        a === '--execute' ||
        a === '-q' ||
        a === '-Q' ||
        a === '--query'
      )
        sql = (sql ?? '') + ';' + (args[i + 1] ?? '');
      else if (/^--(?:command|execute|query)=/.test(a)) sql = (sql ?? '') + ';' + a.slice(a.indexOf('=') + 1);
      else if (/^-e./.test(a) && name !== 'psql') sql = (sql ?? '') + ';' + a.slice(2);
    }
    if (name === 'sqlite3' || name === 'duckdb') {
      const pos = operands(args);
      if (pos.length >= 2) sql = pos.slice(1).join(';');
    }
    const body = cmd.redirects.find((r) => r.body !== undefined)?.body;
    if (body !== undefined) sql = (sql ?? '') + ';' + body;
    if (sql === undefined) return;
    for (const f of analyseSql(sql)) out.add(f.reason, `${name}: ${f.statement}`);
    void ev;
  }

  private analyseInterpreterCode(code: string): void {
    const { out } = this.ctx;
    if (/\bshutil\.rmtree\s*\(\s*['"](?:\/|~|\/home|\/etc|\/usr|\/var)['"]/.test(code))
      out.add('recursive_delete_root', evidenceOf([code]));
    else if (
      /\bshutil\.rmtree\b|\bfs\.rm(?:Sync)?\s*\([^)]*recursive\s*:\s*true|\bFileUtils\.rm_r[f]?\b|\brmtree\b/.test(
        code,
      )
    )
      out.add('destructive_delete', evidenceOf([code]));
    if (
      /\b(?:b64decode|atob|Buffer\.from\([^)]*base64|decode\(['"]base64)\b/.test(code) &&
      /\b(?:exec|eval|system|popen|spawn|execSync|subprocess)\b/.test(code)
    ) {
      out.add('obfuscated_command', evidenceOf([code]));
    }
    if (
      /\b(?:urlopen|requests\.get|fetch|http\.get|open-uri|LWP::Simple)\b/.test(code) &&
      /\b(?:exec|eval)\s*\(/.test(code)
    )
      out.add('remote_code_pipe', evidenceOf([code]));
    if (
      /\b(?:os\.system|subprocess\.\w+|os\.popen|exec(?:Sync)?|spawn(?:Sync)?|system|`|%x|Popen)\b/.test(
        code,
      ) ||
      /`[^`]+`/.test(code)
    ) {
      for (const m of code.matchAll(/(["'`])((?:(?!\1)[^\\\n]|\\.){2,2000})\1/g))
        this.child().analyseScript(m[2]!);
    }
  }
}

export function analyseShell(script: string, env: ShellEnvironment, out: ShellFindingSink): void {
  new ShellAnalyser({
    env,
    out,
    depth: 0,
    budget: { chars: script.length * 4 + 65_536 },
    vars: new Map(),
  }).analyseScript(script);
}
