/**
 * `ony gate`, what it relays between its client and the upstream MCP servers, the pure part: the
 * capabilities the gate declares on each side and the server-to-client requests it refuses.
 * src/cli/gate-relay.ts does the relaying.
 *
 * The gate's client sees one server; each upstream sees one client. Each side is told only what is
 * true of the other: the gate declares to its client the list-change, subscription and logging
 * capabilities some upstream has, and to every upstream the sampling, elicitation and roots
 * capabilities its client declared (nothing else: no tasks, no experimental features). What is
 * relayed never runs a tool past the gate: only these three requests go from an upstream to the
 * client, a sampling request that would let the model pick tools for the upstream to run (sampling
 * with `tools`, `toolChoice` or tool results) is refused, and nothing from an upstream ever becomes
 * a request to another upstream.
 */
import type { ClientCapabilities, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';

/** The server-to-client requests the gate relays, and the client capability each needs. */
export const RELAYED_REQUESTS = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
} as const;

export type RelayedRequest = keyof typeof RELAYED_REQUESTS;

/** What the gate declares to each upstream: its client's sampling, elicitation and roots, no more. */
export function upstreamClientCapabilities(downstream: ClientCapabilities | undefined): ClientCapabilities {
  const out: ClientCapabilities = {};
  // Sampling with tools lets the model choose tool calls that the upstream then runs itself,
  // never through the gate: the gate does not offer it.
  if (downstream?.sampling !== undefined) out.sampling = {};
  if (downstream?.elicitation !== undefined) out.elicitation = { ...downstream.elicitation };
  if (downstream?.roots !== undefined)
    out.roots = downstream.roots.listChanged === true ? { listChanged: true } : {};
  return out;
}

/**
 * What the gate declares to its client: tools, resources and prompts always (it lists them, maybe
 * empty), and list changes, subscriptions and logging when at least one upstream offers them.
 */
export function gateServerCapabilities(
  upstreams: readonly (ServerCapabilities | undefined)[],
): ServerCapabilities {
  const some = (test: (c: ServerCapabilities) => boolean) =>
    upstreams.some((c) => c !== undefined && test(c));
  const listChanged = (on: boolean) => (on ? { listChanged: true } : {});
  return {
    tools: listChanged(some((c) => c.tools?.listChanged === true)),
    resources: {
      ...(some((c) => c.resources?.subscribe === true) ? { subscribe: true } : {}),
      ...listChanged(some((c) => c.resources?.listChanged === true)),
    },
    prompts: listChanged(some((c) => c.prompts?.listChanged === true)),
    ...(some((c) => c.logging !== undefined) ? { logging: {} } : {}),
  };
}

/**
 * Why the gate refuses a server-to-client request from an upstream, or undefined to relay it: a
 * method it does not relay, a capability its client did not declare, or sampling with tools.
 */
export function relayRefusal(
  upstream: string,
  method: string,
  params: unknown,
  downstream: ClientCapabilities | undefined,
): string | undefined {
  if (!Object.hasOwn(RELAYED_REQUESTS, method))
    return `ony gate does not relay "${method}" from the upstream "${upstream}" (it relays only ${Object.keys(RELAYED_REQUESTS).join(', ')})`;
  const capability = RELAYED_REQUESTS[method as RelayedRequest];
  if (downstream?.[capability] === undefined)
    return `the MCP client behind ony gate did not declare the "${capability}" capability, so the upstream "${upstream}" cannot send "${method}"`;
  if (method === 'sampling/createMessage' && samplesTools(params))
    return `ony gate does not relay sampling with tools from the upstream "${upstream}": tool calls chosen there would run past the gate's approval`;
  return undefined;
}

function samplesTools(params: unknown): boolean {
  if (typeof params !== 'object' || params === null) return false;
  const p = params as { tools?: unknown; toolChoice?: unknown; messages?: unknown };
  if (p.tools !== undefined || p.toolChoice !== undefined) return true;
  if (!Array.isArray(p.messages)) return false;
  return p.messages.some((m: unknown) => {
    const content = typeof m === 'object' && m !== null ? (m as { content?: unknown }).content : undefined;
    return (Array.isArray(content) ? content : [content]).some(
      (c: unknown) =>
        typeof c === 'object' &&
        c !== null &&
        ['tool_use', 'tool_result'].includes(String((c as { type?: unknown }).type)),
    );
  });
}
