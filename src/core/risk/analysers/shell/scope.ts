/**
 * What a per-tool reader is handed: one resolved command (`ShellCall`) and the walker it runs in
 * (`ShellScope`: where findings go, the environment, and how to read nested code). Readers are
 * plain functions over these two, so they need neither the walker's class nor its state.
 */
import { grantStrength } from '../iam.js';
import type { RiskLevel } from '../../levels.js';
import type { ReasonCode } from '../../reasons.js';
import type { ShellCommand, ShellWord } from './lexer.js';

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

/** A word with its variables and static substitutions filled in. */
export interface Resolved {
  readonly text: string;
  /** Part of the word is only known at run time. */
  readonly dynamic: boolean;
  /** Part of the word came from decoding (base64, hex, printf escapes). */
  readonly decoded: boolean;
}

/** One command as a reader sees it, after the walker stripped its wrappers (sudo, env, xargs…). */
export interface ShellCall {
  /** The program, lower-cased, without directory or `.exe`. */
  readonly name: string;
  /** The arguments after the program, resolved. */
  readonly args: string[];
  /** The short flags among `args` (`-rf` gives r and f). */
  readonly flags: Set<string>;
  /** What a finding quotes: the program and its arguments. */
  readonly ev: string;
  /** The program and its arguments as resolved words. */
  readonly words: readonly Resolved[];
  /** The parsed command (its raw words, redirects and here-documents). */
  readonly cmd: ShellCommand;
  /** The commands piped into this one. */
  readonly upstream: readonly ShellCommand[];
  /** The arguments come from stdin too (`… | xargs rm`). */
  readonly fromStdin: boolean;
}

/** The walker, as seen by a reader. */
export interface ShellScope {
  readonly out: ShellFindingSink;
  readonly env: ShellEnvironment;
  /** Reads a script run by this command (`ssh host cmd`, `kubectl exec -- cmd`, code in a string). */
  nested(script: string): void;
  /** Reads a command given as words, in this scope (`docker exec c rm -rf /`). */
  analyseWords(words: readonly Resolved[], cmd: ShellCommand): void;
  /** A relative path against the working directory after a literal `cd`, when known. */
  inCwd(path: string): string;
  /** A word's text with its variables and static substitutions filled in. */
  resolve(word: ShellWord): string;
}

/** Reads one program's command line and reports what it does. */
export type ShellReader = (call: ShellCall, scope: ShellScope) => void;

/** Which reader reads which programs (by lower-cased name). */
export type ShellReaders = ReadonlyArray<readonly [names: readonly string[], reader: ShellReader]>;

/** An access change, graded by what it grants: admin rights are critical, a viewer role medium. */
export function grant(out: ShellFindingSink, args: readonly string[], ev: string): void {
  const strength = grantStrength(args.join(' '));
  out.add(
    strength === 'admin' ? 'iam_admin_grant' : strength === 'readonly' ? 'iam_readonly' : 'iam_change',
    ev,
  );
}
