/**
 * Reads a unified diff (git or plain): which files it touches (added, deleted, renamed) and the
 * added lines of each, so the engine can classify paths and look into added SQL migrations.
 */

import type { FindingSink } from '../findings.js';
import { classifyPath, PATH_CLASS_REASON } from '../path-classifier.js';
import { grantStrength } from './iam.js';
import { analyseSql } from './sql.js';

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
  /**
   * Lines still due in the current hunk, by its `@@ -a,b +c,d @@` counts. Inside a hunk a line is
   * content, never a header: a removed `-- a/docs/x.md` next to an added `++ b/docs/x.md` reads as
   * `--- a/…` / `+++ b/…`, and must not move the hunk's remaining lines into another file.
   */
  let remainingOld = 0;
  let remainingNew = 0;
  const lines = diff.replace(/\r\n/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (remainingOld > 0 || remainingNew > 0) {
      const c = line[0];
      if (line.startsWith('\\')) continue;
      if ((c === ' ' || line === '') && remainingOld > 0 && remainingNew > 0) {
        remainingOld--;
        remainingNew--;
        continue;
      }
      if (c === '-' && remainingOld > 0) {
        remainingOld--;
        continue;
      }
      if (c === '+' && remainingNew > 0) {
        remainingNew--;
        current?.added.push(line.slice(1));
        continue;
      }
      // The counts were wrong: read on as headers and added lines, as without counts.
      remainingOld = remainingNew = 0;
    }
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
      const counts = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line);
      if (counts !== null) {
        remainingOld = counts[1] === undefined ? 1 : Number(counts[1]);
        remainingNew = counts[2] === undefined ? 1 : Number(counts[2]);
      }
    } else if (line.startsWith('+') && current !== undefined) {
      current.added.push(line.slice(1));
    }
  }
  return files.filter((f) => f.path.length > 0);
}

const HEADER =
  /^(?:diff --git |index [0-9a-f]|--- |\+\+\+ |new file mode |deleted file mode |old mode |new mode |similarity index |dissimilarity index |rename from |rename to |copy from |copy to |Binary files |GIT binary patch|literal |delta )/;

/**
 * Splits a text into its unified-diff structure (file headers and hunks whose lines are context,
 * added, removed or "\ No newline", as many as the hunk header counts) and the rest: a preamble (a
 * commit message, mail headers), a bare command, or lines smuggled between or after hunks. The rest
 * is read as shell and SQL like any other text; context and removed lines are never executed.
 */
export function splitDiff(text: string): { readonly rest: string; readonly hunks: number } {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const rest: string[] = [];
  let seenHeader = false;
  let remainingOld = 0;
  let remainingNew = 0;
  let hunks = 0;
  for (const line of lines) {
    if (remainingOld > 0 || remainingNew > 0) {
      const c = line[0];
      if (line.startsWith('\\')) continue;
      if (c === ' ' || line === '') {
        remainingOld--;
        remainingNew--;
        continue;
      }
      if (c === '-' && remainingOld > 0) {
        remainingOld--;
        continue;
      }
      if (c === '+' && remainingNew > 0) {
        remainingNew--;
        continue;
      }
      remainingOld = remainingNew = 0;
    }
    const hunk = seenHeader ? /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line) : null;
    if (hunk !== null) {
      remainingOld = hunk[1] === undefined ? 1 : Number(hunk[1]);
      remainingNew = hunk[2] === undefined ? 1 : Number(hunk[2]);
      hunks++;
      continue;
    }
    if (HEADER.test(line) || (line.startsWith('\\') && hunks > 0)) {
      seenHeader = true;
      continue;
    }
    rest.push(line);
  }
  return { rest: hunks > 0 ? rest.join('\n') : text, hunks };
}

/** Files whose added lines run as commands: scripts, CI workflows, Dockerfiles, Makefiles, package.json. */
export type ExecutableKind = 'script' | 'ci' | 'dockerfile' | 'makefile' | 'package-json';

