import type { Command } from './command.js';

/**
 * Every `ony` subcommand, loaded lazily so that pure commands (risk, redact) start fast
 * and never load the server, the database driver or the config.
 */
export const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
};
