/**
 * `ony mcp`: an MCP server over stdio for agents (Claude Desktop, Claude Code, any MCP client). A thin
 * process over the HTTP client: it reads ONY_URL and ONY_TOKEN like `ony request` and never loads the
 * server, the database driver or the config. Stdout carries only MCP messages; notes go to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createClient } from '@ony/client';
import { clientApprovalPort } from '../integrations/mcp/client-port.js';
import { createApprovalMcpServer, DEFAULT_WAIT_S, MAX_WAIT_S } from '../integrations/mcp/tools.js';
import { DEFAULT_URL, deviceAccess, type Command } from './command.js';

const usage = `usage: ony mcp

Runs an MCP (Model Context Protocol) server on stdin/stdout with two tools:
  request_approval  ask a human to approve an action (action_type, title, summary, target,
                    payload, context, wait_s) and wait up to wait_s seconds for the decision
  get_approval      read an approval request by id, optionally waiting (wait_s)
wait_s is 0..${MAX_WAIT_S}, default ${DEFAULT_WAIT_S}. The server derives the risk; the tools take no risk input.

Environment:
  ONY_URL     the ony server (default ${DEFAULT_URL})
  ONY_TOKEN   a device token (ony_dev_…), required

Claude Code: claude mcp add -e ONY_URL=https://ony.example.com -e ONY_TOKEN=ony_dev_… ony -- ony mcp
See docs/integrations.md for other clients and for the Streamable HTTP endpoint (/mcp).
`;

export const command: Command = {
  usage,
  async run(argv, io) {
    if (argv.length > 0) {
      io.stderr.write(`ony mcp: unexpected argument "${argv[0]}"\n\n${usage}`);
      return 2;
    }
    const access = deviceAccess(io.env);
    if ('error' in access) {
      io.stderr.write(`ony mcp: ${access.error}\n`);
      return 3;
    }
    const { url, token } = access;
    const server = createApprovalMcpServer(
      clientApprovalPort(createClient({ baseUrl: url, token }), (e) => {
        if (e.attempt === 1 || e.attempt % 10 === 0) {
          io.stderr.write(
            `ony mcp: ony is unreachable (${e.reason}); still waiting, next try in ${(e.delayMs / 1000).toFixed(1)}s\n`,
          );
        }
      }),
    );
    const transport = new StdioServerTransport(io.stdin, io.stdout);
    // The client closes stdin to end the session (the MCP stdio transport's shutdown).
    const ended = new Promise<void>((resolve) => {
      io.stdin.once('end', resolve);
      io.stdin.once('close', resolve);
      transport.onclose = () => resolve();
    });
    await server.connect(transport);
    io.stderr.write(`ony mcp: serving tools for ${url} on stdio\n`);
    await ended;
    await server.close();
    return 0;
  },
};
