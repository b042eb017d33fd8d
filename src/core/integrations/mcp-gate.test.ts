import { describe, expect, it } from 'vitest';
import { deriveRisk } from '../risk/index.js';
import { parseGateConfig, refusalText, ruleFor, toolCallHandoff } from './mcp-gate.js';

/** The org in the gate's docs: MCP tools as such are trusted (low); arguments and hints still raise. */
const trusting = { reason_levels: { mcp_tool: 'low' as const } };

describe('toolCallHandoff: the server reads the arguments, hints only raise', () => {
  it('a plain tool is an MCP tool (medium by default), with the arguments as JSON', () => {
    const h = toolCallHandoff('fs', 'read_file', { path: '/srv/a.txt' }, { readOnlyHint: true });
    expect(h.action).toEqual({ type: 'other', target: 'mcp__fs__read_file' });
    expect(h.payload).toEqual({ kind: 'text', content: JSON.stringify({ path: '/srv/a.txt' }, null, 2) });
    expect(h.summary).toContain('Arguments: path: "/srv/a.txt"; all attached.');
    expect(deriveRisk(h).level).toBe('medium');
    expect(deriveRisk(h, trusting).level).toBe('low');
  });

  it('a command argument is read as a command, whatever the tool says of itself', () => {
    const h = toolCallHandoff('shell', 'run', { command: 'rm -rf /', cwd: '/' }, { readOnlyHint: true });
    expect(h.payload?.kind).toBe('command');
    expect(deriveRisk(h, trusting).level).toBe('critical');
  });

  it('a sql argument is read as SQL', () => {
    const h = toolCallHandoff('db', 'query', { sql: 'DROP TABLE users' }, undefined);
    expect(h.payload).toEqual({ kind: 'sql', content: 'DROP TABLE users' });
    expect(['high', 'critical']).toContain(deriveRisk(h, trusting).level);
  });

  it('destructiveHint raises above a lowered mcp_tool; readOnlyHint never lowers', () => {
    const destructive = toolCallHandoff('fs', 'write_file', { path: 'a' }, { destructiveHint: true });
    expect(destructive.title).toBe('MCP tool fs: write_file (destructive)');
    expect(deriveRisk(destructive, trusting).level).toBe('medium');
    const lying = toolCallHandoff('x', 'run', { query: 'DELETE FROM orders' }, { readOnlyHint: true });
    expect(deriveRisk(lying, trusting).level).not.toBe('low');
  });
});

describe('parseGateConfig', () => {
  it('accepts stdio and HTTP upstreams and deny/ask rules', () => {
    const r = parseGateConfig({
      upstreams: { fs: { command: 'npx', args: ['-y', 'x'] }, docs: { url: 'https://mcp.example.com/mcp' } },
      rules: [{ tool: 'delete_*', action: 'deny' }],
    });
    expect(r).toEqual({
      ok: true,
      value: {
        upstreams: [
          { name: 'fs', command: 'npx', args: ['-y', 'x'] },
          { name: 'docs', url: 'https://mcp.example.com/mcp' },
        ],
        rules: [{ upstream: '*', tool: 'delete_*', action: 'deny' }],
      },
    });
  });

  it('names every error', () => {
    const r = parseGateConfig({
      upstreams: {
        'bad name': { command: 'x' },
        a: { args: [] },
        b: { url: 'ftp://x' },
        c: { command: 'x', shell: true },
      },
      rules: [{ tool: '*', action: 'allow' }, { action: 'deny' }],
      extra: 1,
    });
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.errors).toEqual([
      'the configuration: unknown key "extra" (allowed: upstreams, rules)',
      'upstreams.bad name: the name must match [A-Za-z0-9_-]{1,64}',
      'upstreams.a needs "command" (a program to start, speaking MCP on stdio) or "url"',
      'upstreams.b.url must be an http(s) URL (a Streamable HTTP MCP endpoint)',
      'upstreams.c: unknown key "shell" (allowed: command, args, env, cwd)',
      'rules[0].action "allow" is not allowed locally: only the server\'s risk policy may lower a call\'s risk (see docs/integrations.md)',
      'rules[1].tool must be a glob string',
    ]);
    expect(parseGateConfig({ upstreams: {} }).ok).toBe(false);
    expect(parseGateConfig([]).ok).toBe(false);
  });

  it('ruleFor: the first matching rule, else ask', () => {
    const rules = [
      { upstream: 'fs', tool: 'move_*', action: 'deny' as const },
      { upstream: '*', tool: '*', action: 'ask' as const },
    ];
    expect(ruleFor(rules, 'fs', 'move_file')).toBe('deny');
    expect(ruleFor(rules, 'git', 'move_file')).toBe('ask');
    expect(ruleFor([], 'fs', 'x')).toBe('ask');
  });
});

it('refusalText carries the reason and the comment', () => {
  const o = { id: 'h1', shortCode: 'K7PQ2M', riskLevel: 'medium', channel: 'slack', comment: 'not today' };
  expect(refusalText('fs', 'write_file', { ...o, status: 'denied', decidedBy: 'Mia' })).toBe(
    'DENIED by Mia via slack: not today. The tool "write_file" of "fs" was not run (handoff h1, code K7PQ2M, risk medium).',
  );
  expect(
    refusalText('fs', 'write_file', { ...o, status: 'denied', decidedBy: 'Mia', reason: 'wrong_target' }),
  ).toBe(
    'DENIED by Mia via slack (reason: wrong target, wrong_target): not today. The tool "write_file" of "fs" was not run (handoff h1, code K7PQ2M, risk medium).',
  );
  expect(refusalText('fs', 'w', { ...o, status: 'expired', decidedBy: null, comment: null })).toMatch(
    /^EXPIRED/,
  );
});
