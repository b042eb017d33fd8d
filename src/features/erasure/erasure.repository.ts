/**
 * Org erasure rows: the scheduled request (a tenant table, so it goes with the org), and the
 * privileged erasure itself (ony_erase_org, migrations/0012_erasure_keys.sql) with the tombstone it
 * leaves.
 */
import { sql } from 'kysely';
import type { TenantTx, Tx } from '../../db/client.js';
import { JOBS_SCHEMA } from '../../jobs/queue.js';
import { sha256 } from '../../lib/crypto.js';

export interface Erasure {
  readonly id: string;
  readonly requestedBy: string;
  readonly requestedAt: Date;
  readonly eraseAt: Date;
  readonly jobId: string | null;
}

export interface Tombstone {
  readonly lastSeq: number;
  readonly lastHash: Buffer;
  readonly erasedAt: Date;
}

/** The org's scheduled (not cancelled) erasure, locked when asked. */
export async function getScheduledErasure(tx: TenantTx, lock = false): Promise<Erasure | undefined> {
  let q = tx.db
    .selectFrom('org_erasures')
    .select(['id', 'requested_by', 'requested_at', 'erase_at', 'job_id'])
    .where('cancelled_at', 'is', null);
  if (lock) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return (
    row && {
      id: row.id,
      requestedBy: row.requested_by,
      requestedAt: row.requested_at,
      eraseAt: row.erase_at,
      jobId: row.job_id,
    }
  );
}

export async function insertErasure(
  tx: TenantTx,
  e: { requestedBy: string; requestedAt: Date; eraseAt: Date },
): Promise<Erasure> {
  const row = await tx.db
    .insertInto('org_erasures')
    .values({
      org_id: tx.orgId,
      requested_by: e.requestedBy,
      requested_at: e.requestedAt,
      erase_at: e.eraseAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, ...e, jobId: null };
}

export async function setErasureJob(tx: TenantTx, id: string, jobId: string | null): Promise<void> {
  await tx.db.updateTable('org_erasures').set({ job_id: jobId }).where('id', '=', id).execute();
}

export async function cancelErasure(tx: TenantTx, id: string, by: string, at: Date): Promise<void> {
  await tx.db
    .updateTable('org_erasures')
    .set({ cancelled_by: by, cancelled_at: at })
    .where('id', '=', id)
    .where('cancelled_at', 'is', null)
    .execute();
}

/** The org's name, read as the owner (operator commands have no tenant scope yet). */
export async function orgNameAsOwner(tx: Tx, orgId: string): Promise<string | undefined> {
  const row = await tx.selectFrom('orgs').select('name').where('id', '=', orgId).executeTakeFirst();
  return row?.name;
}

/** Runs the privileged eraser (owner role only); answers how many rows it removed. */
export async function eraseOrgRows(tx: Tx, orgId: string): Promise<number> {
  const r = await sql<{ n: string | number }>`select ony_erase_org(${orgId}::uuid) as n`.execute(tx);
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * The erasure job's eraser (runtime login, ony_erase_scheduled_org): only while erasureId is the
 * org's scheduled, uncancelled erasure. Answers how many rows it removed.
 */
export async function eraseScheduledOrgRows(tx: TenantTx, erasureId: string): Promise<number> {
  const r = await sql<{
    n: string | number;
  }>`select ony_erase_scheduled_org(${tx.orgId}::uuid, ${erasureId}::uuid) as n`.execute(tx.db);
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * Removes pg-boss jobs (queued, active or archived) whose data names the org. pg-boss's schema
 * belongs to the connection's own role, so the statement runs as that role and the transaction's
 * role is restored right after (set_config(…, true) is transaction-local, as in jobs/queue.ts).
 */
export async function deleteOrgJobs(tx: Tx, orgId: string): Promise<number> {
  const prev = (await sql<{ prev: string }>`select current_setting('role') as prev`.execute(tx)).rows[0]
    ?.prev;
  await sql`select set_config('role', 'none', true)`.execute(tx);
  try {
    let removed = 0;
    for (const table of ['job', 'archive']) {
      const exists = await sql<{
        t: string | null;
      }>`select to_regclass(${`${JOBS_SCHEMA}.${table}`})::text as t`.execute(tx);
      if (exists.rows[0]?.t == null) continue;
      const r =
        await sql`delete from ${sql.table(`${JOBS_SCHEMA}.${table}`)} where strpos(data::text, ${orgId}) > 0`.execute(
          tx,
        );
      removed += Number(r.numAffectedRows ?? 0);
    }
    return removed;
  } finally {
    // After a failed statement the transaction is aborted (the caller rolls it back, which restores
    // the role): do not let this reset hide the first error.
    if (prev !== undefined && prev !== 'none')
      await sql`select set_config('role', ${prev}, true)`.execute(tx).catch(() => undefined);
  }
}

export async function getTombstone(tx: Tx, orgId: string): Promise<Tombstone | undefined> {
  const row = await tx
    .selectFrom('org_tombstones')
    .select(['last_seq', 'last_hash', 'erased_at'])
    .where('org_id_sha256', '=', sha256(orgId.toLowerCase()))
    .executeTakeFirst();
  return (
    row && { lastSeq: Number(row.last_seq), lastHash: Buffer.from(row.last_hash), erasedAt: row.erased_at }
  );
}
