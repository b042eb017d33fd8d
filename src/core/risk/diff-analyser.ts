/**
 * Reads a unified diff (git or plain): which files it touches (added, deleted, renamed) and the
 * added lines of each, so the engine can classify paths and look into added SQL migrations.
 */

export interface DiffFile {
  readonly path: string;
  readonly deleted: boolean;
  readonly added: string[];
}

function cleanPath(raw: string): string | undefined {
  const path = raw.trim().replace(/\t.*$/, '').replace(/^"|"$/g, '');
  if (path === '/dev/null' || path.length === 0) return undefined;
  return path.replace(/^[ab]\//, '');
}

export function parseUnifiedDiff(diff: string): DiffFile[] {
  const files: Array<{ path: string; deleted: boolean; added: string[] }> = [];
  let current: { path: string; deleted: boolean; added: string[] } | undefined;
  /** True between a `diff --git` header and its first hunk, when `---`/`+++` refine that same file. */
  let inGitHeader = false;
  const lines = diff.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('diff --git ')) {
      const m = /^diff --git "?a\/(.+?)"? "?b\/(.+?)"?$/.exec(line);
      current = { path: m?.[2] ?? line.slice(11).trim(), deleted: false, added: [] };
      files.push(current);
      inGitHeader = true;
    } else if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      const oldPath = cleanPath(line.slice(4));
      const newPath = cleanPath(lines[i + 1]!.slice(4));
      const path = newPath ?? oldPath ?? '';
      if (inGitHeader && current !== undefined) {
        current.path = path;
        current.deleted = current.deleted || newPath === undefined;
      } else {
        current = { path, deleted: newPath === undefined, added: [] };
        files.push(current);
      }
      inGitHeader = false;
      i++;
    } else if (line.startsWith('deleted file mode') && current !== undefined) {
      current.deleted = true;
    } else if (line.startsWith('rename from ') && current !== undefined) {
      files.push({ path: line.slice(12), deleted: true, added: [] });
    } else if (line.startsWith('rename to ') && current !== undefined) {
      current.path = line.slice(10);
    } else if (line.startsWith('@@')) {
      inGitHeader = false;
    } else if (line.startsWith('+') && current !== undefined) {
      current.added.push(line.slice(1));
    }
  }
  return files.filter((f) => f.path.length > 0);
}
