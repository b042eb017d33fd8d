/**
 * Claude Code `PreToolUse` hooks, the pure part (docs/integrations.md): validate the hook input, map
 * the tool call to a handoff (Bash -> shell.exec with the command, Write/Edit/MultiEdit -> file.write
 * with a unified diff, anything else -> other), fingerprint it so that the same call retried later
 * finds its handoff, and render the hook's JSON answer. No I/O, no clock.
 *
 * The shapes follow the Claude Code hooks reference: the input carries `session_id`, `cwd`,
 * `hook_event_name`, `tool_name`, `tool_input`, `tool_use_id` (and more fields, ignored here); the
 * answer is `{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision":
 * "allow" | "deny" | "ask", "permissionDecisionReason": "…"}}`.
 */
import { isRejectionReason, REJECTION_REASON_TEXT, type RejectionReason } from '../approval/rejection.js';
import { createHash } from 'node:crypto';
import { canonicalize } from '../audit-chain/entry.js';
import type { RiskInput } from '../risk/types.js';
import { diffSide, opDiff, opHeader, opLabel, parseApplyPatch, type PatchOp } from './apply-patch.js';
import {
  HOOK_LIMITS,
  hookAnswer,
  oneLine,
  type HookAnswer,
  type OnPending,
  type PreToolUseInput,
} from './claude-code-io.js';

export * from './claude-code-io.js';

/**
 * What identifies "the same action" across retries: SHA-256 (hex) of the RFC 8785 canonical JSON of
 * {session_id, tool_name, tool_input}. Another session, tool or input is another action.
 */
export function fingerprintOf(input: PreToolUseInput): string {
  const text = canonicalize({
    session_id: input.session_id,
    tool_name: input.tool_name,
    tool_input: input.tool_input,
  });
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Mapping a tool call to a handoff
// ---------------------------------------------------------------------------------------------

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Cuts text to at most `maxBytes` of UTF-8 at a character boundary, with a note of what was left out. */
export function boundUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const note = '\n[ony: cut here; the rest of the tool input is not shown]\n';
  const room = maxBytes - Buffer.byteLength(note, 'utf8');
  let cut = Buffer.from(text, 'utf8').subarray(0, room).toString('utf8');
  // A cut inside a multi-byte character decodes to U+FFFD; drop it.
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut + note;
}

/** A file path as the diff and the approver see it: relative to the session's cwd when inside it. */
export function displayPath(path: string, cwd: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = path.replace(/[\u0000-\u001f\u007f]/g, '?');
  const base = cwd.replace(/\/+$/, '');
  if (base !== '' && clean.startsWith(`${base}/`) && clean.length > base.length + 1) {
    return clean.slice(base.length + 1);
  }
  return clean;
}

function linesOf(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Above this many cells the line diff of one edit falls back to "all removed, all added". */
const LCS_MAX_CELLS = 250_000;

/** The lines of one hunk (` `, `-`, `+` prefixed) turning `before` into `after`. */
function hunkLines(before: readonly string[], after: readonly string[]): string[] {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let endB = before.length;
  let endA = after.length;
  while (endB > start && endA > start && before[endB - 1] === after[endA - 1]) {
    endB--;
    endA--;
  }
  const midB = before.slice(start, endB);
  const midA = after.slice(start, endA);
  const out: string[] = before.slice(0, start).map((l) => ` ${l}`);
  if (midB.length * midA.length > LCS_MAX_CELLS || midB.length === 0 || midA.length === 0) {
    out.push(...midB.map((l) => `-${l}`), ...midA.map((l) => `+${l}`));
  } else {
    // Longest common subsequence, then walk it: the smallest line diff of the changed middle.
    const n = midB.length;
    const m = midA.length;
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * (m + 1) + j] =
          midB[i] === midA[j]
            ? lcs[(i + 1) * (m + 1) + j + 1]! + 1
            : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midB[i] === midA[j]) {
        out.push(` ${midB[i]}`);
        i++;
        j++;
      } else if (i < n && (j === m || lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!)) {
        out.push(`-${midB[i]}`);
        i++;
      } else {
        out.push(`+${midA[j]}`);
        j++;
      }
    }
  }
  out.push(...before.slice(endB).map((l) => ` ${l}`));
  return out;
}

