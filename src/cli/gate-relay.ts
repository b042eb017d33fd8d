/**
 * `ony gate`: what passes between an upstream MCP server and the gate's client besides tools/list,
 * resources and prompts (src/cli/gate.ts). What is relayed and refused is decided in
 * src/core/integrations/mcp-gate-relay.ts.
 *
 * The upstreams are connected while the client's `initialize` waits for its answer: each upstream
 * must be told the client's capabilities (sampling, elicitation, roots) when it connects, and the
 * client must be told the upstreams' (list changes, subscriptions, logging) in that answer. So the
 * gate reads the client's first message itself, connects the upstreams, builds its server with
 * the capabilities now known, and hands it the held message (`HeldTransport`).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  ElicitRequestSchema,
  ElicitationCompleteNotificationSchema,
  ElicitResultSchema,
  ErrorCode,
  ListRootsRequestSchema,
  ListRootsResultSchema,
  LoggingMessageNotificationSchema,
  McpError,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type ClientCapabilities,
  type JSONRPCMessage,
  type ServerNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { relayRefusal } from '../core/integrations/mcp-gate-relay.js';

/** A relayed request waits for a human in the client (a sampling approval, a form): give it time. */
const RELAY_TIMEOUT_MS = 10 * 60_000;

/**
 * Holds what the client sends until the gate's server connects to it, then passes it on in order.
 * `first` is the client's first message (its `initialize`), or undefined when it closed before.
 */
export class HeldTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: Transport['onclose'];
  onerror?: Transport['onerror'];
  readonly first: Promise<JSONRPCMessage | undefined>;
  private readonly held: JSONRPCMessage[] = [];

  constructor(private readonly inner: Transport) {
    let first: (m: JSONRPCMessage | undefined) => void = () => undefined;
    this.first = new Promise((resolve) => (first = resolve));
    inner.onmessage = (message, extra) => {
      first(message);
      if (this.onmessage !== undefined) this.onmessage(message, extra);
      else this.held.push(message);
    };
    inner.onclose = () => {
      first(undefined);
      this.onclose?.();
    };
    inner.onerror = (error) => this.onerror?.(error);
  }

  /** Starts reading the client; call once, before the server connects. */
  listen(): Promise<void> {
    return this.inner.start();
  }

  /** Called by the server's connect, once its handlers are in place: the held messages go first. */
  async start(): Promise<void> {
    for (const message of this.held.splice(0)) this.onmessage?.(message);
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The gate's side of the relay, as an upstream's client sees it. */
export interface GateSide {
  /** The gate's server once it is connected to its client. */
  readonly server: Promise<Server>;
  /** What the gate's client declared at initialize. */
  readonly downstream: ClientCapabilities | undefined;
}

/**
 * Installs the relay on a new upstream client, before it connects: the upstream's notifications go
 * to the gate's client unchanged, and its sampling, elicitation and roots requests go to the client
 * (when declared) with the answer back. Every other request from the upstream gets an MCP error.
 */
export function relayFromUpstream(client: Client, upstream: string, gate: GateSide): void {
  const notify = (n: ServerNotification) =>
    // Before the gate's client is connected, notifications wait for it (then go in order).
    void gate.server.then((s) => s.notification(n)).catch(() => undefined);
  client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => notify(n));
  client.setNotificationHandler(ResourceListChangedNotificationSchema, (n) => notify(n));
  client.setNotificationHandler(PromptListChangedNotificationSchema, (n) => notify(n));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => notify(n));
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => notify(n));
  // The end of a URL elicitation (the SDK sends it only to a client that declared URL elicitation).
  client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => notify(n));

  const refuse = (method: string, params: unknown) => {
    const refusal = relayRefusal(upstream, method, params, gate.downstream);
    if (refusal !== undefined)
      throw new McpError(
        method === 'sampling/createMessage' && gate.downstream?.sampling !== undefined
          ? ErrorCode.InvalidParams
          : ErrorCode.MethodNotFound,
        refusal,
      );
  };
  const options = (signal: AbortSignal) => ({ signal, timeout: RELAY_TIMEOUT_MS });
  // The SDK lets a client handle only what it declared; the rest reaches the fallback below.
  if (gate.downstream?.sampling !== undefined)
    client.setRequestHandler(CreateMessageRequestSchema, async (request, extra) => {
      refuse(request.method, request.params);
      return (await gate.server).request(request, CreateMessageResultSchema, options(extra.signal));
    });
  if (gate.downstream?.elicitation !== undefined)
    client.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
      refuse(request.method, request.params);
      return (await gate.server).request(request, ElicitResultSchema, options(extra.signal));
    });
  if (gate.downstream?.roots !== undefined)
    client.setRequestHandler(ListRootsRequestSchema, async (request, extra) => {
      refuse(request.method, request.params);
      return (await gate.server).request(request, ListRootsResultSchema, options(extra.signal));
    });
  client.fallbackRequestHandler = async (request) => {
    refuse(request.method, request.params);
    throw new McpError(ErrorCode.MethodNotFound, `ony gate does not relay "${request.method}"`);
  };
}
