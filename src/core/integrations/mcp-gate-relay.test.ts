import { describe, expect, it } from 'vitest';
import { gateServerCapabilities, relayRefusal, upstreamClientCapabilities } from './mcp-gate-relay.js';

describe('upstreamClientCapabilities: the upstreams are told what the client declared, no more', () => {
  it('passes sampling, elicitation and roots; drops sampling tools, tasks and experimental', () => {
    expect(
      upstreamClientCapabilities({
        sampling: { tools: {}, context: {} },
        elicitation: { form: {}, url: {} },
        roots: { listChanged: true },
        tasks: { list: {} },
        experimental: { x: {} },
      }),
    ).toEqual({ sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } });
    expect(upstreamClientCapabilities({ roots: {} })).toEqual({ roots: {} });
    expect(upstreamClientCapabilities(undefined)).toEqual({});
  });
});

describe('gateServerCapabilities: the client is told what some upstream offers', () => {
  it('list changes, subscriptions and logging only when an upstream has them', () => {
    expect(gateServerCapabilities([{ tools: {} }, undefined])).toEqual({
      tools: {},
      resources: {},
      prompts: {},
    });
    expect(
      gateServerCapabilities([
        { tools: { listChanged: true }, logging: {} },
        { resources: { subscribe: true }, prompts: { listChanged: true } },
        { resources: { listChanged: true } },
      ]),
    ).toEqual({
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      logging: {},
    });
  });
});

describe('relayRefusal: a relayed request never runs a tool past the gate', () => {
  const declared = { sampling: {}, elicitation: {}, roots: {} };
  const message = { role: 'user', content: { type: 'text', text: 'hi' } };

  it('relays the three requests when the client declared them', () => {
    expect(relayRefusal('u', 'sampling/createMessage', { messages: [message], maxTokens: 5 }, declared)).toBe(
      undefined,
    );
    expect(relayRefusal('u', 'elicitation/create', { message: 'name?' }, declared)).toBe(undefined);
    expect(relayRefusal('u', 'roots/list', {}, declared)).toBe(undefined);
  });

  it('refuses what the client did not declare', () => {
    expect(relayRefusal('u', 'roots/list', {}, { sampling: {} })).toBe(
      'the MCP client behind ony gate did not declare the "roots" capability, so the upstream "u" cannot send "roots/list"',
    );
    expect(relayRefusal('u', 'sampling/createMessage', {}, undefined)).toMatch(
      /did not declare the "sampling"/,
    );
  });

  it('refuses anything else, such as a tool call sent back at the gate', () => {
    expect(relayRefusal('u', 'tools/call', { name: 'x' }, declared)).toMatch(
      /^ony gate does not relay "tools\/call" from the upstream "u"/,
    );
    expect(relayRefusal('u', 'toString', {}, declared)).toMatch(/does not relay "toString"/);
  });

  it('refuses sampling with tools, a tool choice or tool results', () => {
    const refused = /does not relay sampling with tools from the upstream "u"/;
    const base = { messages: [message], maxTokens: 5 };
    expect(relayRefusal('u', 'sampling/createMessage', { ...base, tools: [] }, declared)).toMatch(refused);
    expect(
      relayRefusal('u', 'sampling/createMessage', { ...base, toolChoice: { mode: 'auto' } }, declared),
    ).toMatch(refused);
    const toolResult = { role: 'user', content: [{ type: 'tool_result', toolUseId: '1', content: [] }] };
    expect(
      relayRefusal('u', 'sampling/createMessage', { messages: [toolResult], maxTokens: 5 }, declared),
    ).toMatch(refused);
  });
});