export interface TextEdit {
  readonly oldString: string;
  readonly newString: string;
  readonly replaceAll: boolean;
}

/**
 * A unified diff of one file from what the tool call says: `whole` is the new content of a Write
 * (the old content is not in the hook input, so the diff adds every line), `edits` the
 * old/new strings of an Edit or MultiEdit (one hunk each; the line numbers are not in the hook
 * input either, so each hunk counts from 1 and says which edit it is).
 */
export function unifiedDiff(
  path: string,
  change: { whole: string } | { edits: readonly TextEdit[] },
): string {
  const out = [`--- ${diffSide('a', path)}`, `+++ ${diffSide('b', path)}`];
  if ('whole' in change) {
    const added = linesOf(change.whole);
    if (added.length > 0) out.push(`@@ -0,0 +1,${added.length} @@ whole file`, ...added.map((l) => `+${l}`));
  } else {
    change.edits.forEach((e, k) => {
      const lines = hunkLines(linesOf(e.oldString), linesOf(e.newString));
      const oldCount = lines.filter((l) => !l.startsWith('+')).length;
      const newCount = lines.filter((l) => !l.startsWith('-')).length;
      const label = `edit ${k + 1} of ${change.edits.length}${e.replaceAll ? ', every occurrence' : ''}`;
      out.push(`@@ -1,${oldCount} +1,${newCount} @@ ${label}`, ...lines);
    });
  }
  return `${out.join('\n')}\n`;
}

function editsOf(toolName: string, toolInput: Readonly<Record<string, unknown>>): TextEdit[] | undefined {
  const one = (e: unknown): TextEdit | undefined => {
    if (!isRecord(e)) return undefined;
    const oldString = str(e.old_string);
    const newString = str(e.new_string);
    if (oldString === undefined || newString === undefined) return undefined;
    return { oldString, newString, replaceAll: e.replace_all === true };
  };
  if (toolName === 'Edit') {
    const e = one(toolInput);
    return e && [e];
  }
  const list = toolInput.edits;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const edits = list.map(one);
  return edits.every((e): e is TextEdit => e !== undefined) ? edits : undefined;
}

/** `mcp__github__create_issue` -> `github` / `create_issue`. */
function mcpParts(toolName: string): { server: string; tool: string } | undefined {
  const m = /^mcp__(.+?)__(.+)$/.exec(toolName);
  return m ? { server: m[1]!, tool: m[2]! } : undefined;
}

const FILE_TOOLS = new Set(['Write', 'Edit', 'MultiEdit']);
/** Tools that write a file by their very name (Cursor's StrReplace too). */
const WRITE_TOOLS = new Set([...FILE_TOOLS, 'StrReplace']);

/**
 * The handoff a tool call becomes. Title and summary are what approvers see on their phone (the
 * server redacts them); they never carry the command or the file content, which go in the payload
 * (stored encrypted, never sent to a channel).
 */