export function executableKind(path: string): ExecutableKind | undefined {
  const base = path.replace(/^.*\//, '');
  if (
    /\.(?:sh|bash|zsh|ksh|command|ps1|bat|cmd)$/i.test(base) ||
    /(?:^|\/)(?:bin|scripts?|hooks)\/[^./]+$/.test(path)
  )
    return 'script';
  if (
    /(?:^|\/)\.github\/(?:workflows|actions)\/|(?:^|\/)\.gitlab-ci\.ya?ml$|(?:^|\/)\.circleci\/|(?:^|\/)Jenkinsfile$|(?:^|\/)\.buildkite\/|azure-pipelines[^/]*\.ya?ml$|bitbucket-pipelines\.yml$|\.travis\.yml$|\.drone\.ya?ml$|cloudbuild\.ya?ml$|(?:^|\/)\.husky\//.test(
      path,
    )
  )
    return 'ci';
  if (/^(?:Dockerfile|Containerfile)(?:\.[\w-]+)?$|\.dockerfile$/i.test(base)) return 'dockerfile';
  if (
    /^(?:GNUmakefile|Makefile|makefile)$|\.mk$/.test(base) ||
    base === 'justfile' ||
    base === 'Taskfile.yml'
  )
    return 'makefile';
  if (base === 'package.json') return 'package-json';
  return undefined;
}

/** The command an added line of such a file runs, if it runs one. */
export function commandOfLine(kind: ExecutableKind, line: string): string | undefined {
  switch (kind) {
    case 'script':
      return line;
    case 'ci': {
      // `run: cmd`, `- run: cmd`, `script: cmd`, `- cmd` list items and block-scalar lines.
      const m =
        /^\s*(?:-\s+)?(?:(?:run|script|command|cmd|before_script|after_script|entrypoint)\s*:\s*)?(.*)$/.exec(
          line,
        );
      const body = (m?.[1] ?? line).replace(/^["']|["']$/g, '');
      return /^[|>][-+]?\s*$/.test(body) ? undefined : body;
    }
    case 'dockerfile': {
      const m = /^\s*(?:RUN|CMD|ENTRYPOINT)\s+(.*)$/i.exec(line);
      if (m === null) return /^\s+\S/.test(line) ? line.replace(/\\$/, '') : undefined;
      const body = m[1]!.replace(/\\$/, '');
      // Exec form ["sh", "-c", "…"]: the words joined.
      if (/^\[/.test(body.trim())) {
        try {
          const words = JSON.parse(body.trim()) as unknown;
          if (Array.isArray(words)) return words.map(String).join(' ');
        } catch {
          return body;
        }
      }
      return body;
    }
    case 'makefile':
      return /^\t/.test(line) ? line.replace(/^\t+[@+-]*/, '') : undefined;
    case 'package-json': {
      const m = /^\s*"[^"]+"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(line);
      return m === null ? undefined : m[1]!.replace(/\\(.)/g, '$1');
    }
  }
}

/**
 * The diff reading: each file's class (CI, auth, infra, migration, lockfile, secrets…), the added
 * lines of executable files read as commands and of SQL files as SQL, admin grants added to
 * infrastructure or IAM files, and mass deletions. Removed and context lines are never executed.
 */
export function analyseDiff(content: string, runShell: (script: string) => void, out: FindingSink): void {
  const files = parseUnifiedDiff(content);
  if (files.length === 0) return;
  const classes = files.map((f) => classifyPath(f.path));
  files.forEach((file, i) => {
    const cls = classes[i]!;
    const reason = PATH_CLASS_REASON[cls];
    if (reason !== undefined) out.add(reason, file.path);
    if (cls === 'migration' || file.path.endsWith('.sql')) {
      for (const f of analyseSql(file.added.join('\n'))) {
        if (f.reason !== 'unrecognized_sql' && f.reason !== 'read_only_query')
          out.add(f.reason, `${file.path}: ${f.statement}`);
      }
    }
    const exec = executableKind(file.path);
    if (exec !== undefined) {
      const commands = file.added
        .map((line) => commandOfLine(exec, line))
        .filter((c): c is string => c !== undefined);
      if (commands.length > 0) runShell(commands.join('\n'));
    }
    if (cls === 'iam' || cls === 'infra') {
      const admin = file.added.find((line) => grantStrength(line) === 'admin');
      if (admin !== undefined) out.add('iam_admin_grant', `${file.path}: ${admin.trim().slice(0, 100)}`);
    }
  });
  const deleted = files.filter((f, i) => f.deleted && classes[i] !== 'docs' && classes[i] !== 'tests');
  if (deleted.length >= 25) out.add('destructive_delete', `${deleted.length} files deleted`);
  if (classes.every((c) => c === 'docs' || c === 'tests'))
    out.add('docs_or_tests_only', `${files.length} files`);
}
