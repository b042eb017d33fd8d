import { sql, type Kysely } from 'kysely';
import { withApp } from '../../db/client.js';
import type { DB } from '../../db/schema.js';

/**
 * Claims a replay key (a SHA-256 hash) until `expiresAt`, through the one definer function that may
 * touch replay_claims: true the first time, false while an earlier claim holds.
 */
export async function claimReplayKey(
  db: Kysely<DB>,
  keyHash: Buffer,
  expiresAt: Date,
  now: Date,
): Promise<boolean> {
  return withApp(db, async (tx) => {
    const r = await sql<{ claimed: boolean }>`
      select ony_claim_replay(${keyHash}, ${expiresAt}, ${now}) as claimed`.execute(tx);
    return r.rows[0]?.claimed === true;
  });
}

/** Gives a claim back (the request's handling failed; the provider's retry must get through). */
export async function releaseReplayKey(db: Kysely<DB>, keyHash: Buffer): Promise<void> {
  await withApp(db, (tx) => sql`select ony_release_replay(${keyHash})`.execute(tx));
}
