import type { Command } from './command.js';

/**
 * Every `ony` subcommand, loaded lazily so that pure commands (risk, redact) start fast
 * and never load the server, the database driver or the config.
 */
export const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  serve: { summary: 'start the server', load: async () => (await import('./server-commands.js')).serve },
  migrate: {
    summary: 'apply database migrations',
    load: async () => (await import('./server-commands.js')).migrateCommand,
  },
  setup: {
    summary: 'create an organization and its first admin',
    load: async () => (await import('./server-commands.js')).setupCommand,
  },
  'audit verify': {
    summary: 'verify an org audit chain (or an export, offline)',
    load: async () => (await import('./audit-commands.js')).auditVerify,
  },
  'audit export': {
    summary: 'export an org audit chain as JSON lines',
    load: async () => (await import('./audit-commands.js')).auditExport,
  },
  'audit checkpoint': {
    summary: 'sign a checkpoint of an org audit chain head',
    load: async () => (await import('./audit-commands.js')).auditCheckpoint,
  },
  'retention run': {
    summary: 'delete handoff payloads past their retention window now (--org, --dry-run)',
    load: async () => (await import('./retention-commands.js')).retentionRun,
  },
  'org erase': {
    summary: 'erase an organization and all its data now (typed confirmation)',
    load: async () => (await import('./erasure-commands.js')).orgErase,
  },
  'keys rotate': {
    summary: 're-wrap org data keys with the newest master key (--data: re-encrypt too)',
    load: async () => (await import('./erasure-commands.js')).keysRotate,
  },
  doctor: {
    summary: 'check the configuration, database, migrations, Redis, channels and clock; print a table',
    load: async () => (await import('./doctor.js')).doctor,
  },
  'backup create': {
    summary: 'write an encrypted backup archive (--out FILE|DIR, --keep N)',
    load: async () => (await import('./backup-commands.js')).backupCreate,
  },
  'backup verify': {
    summary: 'check a backup archive and list its orgs and audit heads',
    load: async () => (await import('./backup-commands.js')).backupVerify,
  },
  'backup restore': {
    summary: 'restore a backup into an empty database, then migrate and re-apply erasures',
    load: async () => (await import('./backup-commands.js')).backupRestore,
  },
  keygen: {
    summary: 'print a new master key for ONY_MASTER_KEY',
    load: async () => (await import('./server-commands.js')).keygen,
  },
  risk: {
    summary: 'derive the risk of a handoff JSON on stdin',
    load: async () => (await import('./risk.js')).command,
  },
  request: {
    summary: 'ask a human to approve an action and wait for the answer',
    load: async () => (await import('./request.js')).command,
  },
  mcp: {
    summary: 'an MCP server on stdio (request_approval, get_approval) for agents',
    load: async () => (await import('./mcp.js')).command,
  },
  gate: {
    summary: 'an MCP approval gateway: asks ony before every tool call of upstream MCP servers',
    load: async () => (await import('./gate.js')).command,
  },
  redact: { summary: 'redact secrets from stdin', load: async () => (await import('./redact.js')).command },
  'hook claude-code': {
    summary: 'a Claude Code PreToolUse hook: asks ony before a tool call runs',
    load: async () => (await import('./hook.js')).command,
  },
  hook: {
    summary: 'the same as ony hook claude-code',
    load: async () => (await import('./hook.js')).command,
  },
  'hook codex': {
    summary: 'a Codex CLI PreToolUse hook: asks ony before a tool call runs',
    load: async () => (await import('./hook.js')).hookCommand('codex'),
  },
  'hook cursor': {
    summary: 'a Cursor hook (beforeShellExecution, beforeMCPExecution, preToolUse): allow or deny',
    load: async () => (await import('./hook.js')).hookCommand('cursor'),
  },
  'hook gemini': {
    summary: 'a Gemini CLI BeforeTool hook: asks ony before a tool call runs',
    load: async () => (await import('./hook.js')).hookCommand('gemini'),
  },
  'init claude-code': {
    summary: 'add the ony hook to .claude/settings.json',
    load: async () => (await import('./init.js')).command,
  },
  'init codex': {
    summary: 'add the ony hook to .codex/config.toml',
    load: async () => (await import('./init-agents.js')).initCodex,
  },
  'init cursor': {
    summary: 'add the ony hook to .cursor/hooks.json',
    load: async () => (await import('./init-agents.js')).initCursor,
  },
  'init gemini': {
    summary: 'add the ony hook to .gemini/settings.json',
    load: async () => (await import('./init-agents.js')).initGemini,
  },
};