/** `agent` is the agent's name as approvers read it (the same hook serves Codex, Cursor, Gemini CLI). */
export function toHandoffInput(input: PreToolUseInput, agent = 'Claude Code'): RiskInput {
  const { tool_name: tool, tool_input: ti, cwd } = input;
  // The project's folder name only: the summary reaches phones and chat, the full path need not.
  const project = cwd.replace(/\/+$/, '').split('/').pop() ?? '';
  const where = project !== '' ? ` in ${oneLine(project, 100)}` : '';
  const cap = (text: string) => oneLine(text, HOOK_LIMITS.titleMaxChars);

  if (tool === 'Bash') {
    const command = str(ti.command);
    const description = str(ti.description)?.trim();
    const background = ti.run_in_background === true ? ' It would run in the background.' : '';
    return {
      action: { type: 'shell.exec' },
      title: cap(description !== undefined && description !== '' ? `Bash: ${description}` : 'Bash command'),
      summary: oneLine(
        `${agent} asks to run a shell command${where}.${background} The command is attached.`,
        HOOK_LIMITS.summaryMaxChars,
      ),
      ...(command !== undefined && {
        payload: { kind: 'command', content: boundUtf8(command, HOOK_LIMITS.payloadMaxBytes) },
      }),
    };
  }

  const filePath = str(ti.file_path);
  if (FILE_TOOLS.has(tool) && filePath !== undefined && filePath !== '') {
    const path = displayPath(filePath, cwd);
    const target = oneLine(path, HOOK_LIMITS.targetMaxChars);
    const content = str(ti.content);
    const edits = tool === 'Write' ? undefined : editsOf(tool, ti);
    if (tool === 'Write' && content !== undefined) {
      const lines = linesOf(content).length;
      return {
        action: { type: 'file.write', target },
        title: cap(`Write ${path}`),
        summary: oneLine(
          `${agent} asks to write the whole file (${lines} line${lines === 1 ? '' : 's'})${where}. The diff is attached; the file's previous content, if any, is not in the hook input.`,
          HOOK_LIMITS.summaryMaxChars,
        ),
        payload: {
          kind: 'diff',
          content: boundUtf8(unifiedDiff(path, { whole: content }), HOOK_LIMITS.payloadMaxBytes),
        },
      };
    }
    if (edits !== undefined) {
      const many = edits.length > 1 ? ` (${edits.length} edits)` : '';
      return {
        action: { type: 'file.write', target },
        title: cap(`Edit ${path}${many}`),
        summary: oneLine(
          `${agent} asks to change text in a file${where}. The diff is attached (line numbers are not in the hook input).`,
          HOOK_LIMITS.summaryMaxChars,
        ),
        payload: {
          kind: 'diff',
          content: boundUtf8(unifiedDiff(path, { edits }), HOOK_LIMITS.payloadMaxBytes),
        },
      };
    }
  }

  // A file tool whose change is not in a shape read here (Cursor's StrReplace without old_string
  // and new_string…) is still a write to its path, which the server classifies; its input goes as it is.
  const anyPath = filePath ?? str(ti.path);
  if (WRITE_TOOLS.has(tool) && anyPath !== undefined && anyPath !== '') {
    const path = displayPath(anyPath, cwd);
    return {
      action: { type: 'file.write', target: oneLine(path, HOOK_LIMITS.targetMaxChars) },
      title: cap(`${tool} ${path}`),
      summary: oneLine(
        `${agent} asks to change a file${where}. ony could not read the change from the hook input, which is attached as it is.`,
        HOOK_LIMITS.summaryMaxChars,
      ),
      payload: { kind: 'text', content: boundUtf8(JSON.stringify(ti, null, 2), HOOK_LIMITS.payloadMaxBytes) },
    };
  }

  // Codex's apply_patch (the patch text in `command`); a file delete (Cursor's Delete, mapped).
  const patch = tool === 'apply_patch' ? str(ti.command) : undefined;
  if (patch !== undefined) return patchHandoff(patch, cwd, agent, where);
  if (tool === 'Delete' && filePath !== undefined && filePath !== '')
    return opsHandoff([{ op: 'delete', path: filePath }], cwd, `${agent} asks to delete a file${where}`);

  // MCP tools and everything else: the tool's name says what, its input goes in the payload.
  const mcp = mcpParts(tool);
  return {
    action: { type: 'other', target: oneLine(tool, HOOK_LIMITS.targetMaxChars) },
    title: cap(mcp ? `MCP tool ${mcp.server}: ${mcp.tool}` : `${agent} tool ${tool}`),
    summary: oneLine(
      `${agent} asks to use the ${mcp ? `MCP tool "${mcp.tool}" of the server "${mcp.server}"` : `tool "${tool}"`}${where}. The tool input is attached.`,
      HOOK_LIMITS.summaryMaxChars,
    ),
    payload: { kind: 'text', content: boundUtf8(JSON.stringify(ti, null, 2), HOOK_LIMITS.payloadMaxBytes) },
  };
}

