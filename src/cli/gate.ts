/**
 * `ony gate`: an MCP approval gateway. An MCP server on stdio to its client, an MCP client to each
 * upstream (a stdio child process or a Streamable HTTP URL). tools/list, resources and prompts pass
 * through; every tools/call becomes a handoff and is forwarded only once ony approves it. A thin
 * process over the HTTP client, like `ony mcp`: it never loads the server, the database or the config.
 * Stdout carries only MCP messages; notes go to stderr.
 *
 * An upstream that crashes or closes is marked down; the call in flight gets a tool error saying so,
 * and the next call that needs it starts (or reconnects) it again. The upstreams' notifications and
 * their sampling, elicitation and roots requests are relayed (src/cli/gate-relay.ts).
 */
import { readFile } from 'node:fs/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  type ClientCapabilities,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  RootsListChangedNotificationSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  isInitializeRequest,
  type CallToolResult,
  type LoggingLevel,
  type Progress,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { createClient, OnyApiError, type Handoff, type OnyClient } from '@ony/client';
import { gateServerCapabilities, upstreamClientCapabilities } from '../core/integrations/mcp-gate-relay.js';
import {
  parseGateConfig,
  PREFIX_SEPARATOR,
  refusalText,
  ruleFor,
  toolCallHandoff,
  type GateConfig,
  type GateUpstream,
  type ToolAnnotations,
} from '../core/integrations/mcp-gate.js';
import { DEFAULT_URL, deviceAccess, type Command, type CliIo } from './command.js';
import { HeldTransport, relayFromUpstream, type GateSide } from './gate-relay.js';

/** One long-poll slice: a progress notification goes out between slices. */
const SLICE_MS = 10_000;
/** How long past the handoff's expiry the gate keeps asking, so the server can mark it expired. */
const EXPIRY_GRACE_MS = 15_000;
/** An upstream call, once approved, may take this long (the SDK's default is 60 s). */
const UPSTREAM_TIMEOUT_MS = 10 * 60_000;
/** How long the client's initialize waits for the upstreams; a slower one joins later. */
const INITIALIZE_WAIT_MS = 30_000;

const usage = `usage: ony gate [--config ony-gate.json] [--name NAME] [-- <command> [args…] | --url <url>]

An MCP approval gateway: an MCP server on stdin/stdout that passes tools, resources and prompts
through from one or more upstream MCP servers, and asks ony before every tool call. A call runs
only once it is approved (at once when the org's risk policy allows it); a denied or expired call
returns a tool error with the reason and the approver's comment and never reaches the upstream.

  -- <command> [args…]   one upstream: a program speaking MCP on stdio (started by the gate)
  --url <url>            one upstream: a Streamable HTTP MCP endpoint
  --name <name>          the upstream's name (default "upstream"); approvers see it
  --config <file>        upstreams and local rules from a JSON file:
                           {"upstreams": {"fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"]},
                                          "docs": {"url": "https://mcp.example.com/mcp"}},
                            "rules": [{"upstream": "fs", "tool": "move_*", "action": "deny"}]}
                         With several upstreams, tool and prompt names become <upstream>__<name>.
                         A rule's action is deny (refuse without asking) or ask (the default);
                         allowing without a human belongs to the org's risk policy on the server.

Environment:
  ONY_URL     the ony server (default ${DEFAULT_URL})
  ONY_TOKEN   a device token (ony_dev_…), required

Exit codes: 0 when the client closes the session, 2 bad usage or configuration.
See docs/integrations.md ("ony gate") for Claude Desktop, Claude Code and Cursor set-ups.
`;

