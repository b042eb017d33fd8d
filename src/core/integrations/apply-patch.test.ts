import { describe, expect, it } from 'vitest';
import { parseUnifiedDiff, splitDiff } from '../risk/analysers/diff.js';
import { opDiff, parseApplyPatch, type PatchOp } from './apply-patch.js';

const same = (p: string) => p;
const ops = (text: string): readonly PatchOp[] => {
  const r = parseApplyPatch(text);
  if (!r.ok) throw new Error(r.error);
  return r.ops;
};
const diffOf = (text: string) =>
  ops(text)
    .map((op) => opDiff(op, same))
    .join('');

// The example of Codex's own instructions (codex-rs/apply-patch/apply_patch_tool_instructions.md).
const EXAMPLE = [
  '*** Begin Patch',
  '*** Add File: hello.txt',
  '+Hello world',
  '*** Update File: src/app.py',
  '*** Move to: src/main.py',
  '@@ def greet():',
  '-print("Hi")',
  '+print("Hello, world!")',
  '*** Delete File: obsolete.txt',
  '*** End Patch',
  '',
].join('\n');

describe('parseApplyPatch', () => {
  it('reads add, update with a move, and delete, in order', () => {
    expect(ops(EXAMPLE)).toEqual([
      { op: 'add', path: 'hello.txt', lines: ['Hello world'] },
      {
        op: 'update',
        path: 'src/app.py',
        moveTo: 'src/main.py',
        hunks: [
          {
            context: 'def greet():',
            lines: ['-print("Hi")', '+print("Hello, world!")'],
            endOfFile: false,
          },
        ],
      },
      { op: 'delete', path: 'obsolete.txt' },
    ]);
  });

  it('reads several hunks per file, a first hunk without @@, blank context lines and End of File', () => {
    const text = [
      '*** Begin Patch',
      '*** Update File: a.ts',
      ' import x',
      '+import y',
      '@@ function f()',
      '   return 1;',
      '',
      '-}',
      '+};',
      '*** End of File',
      '*** Update File: b.ts',
      '@@',
      '-old',
      '+new',
      '*** End Patch',
    ].join('\n');
    expect(ops(text)).toEqual([
      {
        op: 'update',
        path: 'a.ts',
        hunks: [
          { lines: [' import x', '+import y'], endOfFile: false },
          { context: 'function f()', lines: ['   return 1;', ' ', '-}', '+};'], endOfFile: true },
        ],
      },
      { op: 'update', path: 'b.ts', hunks: [{ lines: ['-old', '+new'], endOfFile: false }] },
    ]);
  });

  it('reads CRLF line ends as LF, with no carriage return left in a line', () => {
    expect(ops(EXAMPLE.replace(/\n/g, '\r\n'))).toEqual(ops(EXAMPLE));
  });

  it("takes Codex's leniencies: padded markers, a here-document wrapper", () => {
    // Codex's scenarios 017 and 020 (whitespace around the markers).
    const padded = '*** Begin Patch \n  *** Update File: foo.txt\n@@\n-old\n+new\n *** End Patch\n';
    expect(ops(padded)).toEqual([
      { op: 'update', path: 'foo.txt', hunks: [{ lines: ['-old', '+new'], endOfFile: false }] },
    ]);
    expect(ops(`<<'EOF'\n${EXAMPLE}EOF\n`)).toEqual(ops(EXAMPLE));
  });

  it.each([
    ['no begin marker', 'hello\n*** End Patch', /first line/],
    ['no end marker', '*** Begin Patch\n*** Add File: a\n+x', /last line/],
    ['an unknown operation', '*** Begin Patch\n*** Copy File: a\n*** End Patch', /Copy File/],
    ['an update without a hunk', '*** Begin Patch\n*** Update File: a\n*** End Patch', /no hunk/],
    [
      'a second hunk without @@',
      '*** Begin Patch\n*** Update File: a\n@@\n-x\n+y\n\nz\n*** End Patch',
      /must start with "@@"/,
    ],
    [
      'a hunk of only End of File',
      '*** Begin Patch\n*** Update File: a\n@@\n*** End of File\n*** End Patch',
      /no lines/,
    ],
    ['no operation at all', '*** Begin Patch\n*** End Patch', /changes no file/],
    ['nothing', '', /first line/],
  ])('refuses %s, saying why', (_, text, error) => {
    const r = parseApplyPatch(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(error);
  });

  it('keeps hidden and bidi characters as they are, in paths and lines', () => {
    const text =
      '*** Begin Patch\n*** Update File: src/a\u202e.ts\n@@\n-ok\n+if (admin\u200b) {\n*** End Patch';
    const [op] = ops(text);
    expect(op).toMatchObject({ path: 'src/a\u202e.ts', hunks: [{ lines: ['-ok', '+if (admin\u200b) {'] }] });
  });

  it('reads a patch of 200,000 lines in one pass', () => {
    const body = Array.from({ length: 100_000 }, (_, i) => `-old ${i}\n+new ${i}`).join('\n');
    const [op] = ops(`*** Begin Patch\n*** Update File: big.txt\n@@\n${body}\n*** End Patch`);
    expect(op?.op === 'update' && op.hunks[0]!.lines.length).toBe(200_000);
  });
});

describe('opDiff', () => {
  it('writes a unified diff the risk engine reads: every path, added lines, deletes and renames', () => {
    const diff = diffOf(EXAMPLE);
    expect(diff).toBe(
      [
        '--- /dev/null',
        '+++ b/hello.txt',
        '@@ -0,0 +1,1 @@ new file',
        '+Hello world',
        'diff --git a/src/app.py b/src/main.py',
        'rename from src/app.py',
        'rename to src/main.py',
        '--- a/src/app.py',
        '+++ b/src/main.py',
        '@@ -1,1 +1,1 @@ hunk 1 of 1, at "def greet():"',
        '-print("Hi")',
        '+print("Hello, world!")',
        '--- a/obsolete.txt',
        '+++ /dev/null',
        '',
      ].join('\n'),
    );
    expect(parseUnifiedDiff(diff)).toEqual([
      { path: 'hello.txt', deleted: false, added: ['Hello world'] },
      { path: 'src/main.py', deleted: false, added: ['print("Hello, world!")'] },
      { path: 'src/app.py', deleted: true, added: [] },
      { path: 'obsolete.txt', deleted: true, added: [] },
    ]);
    // Every line is diff structure: nothing is left over to be read as a stray command.
    expect(splitDiff(diff)).toEqual({ rest: '', hunks: 2 });
  });

  it('counts context lines on both sides, and keeps absolute paths absolute', () => {
    const diff = diffOf('*** Begin Patch\n*** Update File: /etc/hosts\n@@\n a\n-b\n+c\n+d\n*** End Patch');
    expect(diff).toBe('--- /etc/hosts\n+++ /etc/hosts\n@@ -1,2 +1,3 @@ hunk 1 of 1\n a\n-b\n+c\n+d\n');
  });

  it('writes paths through the given display function', () => {
    const [op] = ops('*** Begin Patch\n*** Delete File: /w/p/x.ts\n*** End Patch');
    expect(opDiff(op!, (p) => p.replace('/w/p/', ''))).toBe('--- a/x.ts\n+++ /dev/null\n');
  });
});
