/**
 * Codex CLI's `apply_patch` format, read as Codex reads it, and written out as a unified diff so the
 * risk engine's diff reading (paths, added lines) applies to it. Pure: no I/O.
 *
 *   *** Begin Patch
 *   *** Add File: <path>        then `+` lines: the new file
 *   *** Delete File: <path>
 *   *** Update File: <path>     then optionally `*** Move to: <path>`, then hunks: `@@` or
 *                               `@@ <context>`, then ` `, `-`, `+` lines, optionally `*** End of File`
 *   *** End Patch
 *
 * The grammar and its leniencies follow Codex's own parser (openai/codex,
 * codex-rs/apply-patch/src/parser.rs, "lenient" mode): markers may carry surrounding whitespace, the
 * whole patch may sit in a `<<'EOF'` here-document, the first hunk of an update may omit its `@@`,
 * and a blank line inside a hunk is an empty context line. A patch Codex would apply must read here
 * the same way; one it would refuse is refused here too (and then goes to the server as raw text).
 */

export interface PatchHunk {
  /** The text after `@@ `, which Codex uses to find the place; absent for a bare `@@`. */
  readonly context?: string;
  /** The hunk's lines, each starting with ` `, `-` or `+`. */
  readonly lines: readonly string[];
  /** `*** End of File`: the hunk is at the end of the file. */
  readonly endOfFile: boolean;
}

export type PatchOp =
  | { readonly op: 'add'; readonly path: string; readonly lines: readonly string[] }
  | { readonly op: 'delete'; readonly path: string }
  | {
      readonly op: 'update';
      readonly path: string;
      readonly moveTo?: string;
      readonly hunks: readonly PatchHunk[];
    };

export type ParsedPatch =
  { readonly ok: true; readonly ops: readonly PatchOp[] } | { readonly ok: false; readonly error: string };

const BEGIN = '*** Begin Patch';
const END = '*** End Patch';
const ADD = '*** Add File: ';
const DELETE = '*** Delete File: ';
const UPDATE = '*** Update File: ';
const MOVE = '*** Move to: ';
const EOF_MARKER = '*** End of File';

class PatchError extends Error {}

/** The patch body between Begin and End, or the reason it has none. */
function bodyOf(lines: readonly string[]): readonly string[] {
  const inside = (ls: readonly string[]): readonly string[] | undefined =>
    ls.length >= 2 && ls[0]!.trim() === BEGIN && ls[ls.length - 1]!.trim() === END
      ? ls.slice(1, -1)
      : undefined;
  const plain = inside(lines);
  if (plain !== undefined) return plain;
  // Codex also takes the patch wrapped in a here-document that was never run through a shell.
  const first = lines[0];
  const last = lines[lines.length - 1];
  if (
    lines.length >= 4 &&
    (first === '<<EOF' || first === "<<'EOF'" || first === '<<"EOF"') &&
    last!.endsWith('EOF')
  ) {
    const wrapped = inside(lines.slice(1, -1));
    if (wrapped !== undefined) return wrapped;
  }
  if (first?.trim() !== BEGIN) throw new PatchError(`the first line must be "${BEGIN}"`);
  throw new PatchError(`the last line must be "${END}"`);
}

function parseHunk(lines: readonly string[], at: number, first: boolean): { hunk: PatchHunk; used: number } {
  let start = 0;
  let context: string | undefined;
  if (lines[at] === '@@') start = 1;
  else if (lines[at]!.startsWith('@@ ')) {
    context = lines[at]!.slice(3);
    start = 1;
  } else if (!first) {
    throw new PatchError(`line ${at + 2}: a hunk must start with "@@", not ${JSON.stringify(lines[at])}`);
  }
  const out: string[] = [];
  let endOfFile = false;
  let i = at + start;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === EOF_MARKER) {
      if (out.length === 0) break;
      endOfFile = true;
      i++;
      break;
    }
    const c = line[0];
    if (c === undefined) out.push(' ');
    else if (c === ' ' || c === '-' || c === '+') out.push(line);
    else if (out.length === 0)
      throw new PatchError(
        `line ${i + 2}: a hunk line must start with " ", "-" or "+", not ${JSON.stringify(line)}`,
      );
    else break;
  }
  if (out.length === 0) throw new PatchError(`line ${i + 2}: the hunk has no lines`);
  return { hunk: { ...(context !== undefined && { context }), lines: out, endOfFile }, used: i - at };
}