/** Flags and config file -> the configuration, or a usage error. */
async function configOf(argv: readonly string[]): Promise<GateConfig | string> {
  const dash = argv.indexOf('--');
  const flags = dash === -1 ? argv : argv.slice(0, dash);
  const command = dash === -1 ? [] : argv.slice(dash + 1);
  const values: Record<string, string> = {};
  for (let i = 0; i < flags.length; i++) {
    const m = /^--(config|name|url)(?:=(.*))?$/.exec(flags[i]!);
    if (m === null) return `unexpected argument "${flags[i]}"`;
    const value = m[2] ?? flags[++i];
    if (value === undefined || value === '') return `--${m[1]} needs a value`;
    if (values[m[1]!] !== undefined) return `--${m[1]} given twice`;
    values[m[1]!] = value;
  }
  if (dash !== -1 && command.length === 0) return '"--" must be followed by the upstream command';
  if (values.url !== undefined && command.length > 0) return 'give either --url or -- <command>, not both';
  const name = values.name ?? 'upstream';
  let document: unknown;
  if (values.config !== undefined) {
    let text: string;
    try {
      text = await readFile(values.config, 'utf8');
    } catch (err) {
      return `cannot read ${values.config}: ${err instanceof Error ? err.message : String(err)}`;
    }
    try {
      document = JSON.parse(text);
    } catch (err) {
      return `${values.config} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`;
    }
  } else document = { upstreams: {} };
  // An upstream given by flags joins the file's upstreams (or is the only one).
  if (values.url !== undefined || command.length > 0) {
    if (typeof document === 'object' && document !== null && !Array.isArray(document)) {
      const doc = document as Record<string, unknown>;
      const ups = typeof doc.upstreams === 'object' && doc.upstreams !== null ? doc.upstreams : {};
      if (Object.hasOwn(ups, name)) return `the upstream "${name}" is both in the file and in the flags`;
      document = {
        ...doc,
        upstreams: {
          ...ups,
          [name]:
            values.url !== undefined ? { url: values.url } : { command: command[0], args: command.slice(1) },
        },
      };
    }
  } else if (values.config === undefined)
    return 'no upstream: give -- <command>, --url <url> or --config <file>';
  else if (values.name !== undefined) return '--name names the upstream given by --url or -- <command>';
  const parsed = parseGateConfig(document);
  if (!parsed.ok)
    return `bad configuration${values.config !== undefined ? ` in ${values.config}` : ''}:\n  ${parsed.errors.join('\n  ')}`;
  return parsed.value;
}

/** What each upstream connection gets from the gate. */
interface UpstreamSetup {
  /** Declared to the upstream: the gate's client's sampling, elicitation and roots. */
  readonly capabilities: ClientCapabilities;
  /** Installs the relay on a new client, before it connects. */
  install(client: Client, upstream: string): void;
  /** Restores the client's logging level and subscriptions on a new connection. */
  restore(client: Client, upstream: Upstream): Promise<void>;
}

/** One upstream MCP server, (re)connected on demand. */
class Upstream {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  /** Tool annotations from the last tools/list, by the upstream's own tool name. */
  readonly annotations = new Map<string, ToolAnnotations>();