/** A patch that does not read goes as it is: the server still reads the raw text, never less. */
function patchHandoff(patch: string, cwd: string, agent: string, where: string): RiskInput {
  const parsed = parseApplyPatch(patch);
  if (parsed.ok) return opsHandoff(parsed.ops, cwd, `${agent} asks to apply a patch${where}`);
  return {
    action: { type: 'file.write' },
    title: 'Patch (could not be read)',
    summary: oneLine(
      `${agent} asks to apply a patch${where} that ony could not read (${parsed.error}). The raw patch is attached.`,
      HOOK_LIMITS.summaryMaxChars,
    ),
    payload: { kind: 'text', content: boundUtf8(patch, HOOK_LIMITS.payloadMaxBytes) },
  };
}

/**
 * File operations as one handoff: a unified diff of every file (added, changed, moved, deleted),
 * a title naming the files, file.delete when every operation deletes.
 */
function opsHandoff(ops: readonly PatchOp[], cwd: string, asks: string): RiskInput {
  const show = (p: string) => displayPath(p, cwd);
  const max = HOOK_LIMITS.payloadMaxBytes;
  let content = ops.map((op) => opDiff(op, show)).join('');
  if (Buffer.byteLength(content, 'utf8') > max) {
    // Cut, but keep every file's header after the cut, so the server still reads every path.
    const index = boundUtf8(ops.map((op) => opHeader(op, show)).join(''), Math.floor(max / 4));
    content = boundUtf8(content, max - Buffer.byteLength(index, 'utf8')) + index;
  }
  const count = (p: (op: PatchOp) => boolean) => ops.filter(p).length;
  const parts = [
    [count((op) => op.op === 'add'), 'adds'],
    [count((op) => op.op === 'update' && op.moveTo === undefined), 'changes'],
    [count((op) => op.op === 'update' && op.moveTo !== undefined), 'moves'],
    [count((op) => op.op === 'delete'), 'deletes'],
  ] as const;
  const files = (n: number) => `${n} file${n === 1 ? '' : 's'}`;
  const what = parts
    .filter(([n]) => n > 0)
    .map(([n, verb]) => `${verb} ${files(n)}`)
    .join(', ');
  const deletes = ops.every((op) => op.op === 'delete');
  const only = ops.length === 1 ? ops[0]! : undefined;
  const target =
    only === undefined
      ? undefined
      : oneLine(
          show(only.op === 'update' && only.moveTo !== undefined ? only.moveTo : only.path),
          HOOK_LIMITS.targetMaxChars,
        );
  const labels = ops.map((op) => opLabel(op, show)).join(', ');
  return {
    action: { type: deletes ? 'file.delete' : 'file.write', ...(target !== undefined && { target }) },
    title: oneLine(
      deletes
        ? `Delete ${only ? labels : `${files(ops.length)}: ${labels}`}`
        : `Patch ${files(ops.length)}: ${labels}`,
      HOOK_LIMITS.titleMaxChars,
    ),
    summary: oneLine(
      `${asks}: it ${what}. The diff is attached (${deletes ? "a deleted file's content is not in the hook input" : 'line numbers are not in the patch, nor the content of a deleted file'}).`,
      HOOK_LIMITS.summaryMaxChars,
    ),
    payload: { kind: 'diff', content },
  };
}

// ---------------------------------------------------------------------------------------------
// The hook's answer
// ---------------------------------------------------------------------------------------------

