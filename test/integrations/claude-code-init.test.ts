/** `ony init claude-code`: writes or merges ony's hook into a Claude Code settings file. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInMemory } from '../helpers/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ony-init-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const init = (file: string, ...args: string[]) =>
  runInMemory(['init', 'claude-code', '--settings', file, ...args], {
    env: { ONY_URL: 'https://ony.example.com/' },
  });
const read = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;

describe('ony init claude-code', () => {
  it('creates .claude/settings.json with the command hook, a timeout above the budget, fail-closed', async () => {
    const file = join(dir, 'new', '.claude', 'settings.json');
    const r = await init(file);
    expect(r.code, r.stderr).toBe(0);
    expect(await read(file)).toEqual({
      hooks: {
        PreToolUse: [
          {
            matcher: 'Bash|Write|Edit|MultiEdit|NotebookEdit|mcp__.*',
            hooks: [
              {
                type: 'command',
                command: 'ony hook claude-code',
                timeout: 60,
                statusMessage: 'Asking ony for approval…',
                onFailure: 'block',
              },
            ],
          },
        ],
      },
    });
    expect(r.stdout).toContain('created');
    expect(await readFile(file, 'utf8')).not.toContain('ony_dev_');
  });

  it('keeps everything already there, and a second run changes nothing', async () => {
    const file = join(dir, 'merge.json');
    const existing = {
      permissions: { allow: ['Bash(npm test)'], deny: ['Read(./.env)'] },
      env: { FOO: '1' },
      hooks: {
        PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: '/usr/local/bin/guard.sh' }] }],
        PostToolUse: [{ matcher: 'Write', hooks: [{ type: 'command', command: 'prettier --write' }] }],
      },
    };
    await writeFile(file, JSON.stringify(existing, null, 4));
    expect((await init(file, '--budget', '120')).code).toBe(0);
    const once = await readFile(file, 'utf8');
    const merged = JSON.parse(once) as typeof existing & { hooks: { PreToolUse: unknown[] } };
    expect(merged.permissions).toEqual(existing.permissions);
    expect(merged.env).toEqual(existing.env);
    expect(merged.hooks.PostToolUse).toEqual(existing.hooks.PostToolUse);
    expect(merged.hooks.PreToolUse).toEqual([
      existing.hooks.PreToolUse[0],
      {
        matcher: 'Bash|Write|Edit|MultiEdit|NotebookEdit|mcp__.*',
        hooks: [
          {
            type: 'command',
            command: 'ony hook claude-code --budget 120',
            timeout: 130,
            statusMessage: 'Asking ony for approval…',
            onFailure: 'block',
          },
        ],
      },
    ]);
    const again = await init(file, '--budget', '120');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already there');
    expect(await readFile(file, 'utf8')).toBe(once);
  });

  it('--http writes the http hook with the token from the environment; switching forms replaces ony’s hook', async () => {
    const file = join(dir, 'http.json');
    await init(file);
    expect((await init(file, '--http', '--matcher', '*')).code).toBe(0);
    const s = (await read(file)) as { hooks: { PreToolUse: { matcher: string; hooks: unknown[] }[] } };
    expect(s.hooks.PreToolUse).toEqual([
      {
        matcher: '*',
        hooks: [
          {
            type: 'http',
            url: 'https://ony.example.com/v1/integrations/claude-code/pre-tool-use?budget_s=50',
            headers: { Authorization: 'Bearer $ONY_TOKEN' },
            allowedEnvVars: ['ONY_TOKEN'],
            timeout: 60,
            statusMessage: 'Asking ony for approval…',
            onFailure: 'block',
          },
        ],
      },
    ]);
  });

  it('keeps other hooks that share a matcher group with ony’s', async () => {
    const file = join(dir, 'shared-group.json');
    await writeFile(
      file,
      JSON.stringify({
        hooks: {
          PreToolUse: [
            {
              matcher: 'Bash',
              hooks: [
                { type: 'command', command: 'ony hook claude-code' },
                { type: 'command', command: 'audit-log.sh' },
              ],
            },
          ],
        },
      }),
    );
    expect((await init(file)).code).toBe(0);
    const s = (await read(file)) as {
      hooks: { PreToolUse: { matcher: string; hooks: { command: string }[] }[] };
    };
    expect(s.hooks.PreToolUse.map((g) => [g.matcher, g.hooks.map((h) => h.command)])).toEqual([
      ['Bash', ['audit-log.sh']],
      ['Bash|Write|Edit|MultiEdit|NotebookEdit|mcp__.*', ['ony hook claude-code']],
    ]);
  });

  it.each([
    ['not JSON', '{"hooks": ', /not valid JSON/],
    ['an array', '[]', /JSON object/],
    ['PreToolUse not an array', '{"hooks": {"PreToolUse": {}}}', /not an array/],
  ])('refuses a settings file that is %s and leaves it as it was', async (_n, content, message) => {
    const file = join(dir, `bad-${Math.random()}.json`);
    await writeFile(file, content);
    const r = await init(file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('was not changed');
    expect(await readFile(file, 'utf8')).toBe(content);
  });

  it('refuses bad flags', async () => {
    const file = join(dir, 'flags.json');
    expect((await init(file, '--budget', '0')).code).toBe(2);
    expect((await init(file, '--budget', '9999')).code).toBe(2);
    expect((await init(file, '--matcher', '(')).code).toBe(2);
    expect((await init(file, '--wat')).code).toBe(2);
    expect((await init(file, '--http', '--command', 'x')).code).toBe(2);
    await expect(readFile(file, 'utf8')).rejects.toThrow();
  });
});
