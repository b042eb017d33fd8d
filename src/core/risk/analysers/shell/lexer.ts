/**
 * A POSIX-shell lexer and light parser, good enough to see what a command line really runs:
 * quoting (`r''m`, `"r"m`, `\rm`, `$'\x72m'`), separators (`;`, `&&`, `||`, `&`, newlines), pipes,
 * subshells, command and process substitution (`$(…)`, backticks, `<(…)`), variables, redirections
 * and here-documents. It never executes anything. Linear in the input per nesting level; nested
 * scripts (substitutions) are returned as text for the analyser to parse, depth-limited there.
 */

export type WordPart =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'variable'; readonly name: string }
  | { readonly kind: 'substitution'; readonly script: string }
  | { readonly kind: 'process-substitution'; readonly script: string }
  | { readonly kind: 'arithmetic' };

export interface ShellWord {
  readonly parts: readonly WordPart[];
}

export interface ShellRedirect {
  /** `>`, `>>`, `<`, `<<`, `<<<`, `&>`, `>&`, … */
  readonly op: string;
  readonly target?: ShellWord;
  /** The body of a here-document (`<<`) or the word of a here-string (`<<<`). */
  readonly body?: string;
}

export interface ShellCommand {
  readonly words: ShellWord[];
  readonly assignments: Array<{ readonly name: string; readonly value: ShellWord }>;
  readonly redirects: ShellRedirect[];
  /** Commands joined by `|` share a pipeline number; `position` is their order in it. */
  readonly pipeline: number;
  readonly position: number;
}

const META = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);

export function wordText(word: ShellWord): string {
  return word.parts
    .map((p) => (p.kind === 'literal' ? p.text : p.kind === 'variable' ? `$${p.name}` : '$(…)'))
    .join('');
}

/** Index of the `)` closing the `(` at `open`, aware of quotes and nesting; -1 if none. */
function closingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end === -1) return -1;
      i = end;
    } else if (c === '"') {
      i = closingDoubleQuote(s, i);
      if (i === -1) return -1;
    } else if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function closingDoubleQuote(s: string, open: number): number {
  for (let i = open + 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

function closingBacktick(s: string, open: number): number {
  for (let i = open + 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '`') return i;
  }
  return -1;
}

/** Decodes the body of an ANSI-C `$'…'` string. */
function decodeAnsiC(body: string): string {
  return body.replace(
    /\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|.)/g,
    (_, esc: string) => {
      const head = esc[0]!;
      if (head === 'x' || head === 'u' || head === 'U')
        return String.fromCodePoint(parseInt(esc.slice(1), 16) || 0);
      if (/[0-7]/.test(head)) return String.fromCharCode(parseInt(esc, 8));
      const simple: Record<string, string> = {
        n: '\n',
        t: '\t',
        r: '\r',
        a: '\x07',
        b: '\b',
        e: '\x1b',
        f: '\f',
        v: '\v',
      };
      return simple[head] ?? head;
    },
  );
}

class Lexer {
  private i = 0;
  readonly commands: ShellCommand[] = [];
  private words: ShellWord[] = [];
  private assignments: Array<{ name: string; value: ShellWord }> = [];
  private redirects: ShellRedirect[] = [];
  private pendingHeredocs: Array<{
    delimiter: string;
    stripTabs: boolean;
    index: number;
    redirects: ShellRedirect[];
  }> = [];
  private pipeline = 0;
  private position = 0;

  constructor(private readonly s: string) {}