  constructor(
    readonly spec: GateUpstream,
    private readonly io: CliIo,
    private readonly setup: UpstreamSetup,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  /** The connected client, if any (for what goes only to live upstreams). */
  get live(): Client | undefined {
    return this.client;
  }

  async connected(): Promise<Client> {
    if (this.client !== undefined) return this.client;
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const client = new Client(
      { name: 'ony-gate', version: '1.0.0' },
      { capabilities: this.setup.capabilities },
    );
    this.setup.install(client, this.name);
    const transport =
      'url' in this.spec
        ? new StreamableHTTPClientTransport(
            new URL(this.spec.url),
            this.spec.headers !== undefined ? { requestInit: { headers: { ...this.spec.headers } } } : {},
          )
        : new StdioClientTransport({
            command: this.spec.command,
            args: [...this.spec.args],
            // The upstream gets the usual safe variables and its own, never ONY_TOKEN.
            env: { ...getDefaultEnvironment(), ...this.spec.env },
            ...(this.spec.cwd !== undefined ? { cwd: this.spec.cwd } : {}),
            stderr: 'inherit',
          });
    client.onclose = () => {
      if (this.client === client) {
        this.client = undefined;
        this.io.stderr.write(
          `ony gate: the upstream "${this.name}" closed; it is started again on the next call\n`,
        );
      }
    };
    try {
      await client.connect(transport);
    } catch (err) {
      await client.close().catch(() => undefined);
      throw new UpstreamDown(this.name, err);
    }
    this.client = client;
    await this.setup
      .restore(client, this)
      .catch((err: unknown) =>
        this.io.stderr.write(
          `ony gate: cannot restore the logging level or subscriptions of "${this.name}": ${describeError(err)}\n`,
        ),
      );
    return client;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.close().catch(() => undefined);
  }
}

class UpstreamDown extends Error {
  constructor(upstream: string, cause: unknown) {
    super(
      `the upstream MCP server "${upstream}" is not available: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}

const toolError = (text: string): CallToolResult => ({ content: [{ type: 'text', text }], isError: true });

function describeError(err: unknown): string {
  if (err instanceof OnyApiError) return `${err.detail} [HTTP ${err.status} ${err.code}]`;
  return err instanceof Error ? err.message : String(err);
}

interface Extra {
  readonly signal: AbortSignal;
  readonly _meta?: { progressToken?: string | number } | undefined;
  sendNotification(n: {
    method: 'notifications/progress';
    params: { progressToken: string | number } & Progress;
  }): Promise<void>;
}

/**
 * The progress of one tools/call, to the client's progress token (when it gave one): the gate's own
 * while the call waits for approval, then the upstream's, shifted so that it only ever increases.
 */
function progressOf(extra: Extra) {
  const token = extra._meta?.progressToken;
  let last: number | undefined;
  const send = async (p: Progress) => {
    if (token === undefined || (last !== undefined && p.progress <= last)) return;
    last = p.progress;
    await extra
      .sendNotification({ method: 'notifications/progress', params: { ...p, progressToken: token } })
      .catch(() => undefined);
  };
  return {
    send,
    /** For the upstream's call: undefined when the client asked for no progress. */
    upstream(): ((p: Progress) => void) | undefined {
      if (token === undefined) return undefined;
      const offset = last === undefined ? 0 : last + 1;
      return (p) =>
        void send({
          ...p,
          progress: offset + p.progress,
          ...(p.total !== undefined ? { total: offset + p.total } : {}),
        });
    },
  };
}

/** Waits for the decision in slices, with a progress notification between slices. */
async function waitFor(
  ony: OnyClient,
  created: Handoff,
  extra: Extra,
  progress: ReturnType<typeof progressOf>,
): Promise<Handoff> {
  const lifetime = Date.parse(created.expires_at) - Date.now();
  const deadline = Date.now() + Math.max(0, lifetime) + EXPIRY_GRACE_MS;
  const startedAt = Date.now();
  let current = created;
  while (current.status === 'pending' && Date.now() < deadline && !extra.signal.aborted) {
    await progress.send({
      progress: Math.round((Date.now() - startedAt) / 1000),
      message: `waiting for approval (code ${current.short_code})`,
    });
    current = await ony.waitForDecision(current.id, {
      timeoutMs: Math.min(SLICE_MS, deadline - Date.now()),
      current,
      signal: extra.signal,
    });
  }
  return current;
}

/**
 * Connects the upstreams, declaring the client's capabilities to them, and builds the gate's server,
 * declaring theirs to the client (src/cli/gate-relay.ts says why in this order). Call `connected`
 * once the server is connected to the client: relayed messages wait for it.
 */
async function openGate(
  config: GateConfig,
  ony: OnyClient,
  io: CliIo,
  downstream: ClientCapabilities | undefined,
): Promise<{ server: Server; upstreams: Upstream[]; connected: () => void }> {
  let connected: (s: Server) => void = () => undefined;
  const side: GateSide = { server: new Promise((resolve) => (connected = resolve)), downstream };
  /** What the client set, so that an upstream that reconnects gets it again. */
  let logLevel: LoggingLevel | undefined;
  const subscriptions = new Map<string, Upstream>();
  const setup: UpstreamSetup = {
    capabilities: upstreamClientCapabilities(downstream),
    install: (client, name) => relayFromUpstream(client, name, side),
    async restore(client, upstream) {
      const caps = client.getServerCapabilities();
      if (logLevel !== undefined && caps?.logging !== undefined) await client.setLoggingLevel(logLevel);
      for (const [uri, owner] of subscriptions)
        if (owner === upstream && caps?.resources?.subscribe === true)
          await client.subscribeResource({ uri });
    },
  };
  const upstreams = config.upstreams.map((u) => new Upstream(u, io, setup));
  let waited: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(
      upstreams.map((u) =>
        u.connected().catch((err: unknown) => {
          io.stderr.write(`ony gate: ${describeError(err)}; it is tried again on the next request\n`);
        }),
      ),
    ),
    new Promise((resolve) => (waited = setTimeout(resolve, INITIALIZE_WAIT_MS))),
  ]);
  clearTimeout(waited);
  const capabilities = gateServerCapabilities(upstreams.map((u) => u.live?.getServerCapabilities()));
  const several = upstreams.length > 1;
  const exposed = (u: Upstream, name: string) => (several ? `${u.name}${PREFIX_SEPARATOR}${name}` : name);
  /** An exposed tool or prompt name -> its upstream and its own name. */
  const resolve = (name: string): { upstream: Upstream; name: string } | undefined => {
    if (!several) return { upstream: upstreams[0]!, name };
    const at = name.indexOf(PREFIX_SEPARATOR);
    const upstream = at === -1 ? undefined : upstreams.find((u) => u.name === name.slice(0, at));
    return upstream && { upstream, name: name.slice(at + PREFIX_SEPARATOR.length) };
  };
  /** Resource URIs -> the upstream that listed them. */
  const resourceOwner = new Map<string, Upstream>();
  const ownerOf = (uri: string): Upstream => {
    const owner = resourceOwner.get(uri) ?? (several ? undefined : upstreams[0]);
    if (owner === undefined) throw new Error(`unknown resource "${uri}": list the resources first`);
    return owner;
  };

  const server = new Server(
    { name: 'ony-gate', version: '1.0.0' },
    {
      capabilities,
      instructions:
        'Every tool call through this server is approved by a human (or the org policy) in ony before it runs. A call may wait; a refused call returns an error saying why: do not retry it unchanged.',
    },
  );

  /** Each upstream's answer, skipping upstreams that do not offer the capability. */
  async function gather<T>(
    cap: 'tools' | 'resources' | 'prompts',
    fn: (u: Upstream, c: Client) => Promise<T[]>,
  ) {
    const out: T[] = [];
    const failures: string[] = [];
    for (const u of upstreams) {
      try {
        const c = await u.connected();
        if (c.getServerCapabilities()?.[cap] === undefined) continue;
        out.push(...(await fn(u, c)));
      } catch (err) {
        // One upstream down leaves the others listed; it is tried again on the next request.
        failures.push(err instanceof Error ? err.message : String(err));
        io.stderr.write(`ony gate: cannot list the ${cap} of "${u.name}": ${failures.at(-1)}\n`);
      }
    }
    if (failures.length === upstreams.length) throw new Error(failures.join('; '));
    return out;
  }

  async function allPages<T>(
    page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>,
  ) {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const p = await page(cursor);
      items.push(...p.items);
      cursor = p.nextCursor;
    } while (cursor !== undefined);
    return items;
  }

  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: await gather<Tool>('tools', async (u, c) => {
      const tools = await allPages(async (cursor) => {
        const r = await c.listTools(cursor !== undefined ? { cursor } : {});
        return { items: r.tools, nextCursor: r.nextCursor };
      });
      u.annotations.clear();
      for (const t of tools) u.annotations.set(t.name, t.annotations ?? {});
      return tools.map((t) => ({ ...t, name: exposed(u, t.name) }));
    }),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const target = resolve(request.params.name);
    if (target === undefined) return toolError(`unknown tool "${request.params.name}"`);
    const { upstream, name } = target;
    const args = request.params.arguments ?? {};
    if (ruleFor(config.rules, upstream.name, name) === 'deny') {
      return toolError(
        `DENIED by the gate's rules (ony-gate.json). The tool "${name}" of "${upstream.name}" was not run.`,
      );
    }
    if (!upstream.annotations.has(name)) {
      // A client that calls without listing first: read the annotations (hints may only raise).
      try {
        const c = await upstream.connected();
        const r = await c.listTools();
        for (const t of r.tools) upstream.annotations.set(t.name, t.annotations ?? {});
      } catch (err) {
        return toolError(describeError(err));
      }
    }
    const progress = progressOf(extra);
    let decided: Handoff;
    try {
      const created = await ony.createHandoff(
        toolCallHandoff(upstream.name, name, args, upstream.annotations.get(name)),
      );
      decided = created.status === 'pending' ? await waitFor(ony, created, extra, progress) : created;
      if (decided.status === 'pending' && extra.signal.aborted) {
        // Nobody waits for the answer any more: withdraw it so no approver is paged for it.
        await ony.cancelHandoff(decided.id).catch(() => undefined);
      }
    } catch (err) {
      return toolError(
        `ony could not be asked, so the tool "${name}" of "${upstream.name}" was not run: ${describeError(err)}`,
      );
    }
    if (decided.status !== 'approved') {
      return toolError(
        refusalText(upstream.name, name, {
          id: decided.id,
          shortCode: decided.short_code,
          status: decided.status,
          riskLevel: decided.risk.level,
          decidedBy: decided.decision?.decided_by?.name ?? null,
          channel: decided.decision?.channel ?? null,
          comment: decided.decision?.comment ?? null,
          reason: decided.decision?.reason ?? null,
        }),
      );
    }
    try {
      const c = await upstream.connected();
      // The client's cancellation reaches the upstream: the SDK sends notifications/cancelled on abort.
      const onprogress = progress.upstream();
      return (await c.callTool({ name, arguments: args }, undefined, {
        timeout: UPSTREAM_TIMEOUT_MS,
        signal: extra.signal,
        ...(onprogress !== undefined ? { onprogress, resetTimeoutOnProgress: true } : {}),
      })) as CallToolResult;
    } catch (err) {
      return toolError(
        `approved (handoff ${decided.id}), but the upstream MCP server "${upstream.name}" failed while running "${name}": ${describeError(err)}`,
      );
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, async () => ({
    resources: await gather<Resource>('resources', async (u, c) => {
      const items = await allPages(async (cursor) => {
        const r = await c.listResources(cursor !== undefined ? { cursor } : {});
        return { items: r.resources, nextCursor: r.nextCursor };
      });
      for (const r of items) resourceOwner.set(r.uri, u);
      return items;
    }),
  }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: await gather<ResourceTemplate>('resources', async (_u, c) =>
      allPages(async (cursor) => {
        const r = await c.listResourceTemplates(cursor !== undefined ? { cursor } : {});
        return { items: r.resourceTemplates, nextCursor: r.nextCursor };
      }),
    ),
  }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request) =>
    (await ownerOf(request.params.uri).connected()).readResource(request.params),
  );
  if (capabilities.resources?.subscribe === true) {
    server.setRequestHandler(SubscribeRequestSchema, async (request) => {
      const owner = ownerOf(request.params.uri);
      await (await owner.connected()).subscribeResource(request.params);
      subscriptions.set(request.params.uri, owner);
      return {};
    });
    server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
      const owner = ownerOf(request.params.uri);
      subscriptions.delete(request.params.uri);
      await (await owner.connected()).unsubscribeResource(request.params);
      return {};
    });
  }
  if (capabilities.logging !== undefined) {
    server.setRequestHandler(SetLevelRequestSchema, async (request) => {
      logLevel = request.params.level;
      await Promise.all(
        upstreams.map((u) =>
          u.live?.getServerCapabilities()?.logging !== undefined
            ? u.live.setLoggingLevel(request.params.level)
            : undefined,
        ),
      );
      return {};
    });
  }
  server.setNotificationHandler(RootsListChangedNotificationSchema, () => {
    for (const u of upstreams) void u.live?.sendRootsListChanged().catch(() => undefined);
  });
  server.setRequestHandler(ListPromptsRequestSchema, async () => ({
    prompts: await gather<Prompt>('prompts', async (u, c) => {
      const items = await allPages(async (cursor) => {
        const r = await c.listPrompts(cursor !== undefined ? { cursor } : {});
        return { items: r.prompts, nextCursor: r.nextCursor };
      });
      return items.map((p) => ({ ...p, name: exposed(u, p.name) }));
    }),
  }));
  server.setRequestHandler(GetPromptRequestSchema, async (request) => {
    const target = resolve(request.params.name);
    if (target === undefined) throw new Error(`unknown prompt "${request.params.name}"`);
    return (await target.upstream.connected()).getPrompt({ ...request.params, name: target.name });
  });

  return { server, upstreams, connected: () => connected(server) };
}

