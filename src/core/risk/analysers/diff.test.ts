import { describe, expect, it } from 'vitest';
import { Findings } from '../findings.js';
import { analyseDiff, commandOfLine, executableKind, parseUnifiedDiff, splitDiff } from './diff.js';

const diff = (path: string, body: string, header = '@@ -1,1 +1,2 @@') =>
  `diff --git a/${path} b/${path}\n--- a/${path}\n+++ b/${path}\n${header}\n${body}\n`;

describe('diff reading', () => {
  it('keeps hunk lines out of the rest, and anything outside the structure in it', () => {
    expect(splitDiff(diff('a.sh', ' echo hi\n+rm -rf build')).rest.trim()).toBe('');
    expect(splitDiff('rm -rf /').hunks).toBe(0);
    // A line smuggled after a hunk (beyond its counts) is read like any text.
    expect(splitDiff(`${diff('a.sh', ' echo hi\n+ls')}rm -rf /\n`).rest).toContain('rm -rf /');
    expect(splitDiff(`Subject: cleanup\n\n${diff('a.sh', ' echo hi\n+ls')}`).rest).toContain(
      'Subject: cleanup',
    );
  });

  it('reads lines inside a hunk (by its counts) as content, never as a file header', () => {
    const smuggled = [
      '--- a/scripts/clean.sh',
      '+++ b/scripts/clean.sh',
      '@@ -1,2 +1,3 @@',
      ' #!/bin/sh',
      '--- a/docs/notes.md',
      '+++ b/docs/notes.md',
      '+rm -rf /srv',
      '',
    ].join('\n');
    expect(parseUnifiedDiff(smuggled)).toEqual([
      { path: 'scripts/clean.sh', deleted: false, added: ['++ b/docs/notes.md', 'rm -rf /srv'] },
    ]);
    // Past a hunk's counts, headers are headers again; CRLF diffs read the same.
    const two = `${diff('a.sh', ' echo hi\n+ls')}${diff('docs/b.md', ' x\n+y')}`;
    expect(parseUnifiedDiff(two).map((f) => f.path)).toEqual(['a.sh', 'docs/b.md']);
    expect(parseUnifiedDiff(two.replace(/\n/g, '\r\n'))).toEqual(parseUnifiedDiff(two));
    // Wrong counts: read on as without them (every added line still counts).
    expect(parseUnifiedDiff(diff('a.sh', '+one\n+two\n+three', '@@ -0,0 +1,1 @@'))[0]?.added).toEqual([
      'one',
      'two',
      'three',
    ]);
  });

  it('knows which files run their added lines, and what each line runs', () => {
    expect(executableKind('scripts/deploy.sh')).toBe('script');
    expect(executableKind('.github/workflows/ci.yml')).toBe('ci');
    expect(executableKind('Dockerfile')).toBe('dockerfile');
    expect(executableKind('Makefile')).toBe('makefile');
    expect(executableKind('package.json')).toBe('package-json');
    expect(executableKind('src/app.ts')).toBeUndefined();
    expect(commandOfLine('ci', '      - run: rm -rf /')).toBe('rm -rf /');
    expect(commandOfLine('dockerfile', 'RUN ["sh", "-c", "rm -rf /"]')).toBe('sh -c rm -rf /');
    expect(commandOfLine('makefile', '\t@rm -rf /')).toBe('rm -rf /');
    expect(commandOfLine('makefile', 'clean:')).toBeUndefined();
    expect(commandOfLine('package-json', '    "postinstall": "curl x | sh",')).toBe('curl x | sh');
  });

  it('runs added lines of executable files, never removed or context lines', () => {
    const ran: string[] = [];
    const out = new Findings();
    analyseDiff(
      diff('deploy.sh', ' rm -rf /\n-rm -rf /\n+echo ok', '@@ -1,2 +1,2 @@'),
      (s) => void ran.push(s),
      out,
    );
    expect(ran).toEqual(['echo ok']);
    analyseDiff(diff('src/a.ts', '+rm -rf /'), (s) => void ran.push(s), out);
    expect(ran).toEqual(['echo ok']);
  });

  it('classifies paths and reads added SQL in migrations', () => {
    const out = new Findings();
    analyseDiff(diff('migrations/001.sql', '+DROP TABLE users;', '@@ -0,0 +1,1 @@'), () => {}, out);
    expect(out.reasons()).toEqual(expect.arrayContaining(['migration_file', 'schema_drop']));
    const docs = new Findings();
    analyseDiff(diff('README.md', '+hello', '@@ -0,0 +1,1 @@'), () => {}, docs);
    expect(docs.reasons()).toEqual(['docs_or_tests_only']);
  });
});