  run(): ShellCommand[] {
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (c === ' ' || c === '\t' || c === '\r') {
        this.i++;
      } else if (c === '\\' && s[this.i + 1] === '\n') {
        this.i += 2;
      } else if (c === '#') {
        const eol = s.indexOf('\n', this.i);
        this.i = eol === -1 ? s.length : eol;
      } else if (c === '\n') {
        this.endCommand(true);
        this.i++;
        this.readHeredocBodies();
      } else if (c === ';' || c === '&' || c === '|' || c === '(' || c === ')') {
        this.operator();
      } else if (this.atRedirect()) {
        this.redirect();
      } else {
        this.wordOrAssignment();
      }
    }
    this.endCommand(true);
    return this.commands;
  }

  private operator(): void {
    const s = this.s;
    const c = s[this.i]!;
    const two = s.slice(this.i, this.i + 2);
    if (two === '&>') return this.redirect();
    if (c === '|' && two !== '||') {
      this.i += two === '|&' ? 2 : 1;
      this.endCommand(false);
      return;
    }
    this.i += two === '&&' || two === '||' || two === ';;' ? 2 : 1;
    this.endCommand(true);
  }

  private endCommand(newPipeline: boolean): void {
    if (this.words.length > 0 || this.assignments.length > 0 || this.redirects.length > 0) {
      this.commands.push({
        words: this.words,
        assignments: this.assignments,
        redirects: this.redirects,
        pipeline: this.pipeline,
        position: this.position,
      });
      this.position++;
    }
    this.words = [];
    this.assignments = [];
    this.redirects = [];
    if (newPipeline) {
      this.pipeline++;
      this.position = 0;
    }
  }

  private atRedirect(): boolean {
    const rest = this.s.slice(this.i, this.i + 12);
    if (/^(?:<\(|>\()/.test(rest)) return false; // process substitution is a word
    return (
      /^(?:\d{1,2})?(?:>>|>\||>&|<<<|<<-|<<|<>|<&|>|<)/.test(rest) &&
      (rest[0] === '<' || rest[0] === '>' || /^\d{1,2}[<>]/.test(rest))
    );
  }

  private redirect(): void {
    const m = /^(?:\d{1,2})?(&>>|&>|>>|>\||>&|<<<|<<-|<<|<>|<&|>|<)/.exec(this.s.slice(this.i, this.i + 12))!;
    const op = m[1]!;
    this.i += m[0].length;
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
    const target = this.readWord();
    if (op === '<<' || op === '<<-') {
      const redirect: ShellRedirect = { op, target };
      this.redirects.push(redirect);
      this.pendingHeredocs.push({
        delimiter: wordText(target),
        stripTabs: op === '<<-',
        index: this.redirects.length - 1,
        redirects: this.redirects,
      });
    } else if (op === '<<<') {
      this.redirects.push({ op, target, body: wordText(target) });
    } else {
      this.redirects.push({ op, target });
    }
  }

  private readHeredocBodies(): void {
    const s = this.s;
    for (const pending of this.pendingHeredocs) {
      const lines: string[] = [];
      while (this.i < s.length) {
        let eol = s.indexOf('\n', this.i);
        if (eol === -1) eol = s.length;
        let line = s.slice(this.i, eol);
        this.i = eol + 1;
        if (pending.stripTabs) line = line.replace(/^\t+/, '');
        if (line.replace(/\r$/, '') === pending.delimiter) break;
        lines.push(line);
      }
      const old = pending.redirects[pending.index]!;
      pending.redirects[pending.index] = { ...old, body: lines.join('\n') };
    }
    this.pendingHeredocs = [];
  }

  private wordOrAssignment(): void {
    const start = this.i;
    const word = this.readWord();
    if (this.i === start) {
      this.i++; // unreachable in practice; guarantees progress
      return;
    }
    const first = word.parts[0];
    if (this.words.length === 0 && first?.kind === 'literal') {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)\+?=/.exec(first.text);
      if (m !== null) {
        const rest = first.text.slice(m[0].length);
        this.assignments.push({
          name: m[1]!,
          value: {
            parts: [...(rest ? [{ kind: 'literal' as const, text: rest }] : []), ...word.parts.slice(1)],
          },
        });
        return;
      }
    }
    this.words.push(word);
  }

  /** Reads one word (quotes, escapes, expansions) up to an unquoted metacharacter. */
  private readWord(): ShellWord {
    const s = this.s;
    const parts: WordPart[] = [];
    let literal = '';
    const flush = (): void => {
      if (literal) parts.push({ kind: 'literal', text: literal });
      literal = '';
    };
    while (this.i < s.length) {
      const c = s[this.i]!;
      if ((c === '<' || c === '>') && s[this.i + 1] === '(' && literal === '' && parts.length === 0) {
        const end = closingParen(s, this.i + 1);
        if (end === -1) {
          this.i = s.length;
          break;
        }
        flush();
        parts.push({ kind: 'process-substitution', script: s.slice(this.i + 2, end) });
        this.i = end + 1;
        continue;
      }
      if (META.has(c)) break;
      if (c === '\\') {
        const next = s[this.i + 1];
        if (next === '\n') this.i += 2;
        else {
          literal += next ?? '';
          this.i += 2;
        }
      } else if (c === "'") {
        const end = s.indexOf("'", this.i + 1);
        const stop = end === -1 ? s.length : end;
        literal += s.slice(this.i + 1, stop);
        this.i = stop + 1;
      } else if (c === '"') {
        flush();
        this.readDoubleQuoted(parts);
      } else if (c === '`') {
        const end = closingBacktick(s, this.i);
        const stop = end === -1 ? s.length : end;
        flush();
        parts.push({ kind: 'substitution', script: s.slice(this.i + 1, stop).replace(/\\([`$\\])/g, '$1') });
        this.i = stop + 1;
      } else if (c === '$') {
        if (s[this.i + 1] === "'") {
          let j = this.i + 2;
          while (j < s.length && s[j] !== "'") j += s[j] === '\\' ? 2 : 1;
          literal += decodeAnsiC(s.slice(this.i + 2, Math.min(j, s.length)));
          this.i = j + 1;
        } else if (s[this.i + 1] === '"') {
          this.i++;
          flush();
          this.readDoubleQuoted(parts);
        } else {
          flush();
          this.readDollar(parts);
        }
      } else {
        literal += c;
        this.i++;
      }
    }
    flush();
    return { parts };
  }

  private readDoubleQuoted(parts: WordPart[]): void {
    const s = this.s;
    this.i++; // opening quote
    let literal = '';
    const flush = (): void => {
      if (literal) parts.push({ kind: 'literal', text: literal });
      literal = '';
    };
    while (this.i < s.length && s[this.i] !== '"') {
      const c = s[this.i]!;
      if (c === '\\') {
        const next = s[this.i + 1] ?? '';
        if ('$`"\\'.includes(next)) literal += next;
        else if (next !== '\n') literal += `\\${next}`;
        this.i += 2;
      } else if (c === '$') {
        flush();
        this.readDollar(parts);
      } else if (c === '`') {
        const end = closingBacktick(s, this.i);
        const stop = end === -1 ? s.length : end;
        flush();
        parts.push({ kind: 'substitution', script: s.slice(this.i + 1, stop).replace(/\\([`$\\"])/g, '$1') });
        this.i = stop + 1;
      } else {
        literal += c;
        this.i++;
      }
    }
    this.i++; // closing quote
    flush();
  }

  /** `$(…)`, `$((…))`, `${…}`, `$NAME`, `$1`, `$@`; a lone `$` is literal. */
  private readDollar(parts: WordPart[]): void {
    const s = this.s;
    const next = s[this.i + 1];
    if (next === '(') {
      const end = closingParen(s, this.i + 1);
      const stop = end === -1 ? s.length : end;
      if (s[this.i + 2] === '(') parts.push({ kind: 'arithmetic' });
      else parts.push({ kind: 'substitution', script: s.slice(this.i + 2, stop) });
      this.i = stop + 1;
    } else if (next === '{') {
      const end = s.indexOf('}', this.i + 2);
      const stop = end === -1 ? s.length : end;
      const inner = s.slice(this.i + 2, stop);
      const name = /^[#!]?([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])/.exec(inner)?.[1] ?? inner;
      parts.push({ kind: 'variable', name });
      this.i = stop + 1;
    } else {
      const m = /^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]|[@*#?$!-])/.exec(s.slice(this.i + 1, this.i + 65));
      if (m === null) {
        parts.push({ kind: 'literal', text: '$' });
        this.i++;
      } else {
        parts.push({ kind: 'variable', name: m[0] });
        this.i += 1 + m[0].length;
      }
    }
  }
}

export function parseShell(script: string): ShellCommand[] {
  return new Lexer(script).run();
}
