import { describe, expect, it } from 'vitest';
import { mcpToolNames, mcpToolRuleFor } from './mcp-tools.js';
import type { McpToolRule } from './types.js';

describe('MCP tool rules', () => {
  it('reads a target at every "__" split, and nothing else as an MCP tool', () => {
    expect(mcpToolNames('mcp__fs__read_file')).toEqual([{ upstream: 'fs', tool: 'read_file' }]);
    expect(mcpToolNames('mcp__a__b__c')).toEqual([
      { upstream: 'a', tool: 'b__c' },
      { upstream: 'a__b', tool: 'c' },
    ]);
    for (const target of [undefined, 'fs__read', 'mcp__fs', 'mcp____x', 'mcp__fs__', 'MCP__fs__x'])
      expect(mcpToolNames(target)).toEqual([]);
  });

  it('answers the first matching rule and its index; globs are case-insensitive', () => {
    const rules: McpToolRule[] = [
      { upstream: 'github', tool: 'delete_*', action: 'deny' },
      { upstream: '*', tool: 'delete_*', action: 'ask' },
      { upstream: 'f?', tool: '*', action: 'allow' },
    ];
    expect(mcpToolRuleFor(rules, 'mcp__GitHub__Delete_Repo')).toEqual({ action: 'deny', index: 0 });
    expect(mcpToolRuleFor(rules, 'mcp__gitlab__delete_repo')).toEqual({ action: 'ask', index: 1 });
    expect(mcpToolRuleFor(rules, 'mcp__fs__write')).toEqual({ action: 'allow', index: 2 });
    expect(mcpToolRuleFor(rules, 'mcp__fss__write')).toBeUndefined();
    expect(mcpToolRuleFor(rules, 'deploy-prod')).toBeUndefined();
    expect(mcpToolRuleFor([], 'mcp__fs__write')).toBeUndefined();
  });
});
