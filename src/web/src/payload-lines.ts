/**
 * Splits a payload into lines with a class each, for colouring only. The text itself is always
 * rendered as text (React escapes it): no line can become markup.
 */
export type LineKind = 'add' | 'del' | 'hunk' | 'file' | 'ctx';

export function diffLineKind(line: string): LineKind {
  if (line.startsWith('+++ ') || line.startsWith('--- ') || line.startsWith('diff --git ')) return 'file';
  if (line.startsWith('@@')) return 'hunk';
  if (line.startsWith('+')) return 'add';
  if (line.startsWith('-')) return 'del';
  return 'ctx';
}

/** At most `max` lines (a 1 MiB log should not freeze a phone); `truncated` says how many were left out. */
export function payloadLines(
  content: string,
  kind: string,
  max = 5000,
): { lines: { text: string; kind: LineKind }[]; truncated: number } {
  const all = content.replace(/\r\n/g, '\n').split('\n');
  if (all.length > 1 && all[all.length - 1] === '') all.pop();
  const shown = all.slice(0, max);
  return {
    lines: shown.map((text) => ({ text, kind: kind === 'diff' ? diffLineKind(text) : 'ctx' })),
    truncated: all.length - shown.length,
  };
}