export const command: Command = {
  usage,
  async run(argv, io) {
    const config = await configOf(argv);
    if (typeof config === 'string') {
      io.stderr.write(`ony gate: ${config}\n\n${usage}`);
      return 2;
    }
    const access = deviceAccess(io.env);
    if ('error' in access) {
      io.stderr.write(`ony gate: ${access.error}\n`);
      return 2;
    }
    const { url, token } = access;
    const transport = new HeldTransport(new StdioServerTransport(io.stdin, io.stdout));
    // The client closes stdin to end the session (the MCP stdio transport's shutdown).
    let end: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => {
      end = resolve;
      io.stdin.once('end', resolve);
      io.stdin.once('close', resolve);
    });
    await transport.listen();
    const first = await Promise.race([transport.first, ended.then(() => undefined)]);
    if (first === undefined) return 0;
    const { server, upstreams, connected } = await openGate(
      config,
      createClient({ baseUrl: url, token }),
      io,
      isInitializeRequest(first) ? first.params.capabilities : undefined,
    );
    server.onclose = () => end();
    await server.connect(transport);
    connected();
    io.stderr.write(`ony gate: gating ${upstreams.map((u) => u.name).join(', ')} through ${url} on stdio\n`);
    await ended;
    await server.close();
    await Promise.all(upstreams.map((u) => u.close()));
    return 0;
  },
};
