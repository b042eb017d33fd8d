/**
 * What GET /readyz answers: whether this replica can serve requests now. The database and the
 * ephemeral store must answer, and the database must hold every migration this server's code
 * expects (a database restored from an older backup, or a new replica rolled out before the
 * migrate job ran, would otherwise answer 200 while sign-in fails). Migrations a newer replica
 * applied are no concern (expand/contract keeps the older code working).
 */
import { sql } from 'kysely';
import type { Database } from '../../db/client.js';
import { pendingMigrations, type Migration } from '../../db/migrator.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { EphemeralStore } from '../../state/store.js';

/** How long one answer about pending migrations stands: /readyz is polled often and must stay cheap. */
export const MIGRATION_CHECK_TTL_MS = 5_000;

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** "run `ony migrate`; pending: a, b": the start-up refusal and doctor say it the same way. */
export function pendingMessage(pending: readonly string[]): string {
  const names =
    pending.length <= 5
      ? pending.join(', ')
      : `${pending.slice(0, 3).join(', ')}, …, ${pending.at(-1)} (${pending.length} in all)`;
  return `run \`ony migrate\`; pending: ${names}`;
}

export function createReadiness(deps: {
  readonly database: Database;
  readonly store: Pick<EphemeralStore, 'kind' | 'ping'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly migrations: readonly Migration[];
}) {
  let checked: { at: number; pending: readonly string[] } | undefined;
  async function pending(): Promise<readonly string[]> {
    const now = deps.clock.now().getTime();
    if (checked === undefined || now - checked.at >= MIGRATION_CHECK_TTL_MS) {
      const names = await pendingMigrations(deps.database.db, deps.migrations);
      if (names.length > 0 && (checked === undefined || checked.pending.length === 0))
        deps.logger.error({ pending: names }, `the database lacks migrations: ${pendingMessage(names)}`);
      checked = { at: now, pending: names };
    }
    return checked.pending;
  }
  return {
    async check(): Promise<Readiness> {
      try {
        await sql`select 1`.execute(deps.database.db);
      } catch {
        return { ready: false, reason: 'the database is not answering' };
      }
      try {
        await deps.store.ping();
      } catch {
        const what = deps.store.kind === 'redis' ? 'Redis' : 'the ephemeral store';
        return { ready: false, reason: `${what} is not answering` };
      }
      let names: readonly string[];
      try {
        names = await pending();
      } catch {
        return { ready: false, reason: 'the list of applied migrations cannot be read' };
      }
      // Names stay in the log (above): this answer is public and says only what to do.
      if (names.length > 0)
        return {
          ready: false,
          reason: `the database lacks ${names.length} of this server's migrations: run \`ony migrate\``,
        };
      return { ready: true };
    },
  };
}
