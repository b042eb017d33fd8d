/**
 * What the operator commands (`ony audit …`, `ony org erase`, `ony keys rotate`, `ony retention run`)
 * share: strict flag parsing that prints the usage on a mistake, and a container opened for one
 * command and closed after it.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Container } from '../container.js';
import type { CliIo } from './command.js';
import { configOrExit } from './server-commands.js';

/** The command's flags, or undefined after printing `ony <name>: <problem>` and the usage. */
export function parseFlags(
  name: string,
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
  io: CliIo,
  usage: string,
) {
  try {
    return parseArgs({ args: [...argv], options, strict: true }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (err) {
    io.stderr.write(`ony ${name}: ${(err as Error).message}\n\n${usage}\n`);
    return undefined;
  }
}

/**
 * Runs `fn` with the server's container (config from the environment); exit 2 on a bad config.
 * With ONY_MIGRATE_DATABASE_URL the owner credential is open too, for the commands that need owner
 * rights (`ony keys rotate`, `ony org erase --now`); everything else runs on DATABASE_URL.
 */
export async function withContainer<T>(io: CliIo, fn: (c: Container) => Promise<T>): Promise<T | 2> {
  const config = configOrExit(io);
  if (!config) return 2;
  const { createContainer } = await import('../container.js');
  const { connectPostgres } = await import('../db/client.js');
  const { createLogger } = await import('../lib/logger.js');
  const ownerDatabase =
    config.migrateDatabaseUrl !== undefined ? connectPostgres(config.migrateDatabaseUrl, 2) : undefined;
  try {
    const container = await createContainer(config, {
      logger: createLogger('warn'),
      ...(ownerDatabase !== undefined && { ownerDatabase }),
    });
    try {
      return await fn(container);
    } finally {
      await container.close();
    }
  } finally {
    await ownerDatabase?.close();
  }
}
