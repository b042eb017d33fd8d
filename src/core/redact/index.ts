/**
 * The secret redactor: pure, deterministic, linear-time.
 *
 * `redact(text)` replaces every secret with `[REDACTED:<type>]` and reports where each one was in the
 * input. Rules: prefix-anchored token formats (with checksums where the format has one),
 * structural rules (PEM blocks, URL credentials, Authorization headers, CLI flags, Kubernetes
 * Secrets) and key-name rules (secret-named assignments, high-entropy values under weaker names).
 */
import { scanAssignments } from './assignment-scanner.js';
import { scanKubernetesSecrets } from './kubernetes-secret-scanner.js';
import { PATTERN_RULES, type PatternRule } from './pattern-rules.js';
import { scanPrivateKeyBlocks } from './pem-scanner.js';
import type { RedactionFinding, SecretType } from './secret-types.js';

export { SECRET_TYPES } from './secret-types.js';
export type { RedactionFinding, SecretType } from './secret-types.js';

export interface RedactionResult {
  /** The input with each secret replaced by `[REDACTED:<type>]`. */
  readonly text: string;
  /** Secrets found, in input order, non-overlapping; offsets refer to the input text. */
  readonly findings: readonly RedactionFinding[];
}

interface Candidate extends RedactionFinding {
  readonly priority: number;
}

export function redactionMarker(type: SecretType): string {
  return `[REDACTED:${type}]`;
}

function runPattern(rule: PatternRule, text: string, offset: number, out: Candidate[]): void {
  const pattern = new RegExp(rule.pattern.source, rule.pattern.flags);
  const group = rule.group ?? 0;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) {
    const secret = match[group];
    const span = match.indices?.[group];
    if (secret === undefined || span === undefined || secret.length === 0) continue;
    if (rule.validate !== undefined && !rule.validate(secret)) continue;
    out.push({ type: rule.type, start: offset + span[0], end: offset + span[1], priority: rule.priority });
  }
}

/** Runs the rule on the rest of each line that holds its command word (each line at most once). */
function runAfterCommand(rule: PatternRule, command: RegExp, text: string, out: Candidate[]): void {
  const commands = new RegExp(command.source, 'g');
  let match: RegExpExecArray | null;
  while ((match = commands.exec(text)) !== null) {
    let lineEnd = text.indexOf('\n', match.index);
    if (lineEnd === -1) lineEnd = text.length;
    runPattern(rule, text.slice(match.index, lineEnd), match.index, out);
    commands.lastIndex = lineEnd;
  }
}

function collectCandidates(text: string): Candidate[] {
  const out: Candidate[] = [];
  for (const rule of PATTERN_RULES) {
    if (rule.afterCommand !== undefined) runAfterCommand(rule, rule.afterCommand, text, out);
    else runPattern(rule, text, 0, out);
  }
  for (const f of scanPrivateKeyBlocks(text)) out.push({ ...f, priority: 4 });
  for (const f of scanKubernetesSecrets(text)) out.push({ ...f, priority: 2 });
  for (const f of scanAssignments(text)) out.push({ ...f, priority: 1 });
  return out;
}

/** Merges overlapping candidates into one finding spanning both, typed by the highest priority. */
function mergeCandidates(candidates: Candidate[]): RedactionFinding[] {
  candidates.sort((a, b) => a.start - b.start || b.end - a.end || b.priority - a.priority);
  const merged: RedactionFinding[] = [];
  let current: Candidate | undefined;
  for (const c of candidates) {
    if (current !== undefined && c.start < current.end) {
      const better = c.priority > current.priority;
      current = {
        type: better ? c.type : current.type,
        priority: Math.max(c.priority, current.priority),
        start: current.start,
        end: Math.max(current.end, c.end),
      };
      continue;
    }
    if (current !== undefined) merged.push({ type: current.type, start: current.start, end: current.end });
    current = c;
  }
  if (current !== undefined) merged.push({ type: current.type, start: current.start, end: current.end });
  return merged;
}

export function redact(text: string): RedactionResult {
  const findings = mergeCandidates(collectCandidates(text));
  if (findings.length === 0) return { text, findings };
  const parts: string[] = [];
  let pos = 0;
  for (const f of findings) {
    parts.push(text.slice(pos, f.start), redactionMarker(f.type));
    pos = f.end;
  }
  parts.push(text.slice(pos));
  return { text: parts.join(''), findings };
}

/** True when the text holds at least one secret. */
export function containsSecret(text: string): boolean {
  return redact(text).findings.length > 0;
}
