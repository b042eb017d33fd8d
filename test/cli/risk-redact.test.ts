import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runInMemory } from '../helpers/cli.js';
import { SecretGenerator } from '../fixtures/redact-corpus.js';

const run = (argv: string[], stdin: string | Buffer) => runInMemory(argv, { stdin });

const token = new SecretGenerator(1).checksummed('ghp_');

describe('ony redact', () => {
  it('redacts stdin to stdout', async () => {
    const r = await run(['redact'], `git push https://x:${token}@github.com/o/r\n`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('git push https://x:[REDACTED:github-pat]@github.com/o/r\n');
  });
  it('prints findings with --json', async () => {
    const r = await run(['redact', '--json'], `t=${token}`);
    expect(JSON.parse(r.stdout)).toEqual({
      text: 't=[REDACTED:github-pat]',
      findings: [{ type: 'github-pat', start: 2, end: 42 }],
    });
  });
  it('rejects bad options and non-UTF-8 input', async () => {
    expect((await run(['redact', '--nope'], '')).code).toBe(2);
    const bad = await run(['redact'], Buffer.from([0xff, 0xfe, 0x41]));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not valid UTF-8/);
  });
});

describe('ony risk', () => {
  const handoff = {
    action: { type: 'shell.exec' },
    title: 'Clean up',
    summary: 'free disk space',
    risk: 'low',
    payload: { kind: 'command', content: 'sudo rm -rf / --no-preserve-root' },
  };
  it('prints level and reasons, ignoring the claimed risk', async () => {
    const r = await run(['risk'], JSON.stringify(handoff));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      level: 'critical',
      reasons: ['recursive_delete_root', 'privileged_command'],
    });
  });
  it('--explain shows hidden characters and escape sequences in the evidence, never applies them', async () => {
    const hostile = {
      ...handoff,
      payload: { kind: 'command', content: 'sudo rm -rf / \u202E#txt.olleh\u001b[2J' },
    };
    const r = await run(['risk', '--explain'], JSON.stringify(hostile));
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\u202E');
    expect(r.stdout).not.toContain('\u001b');
    expect(r.stdout).toContain('rm -rf / ⟨U+202E⟩#txt.olleh⟨U+001B⟩[2J');
  });
  it('explains with --explain', async () => {
    const r = await run(['risk', '--explain'], JSON.stringify(handoff));
    expect(r.stdout).toMatch(/^risk: CRITICAL/);
    expect(r.stdout).toContain('recursive_delete_root: Recursively deletes');
  });
  it('fails clearly on malformed input', async () => {
    const notJson = await run(['risk'], '{ nope');
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/not valid JSON/);
    const invalid = await run(['risk'], JSON.stringify({ action: { type: 'launch.missiles' }, title: 'x' }));
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/action.type must be one of/);
    expect((await run(['risk'], '')).stderr).toMatch(/got nothing/);
    expect((await run(['risk', '--policy'], '{}')).code).toBe(2);
  });
});

describe('as a process', () => {
  it('npx tsx src/main.ts redact works end to end', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const child = spawn('npx', ['tsx', 'src/main.ts', 'redact'], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end(`TOKEN=${token}\n`);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(out).toBe('TOKEN=[REDACTED:github-pat]\n');
  });
});
