import { sql, type Kysely } from 'kysely';
import { withApp } from '../../db/client.js';
import type { DB } from '../../db/schema.js';

/**
 * Claims a replay key (a SHA-256 hash) until `expiresAt`, through the one definer function that may
 * touch replay_claims: true the first time, false while an earlier claim holds.
 *
 * The commit does not wait for its WAL flush (`synchronous_commit = off`, this transaction only):
 * that flush was most of the claim's cost. Nothing is lost by it: whatever the claimed request goes
 * on to change commits later, synchronously, and that flush makes the earlier claim durable too (the
 * WAL is one sequence). Only a claim whose request changed nothing can be lost, in a database crash
 * within a fraction of a second, and replaying such a request changes nothing either.
 */
export async function claimReplayKey(
  db: Kysely<DB>,
  keyHash: Buffer,
  expiresAt: Date,
  now: Date,
): Promise<boolean> {
  return withApp(db, async (tx) => {
    await sql`set local synchronous_commit = off`.execute(tx);
    const r = await sql<{ claimed: boolean }>`
      select ony_claim_replay(${keyHash}, ${expiresAt}, ${now}) as claimed`.execute(tx);
    return r.rows[0]?.claimed === true;
  });
}

/** Gives a claim back (the request's handling failed; the provider's retry must get through). */
export async function releaseReplayKey(db: Kysely<DB>, keyHash: Buffer): Promise<void> {
  await withApp(db, (tx) => sql`select ony_release_replay(${keyHash})`.execute(tx));
}
