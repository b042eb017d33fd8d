import { describe, expect, it } from 'vitest';
import { diffLineKind, payloadLines } from './payload-lines';

describe('payload lines', () => {
  it('classifies diff lines', () => {
    expect(diffLineKind('+added')).toBe('add');
    expect(diffLineKind('-removed')).toBe('del');
    expect(diffLineKind('+++ b/file')).toBe('file');
    expect(diffLineKind('--- a/file')).toBe('file');
    expect(diffLineKind('@@ -1,2 +1,2 @@')).toBe('hunk');
    expect(diffLineKind(' context')).toBe('ctx');
  });

  it('keeps hostile text verbatim (rendering escapes it) and colours only diffs', () => {
    const hostile = '+<script>alert(1)</script>';
    expect(payloadLines(hostile, 'diff').lines).toEqual([{ text: hostile, kind: 'add' }]);
    expect(payloadLines(hostile, 'log').lines).toEqual([{ text: hostile, kind: 'ctx' }]);
  });

  it('bounds very long payloads and says how much was left out', () => {
    const r = payloadLines(Array.from({ length: 12 }, (_, i) => `l${i}`).join('\n'), 'log', 10);
    expect(r.lines).toHaveLength(10);
    expect(r.truncated).toBe(2);
    expect(payloadLines('a\r\nb\n', 'log').lines.map((l) => l.text)).toEqual(['a', 'b']);
  });
});