/** A handoff as the answer needs it. */
export interface HandoffOutcome {
  readonly status: 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';
  readonly shortCode: string;
  readonly riskLevel: string;
  readonly riskReasons: readonly string[];
  readonly decisionOption: string | null;
  /** The option's label when it is not plain approve/deny. */
  readonly decisionLabel: string | null;
  readonly decisionChannel: string | null;
  /** The approver's name; null for a decision by policy. */
  readonly deciderName: string | null;
  readonly decisionComment: string | null;
  /** A deny's reason code, when the approver gave one (src/core/approval/rejection.ts). */
  readonly decisionReason?: RejectionReason | null;
}

function riskText(h: HandoffOutcome): string {
  const reasons = h.riskReasons.slice(0, 3).join(', ');
  return `risk ${h.riskLevel}${reasons !== '' ? `: ${reasons}` : ''}`;
}

function decisionText(h: HandoffOutcome): string {
  const by = h.deciderName !== null ? ` by ${oneLine(h.deciderName, 100)}` : '';
  const via = h.decisionChannel !== null ? ` via ${oneLine(h.decisionChannel, 40)}` : '';
  const option =
    h.decisionOption !== null && h.decisionOption !== 'approve' && h.decisionOption !== 'deny'
      ? ` with "${oneLine(h.decisionLabel ?? h.decisionOption, 60)}"`
      : '';
  const comment =
    h.decisionComment !== null && oneLine(h.decisionComment, HOOK_LIMITS.commentMaxChars) !== ''
      ? `: "${oneLine(h.decisionComment, HOOK_LIMITS.commentMaxChars)}"`
      : '';
  const reason =
    h.decisionReason != null && isRejectionReason(h.decisionReason)
      ? ` (reason: ${REJECTION_REASON_TEXT[h.decisionReason]}, ${h.decisionReason})`
      : '';
  return `${option}${by}${via}${reason}${comment}`;
}

/**
 * The hook's answer for a handoff. Approved: allow. Denied, expired, cancelled: deny. Still pending
 * when the budget ran out: deny (or `ask`, when configured), saying that it waits under its short
 * code and that the same action tried again later gets the decision. Never allow without a decision.
 */
/**
 * `ask` once the hook withdrew the still-pending handoff (ONY_HOOK_ON_PENDING=ask): the person at the
 * agent's own prompt decides, and ony no longer asks anyone.
 */
export function localPromptAnswer(h: HandoffOutcome): HookAnswer {
  return hookAnswer(
    'ask',
    `No approver decided in ony in time (code ${h.shortCode}, ${riskText(h)}). The request was withdrawn from ony: decide here instead.`,
  );
}

export function answerFor(h: HandoffOutcome, onPending: OnPending): HookAnswer {
  const code = `ony ${h.shortCode}`;
  switch (h.status) {
    case 'approved':
      return h.decisionChannel === 'policy'
        ? hookAnswer('allow', `Allowed by the org's policy for ${riskText(h)} (${code}).`)
        : hookAnswer('allow', `Approved${decisionText(h)} (${code}, ${riskText(h)}).`);
    case 'denied':
      return h.decisionChannel === 'policy'
        ? hookAnswer(
            'deny',
            `Denied by the org's policy for ${riskText(h)} (${code}). Do not retry this action or work around it; tell the user.`,
          )
        : hookAnswer(
            'deny',
            `Denied${decisionText(h)} (${code}, ${riskText(h)}). Do not retry this action or work around it unless the user asks.`,
          );
    case 'expired':
      return hookAnswer(
        'deny',
        `Nobody approved this in time: ${code} expired without a decision (${riskText(h)}). It was not run. Trying the same action again asks again.`,
      );
    case 'cancelled':
      return hookAnswer('deny', `The approval request ${code} was withdrawn. It was not run.`);
    case 'pending':
      return onPending === 'ask'
        ? hookAnswer(
            'ask',
            `ony is still waiting for an approver (code ${h.shortCode}, ${riskText(h)}). You may decide here instead.`,
          )
        : hookAnswer(
            'deny',
            `Waiting for a human to approve this in ony (code ${h.shortCode}, ${riskText(h)}). It was not run. Try the same action again later (the same tool call, unchanged): once it is approved it will be allowed. Do not work around this.`,
          );
  }
}
