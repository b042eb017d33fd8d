/** `ony init codex|cursor|gemini`: writes or merges ony's hook into the agent's config file. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInMemory } from '../helpers/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ony-init-agents-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const init = (agent: string, file: string, ...args: string[]) =>
  runInMemory(['init', agent, '--file', file, ...args], { env: {} });
const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;

describe('ony init cursor', () => {
  it('creates .cursor/hooks.json with the three events', async () => {
    const file = join(dir, 'new', '.cursor', 'hooks.json');
    const r = await init('cursor', file);
    expect(r.code, r.stderr).toBe(0);
    expect(await readJson(file)).toEqual({
      version: 1,
      hooks: {
        beforeShellExecution: [{ command: 'ony hook cursor', timeout: 60 }],
        beforeMCPExecution: [{ command: 'ony hook cursor', timeout: 60 }],
        preToolUse: [{ command: 'ony hook cursor', timeout: 60, matcher: 'Write|StrReplace|Edit|Delete' }],
      },
    });
  });

  it('keeps everything already there, and a second run changes nothing', async () => {
    const file = join(dir, 'cursor-merge.json');
    const existing = {
      version: 1,
      $schema: 'https://example.com/hooks.schema.json',
      hooks: {
        beforeShellExecution: [{ command: './hooks/block-git-reset-hard.sh' }],
        afterFileEdit: [{ command: './hooks/format.sh' }],
      },
    };
    await writeFile(file, JSON.stringify(existing, null, 4));
    expect((await init('cursor', file, '--budget', '120')).code).toBe(0);
    const once = await readFile(file, 'utf8');
    const merged = JSON.parse(once) as { hooks: Record<string, unknown[]> } & Record<string, unknown>;
    expect(merged.$schema).toBe(existing.$schema);
    expect(merged.hooks.afterFileEdit).toEqual(existing.hooks.afterFileEdit);
    expect(merged.hooks.beforeShellExecution).toEqual([
      { command: './hooks/block-git-reset-hard.sh' },
      { command: 'ony hook cursor --budget 120', timeout: 130 },
    ]);
    const again = await init('cursor', file, '--budget', '120');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already there');
    expect(await readFile(file, 'utf8')).toBe(once);
    // Another budget replaces ony's entries, not adds to them.
    expect((await init('cursor', file)).code).toBe(0);
    const updated = await readJson(file);
    expect((updated.hooks as Record<string, unknown[]>).beforeShellExecution).toEqual([
      { command: './hooks/block-git-reset-hard.sh' },
      { command: 'ony hook cursor', timeout: 60 },
    ]);
  });
});

describe('ony init gemini', () => {
  it('merges a BeforeTool group into settings.json, keeping the rest; a second run changes nothing', async () => {
    const file = join(dir, 'gemini-settings.json');
    const existing = {
      theme: 'GitHub',
      mcpServers: { fs: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem'] } },
      hooks: {
        BeforeTool: [{ matcher: 'read_.*', hooks: [{ type: 'command', command: './log.sh' }] }],
        AfterTool: [{ hooks: [{ type: 'command', command: './after.sh' }] }],
      },
    };
    await writeFile(file, JSON.stringify(existing));
    expect((await init('gemini', file)).code).toBe(0);
    const once = await readFile(file, 'utf8');
    const merged = JSON.parse(once) as typeof existing;
    expect(merged.theme).toBe('GitHub');
    expect(merged.mcpServers).toEqual(existing.mcpServers);
    expect(merged.hooks.AfterTool).toEqual(existing.hooks.AfterTool);
    expect(merged.hooks.BeforeTool).toEqual([
      existing.hooks.BeforeTool[0],
      {
        matcher: 'run_shell_command|write_file|replace|mcp__.*',
        hooks: [
          {
            type: 'command',
            name: 'ony',
            command: 'ony hook gemini',
            timeout: 60_000,
            description: 'Asking ony for approval…',
          },
        ],
      },
    ]);
    const again = await init('gemini', file);
    expect(again.code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(once);
  });

  it('refuses a file that is not a JSON object, and leaves it as it was', async () => {
    const file = join(dir, 'gemini-bad.json');
    await writeFile(file, '{"theme": ');
    const r = await init('gemini', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not valid JSON.*was not changed/);
    expect(await readFile(file, 'utf8')).toBe('{"theme": ');
    const bad = await init('gemini', file, '--matcher', '(');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--matcher must be a regular expression');
  });
});

describe('ony init codex', () => {
  const existing = `model = "gpt-5-codex"
approval_policy = "on-request"

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]

[[hooks.PostToolUse]]
[[hooks.PostToolUse.hooks]]
type = "command"
command = "./log.sh"
`;

  it('appends a delimited [[hooks.PreToolUse]] block, keeps every byte already there, and a second run changes nothing', async () => {
    const file = join(dir, 'codex', 'config.toml');
    await mkdir(join(dir, 'codex'), { recursive: true });
    await writeFile(file, existing);
    const r = await init('codex', file);
    expect(r.code, r.stderr).toBe(0);
    const once = await readFile(file, 'utf8');
    expect(once.startsWith(existing)).toBe(true);
    expect(once.slice(existing.length)).toBe(`
# >>> ony hook (written by \`ony init codex\`; replaced when it runs again) >>>
[[hooks.PreToolUse]]
[[hooks.PreToolUse.hooks]]
type = "command"
command = "ony hook codex"
timeout = 60
statusMessage = "Asking ony for approval…"
# <<< ony hook <<<
`);
    const again = await init('codex', file);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already there');
    expect(await readFile(file, 'utf8')).toBe(once);
    // Another budget or command replaces the block in place; what follows it stays.
    await writeFile(file, `${once}\n[profiles.fast]\nmodel = "o4-mini"\n`);
    expect(
      (await init('codex', file, '--budget', '100', '--command', '/opt/ony/bin/ony hook codex --budget 100'))
        .code,
    ).toBe(0);
    const updated = await readFile(file, 'utf8');
    expect(updated.match(/\[\[hooks\.PreToolUse\]\]/g)).toHaveLength(1);
    expect(updated).toContain('command = "/opt/ony/bin/ony hook codex --budget 100"\ntimeout = 110\n');
    expect(updated.startsWith(existing)).toBe(true);
    expect(updated.endsWith('# <<< ony hook <<<\n\n[profiles.fast]\nmodel = "o4-mini"\n')).toBe(true);
  });

  it('refuses a file whose hooks.PreToolUse cannot take another table, or a broken block, unchanged', async () => {
    for (const text of [
      '[hooks]\nPreToolUse = [{ hooks = [{ type = "command", command = "x" }] }]\n',
      '[hooks.PreToolUse]\nmatcher = "Bash"\n',
      `model = "x"\n# >>> ony hook (written by \`ony init codex\`; replaced when it runs again) >>>\n[[hooks.PreToolUse]]\n`,
    ]) {
      const file = join(dir, 'codex-bad.toml');
      await writeFile(file, text);
      const r = await init('codex', file);
      expect(r.code, text).toBe(1);
      expect(r.stderr).toContain('was not changed');
      expect(await readFile(file, 'utf8')).toBe(text);
    }
  });

  it('escapes the command as a TOML string', async () => {
    const file = join(dir, 'codex-quote.toml');
    expect((await init('codex', file, '--command', 'C:\\ony\\ony.cmd hook codex "x"')).code).toBe(0);
    expect(await readFile(file, 'utf8')).toContain('command = "C:\\\\ony\\\\ony.cmd hook codex \\"x\\""\n');
  });
});