/** Reads an `apply_patch` patch. Never throws; a patch it cannot read says why. */
export function parseApplyPatch(text: string): ParsedPatch {
  try {
    const body = bodyOf(text.trim().split(/\r?\n/));
    const ops: PatchOp[] = [];
    let i = 0;
    while (i < body.length) {
      const header = body[i]!.trim();
      if (header.startsWith(ADD)) {
        const lines: string[] = [];
        i++;
        while (i < body.length && body[i]!.startsWith('+')) lines.push(body[i++]!.slice(1));
        ops.push({ op: 'add', path: header.slice(ADD.length), lines });
      } else if (header.startsWith(DELETE)) {
        ops.push({ op: 'delete', path: header.slice(DELETE.length) });
        i++;
      } else if (header.startsWith(UPDATE)) {
        const path = header.slice(UPDATE.length);
        i++;
        let moveTo: string | undefined;
        if (i < body.length && body[i]!.startsWith(MOVE)) moveTo = body[i++]!.slice(MOVE.length);
        const hunks: PatchHunk[] = [];
        while (i < body.length) {
          if (body[i]!.trim() === '') {
            i++;
            continue;
          }
          if (body[i]!.startsWith('*')) break;
          const { hunk, used } = parseHunk(body, i, hunks.length === 0);
          hunks.push(hunk);
          i += used;
        }
        if (hunks.length === 0) throw new PatchError(`the update of ${JSON.stringify(path)} has no hunk`);
        ops.push({ op: 'update', path, ...(moveTo !== undefined && { moveTo }), hunks });
      } else {
        throw new PatchError(
          `line ${i + 2}: ${JSON.stringify(header.slice(0, 80))} is not "*** Add File: ", "*** Delete File: " or "*** Update File: "`,
        );
      }
    }
    if (ops.length === 0) return { ok: false, error: 'the patch changes no file' };
    return { ok: true, ops };
  } catch (e) {
    if (e instanceof PatchError) return { ok: false, error: e.message };
    throw e;
  }
}

/** A side of a diff header: `a/src/x.ts`, or an absolute path as it is. */
export function diffSide(prefix: 'a' | 'b', path: string): string {
  return path.startsWith('/') ? path : `${prefix}/${path}`;
}

/**
 * The unified diff of one operation. Line numbers are not in the patch (Codex finds each hunk by
 * its context), so every hunk counts from 1 and says which hunk of the file it is.
 */
export function opDiff(op: PatchOp, show: (path: string) => string): string {
  const path = show(op.path);
  const out: string[] = [];
  switch (op.op) {
    case 'add':
      out.push(`--- /dev/null`, `+++ ${diffSide('b', path)}`);
      if (op.lines.length > 0)
        out.push(`@@ -0,0 +1,${op.lines.length} @@ new file`, ...op.lines.map((l) => `+${l}`));
      break;
    case 'delete':
      // The deleted content is not in the patch.
      out.push(`--- ${diffSide('a', path)}`, `+++ /dev/null`);
      break;
    case 'update': {
      const to = op.moveTo !== undefined ? show(op.moveTo) : path;
      if (op.moveTo !== undefined)
        out.push(
          `diff --git ${diffSide('a', path)} ${diffSide('b', to)}`,
          `rename from ${path}`,
          `rename to ${to}`,
        );
      out.push(`--- ${diffSide('a', path)}`, `+++ ${diffSide('b', to)}`);
      op.hunks.forEach((h, k) => {
        const oldCount = h.lines.filter((l) => l[0] !== '+').length;
        const newCount = h.lines.filter((l) => l[0] !== '-').length;
        const where = [
          `hunk ${k + 1} of ${op.hunks.length}`,
          ...(h.context !== undefined && h.context !== '' ? [`at "${h.context}"`] : []),
          ...(h.endOfFile ? ['at the end of the file'] : []),
        ].join(', ');
        out.push(`@@ -1,${oldCount} +1,${newCount} @@ ${where}`, ...h.lines);
      });
      break;
    }
  }
  return `${out.join('\n')}\n`;
}

/** The diff header of one operation alone: enough for the risk engine to classify its paths. */
export function opHeader(op: PatchOp, show: (path: string) => string): string {
  if (op.op === 'update') return opDiff({ ...op, hunks: [] }, show);
  return opDiff(op.op === 'add' ? { ...op, lines: [] } : op, show);
}

/** The paths an operation touches, as approvers read them (`old → new` for a move). */
export function opLabel(op: PatchOp, show: (path: string) => string): string {
  return op.op === 'update' && op.moveTo !== undefined
    ? `${show(op.path)} → ${show(op.moveTo)}`
    : show(op.path);
}
