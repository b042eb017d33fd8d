import { describe, expect, it } from 'vitest';
import { SecretGenerator } from '../../../test/fixtures/redact-corpus.js';
import { hasHiddenCharacters } from '../hidden-characters.js';
import { redact } from '../redact/index.js';
import { LIMITS } from '../risk/types.js';
import { toolCallHandoff } from './mcp-gate.js';
import { ARGUMENTS_GIST_LIMITS as L, argumentsGist, isSecretArgumentName } from './tool-arguments-gist.js';

const gen = new SecretGenerator(7);

describe('argumentsGist', () => {
  it('shows short scalars quoted, long text by size', () => {
    expect(
      argumentsGist({ path: '/srv/data/notes.txt', content: 'x'.repeat(412), recursive: true, depth: 3 }),
    ).toBe('path: "/srv/data/notes.txt", content: 412 chars (text), recursive: true, depth: 3');
    expect(argumentsGist({})).toBe('');
    expect(argumentsGist({ a: null, b: 'two\nlines' })).toBe('a: null, b: 9 chars, 2 lines (text)');
  });

  it('cuts a shown value to ~60 characters and a quote inside it cannot end it', () => {
    const g = argumentsGist({ url: `https://example.com/${'a'.repeat(100)}` });
    expect(g).toMatch(/^url: "https:\/\/example\.com\/a+…"$/);
    expect([...JSON.parse(g.slice(5))].length).toBe(L.valueMaxChars);
    expect(argumentsGist({ name: 'x", admin: true' })).toBe('name: "x\\", admin: true"');
  });

  it('shows objects and arrays by kind and size only, never their contents', () => {
    const g = argumentsGist({
      options: { mode: 'fast', password: 'hunter2-secret' },
      files: ['a', 'b', 'c'],
    });
    expect(g).toBe('options: object with 2 keys, files: array of 3 items');
  });

  it('hides the value of an argument whose name looks secret', () => {
    for (const name of [
      'token',
      'password',
      'client_secret',
      'apiKey',
      'key',
      'auth',
      'cookie',
      'credentials',
    ])
      expect(isSecretArgumentName(name)).toBe(true);
    for (const name of ['path', 'content', 'monkey', 'author', 'keyword'])
      expect(isSecretArgumentName(name)).toBe(false);
    const g = argumentsGist({ user: 'mia', password: 'correct horse', api_key: 'abc', cookie: 'sid=1' });
    expect(g).toBe('user: "mia", password: ***, api_key: ***, cookie: ***');
  });

  it('redacts a secret found in a value under an innocent name (AWS key, GitHub token)', () => {
    const aws = 'AKIAQYLPMN5HHHFPZAM2';
    const github = gen.checksummed('ghp_');
    const g = argumentsGist({ note: `use ${aws}`, header: github });
    expect(g).not.toContain(aws);
    expect(g).not.toContain(github);
    expect(g).toBe('note: "use [REDACTED:aws-access-key-id]", header: "[REDACTED:github-pat]"');
  });

  it('shows hidden characters as visible escapes, also in names, and never cuts inside one', () => {
    const g = argumentsGist({ file: 'invoice\u202Egnp.exe', ['a\u200Bb']: 'p\u0430ypal' });
    expect(hasHiddenCharacters(g)).toBe(false);
    expect(g).toBe('file: "invoice⟨U+202E⟩gnp.exe", a⟨U+200B⟩b: "p⟨U+0430⟩ypal"');
    // An escape that would straddle the cut is left out whole.
    const cut = argumentsGist({ v: `${'a'.repeat(55)}\u202E${'b'.repeat(20)}` });
    expect(cut).toBe(`v: "${'a'.repeat(55)}…"`);
    // A character outside the BMP (a tag character) is never split into half a surrogate pair.
    const astral = argumentsGist({ v: `${'a'.repeat(58)}😀\u{E0041}${'b'.repeat(10)}` });
    expect(astral).not.toMatch(/[\uD800-\uDFFF](?![\uDC00-\uDFFF])/u);
  });

  it('shows at most a few arguments, then "and K more", within the bound', () => {
    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`arg${i}`, i]));
    expect(argumentsGist(many)).toBe(
      'arg0: 0, arg1: 1, arg2: 2, arg3: 3, arg4: 4, arg5: 5, arg6: 6, arg7: 7 and 12 more',
    );
    const wide = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [`${'n'.repeat(39)}${i}`, 'v'.repeat(150)]),
    );
    const g = argumentsGist(wide);
    expect(g.length).toBeLessThanOrEqual(L.maxChars);
    expect(g).toMatch(/ and \d+ more$/);
  });
});

describe('toolCallHandoff carries the gist in its summary', () => {
  it('names the values an approver needs, never a secret argument', () => {
    const h = toolCallHandoff(
      'fs',
      'write_file',
      { path: '/srv/data/notes.txt', content: 'x'.repeat(412), token: 'tok-123456' },
      undefined,
    );
    expect(h.summary).toBe(
      'An MCP client asks ony gate to call the tool "write_file" of the server "fs". Arguments: path: "/srv/data/notes.txt", content: 412 chars (text), token: ***; all attached.',
    );
    // The server redacts the summary again: the gist passes through it unchanged.
    expect(redact(h.summary).text).toBe(h.summary);
    expect(toolCallHandoff('db', 'q', { sql: 'SELECT 1', key: 'k' }, undefined).summary).toBe(
      'An MCP client asks ony gate to call the tool "q" of the server "db". Arguments: sql: "SELECT 1", key: ***; the SQL argument attached.',
    );
    expect(toolCallHandoff('t', 'now', {}, { destructiveHint: true }).summary).toBe(
      'An MCP client asks ony gate to call the tool "now" of the server "t". The server marks the tool as destructive. It has no arguments.',
    );
    expect(h.summary.length).toBeLessThanOrEqual(LIMITS.summaryMaxChars);
  });
});
