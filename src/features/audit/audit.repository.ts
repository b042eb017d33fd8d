/** The audit chain in the database: append under the head's row lock, read, stream, checkpoints. */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { entryTemplate, type AuditEvent } from '../../core/audit-chain/entry.js';
import type { ReadableNames } from '../../core/audit-chain/readable.js';
import type { StoredEntry } from '../../core/audit-chain/verify.js';
import type { TenantTx, Tx } from '../../db/client.js';

const hex = (b: Buffer | Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Buffer => Buffer.from(h, 'hex');

/** Starts an org's chain (inside the org-creating transaction). */
export async function initAuditHead(tx: TenantTx): Promise<void> {
  await sql`select ony_audit_init_head()`.execute(tx.db);
}

/**
 * Appends one entry in the caller's transaction. The entry (its text without seq and prev_hash)
 * goes to the outbox; at COMMIT a deferred trigger locks the org's chain head, fills both in,
 * hashes it (SHA-256(prev_hash || canonical)) and appends it. Appends are serialised per org (gap-
 * free seq, no forks) with the lock held only inside COMMIT; if sealing fails, COMMIT fails and the
 * change the entry records is rolled back with it (fail closed).
 */
export async function appendAudit(tx: TenantTx, event: AuditEvent, now: Date): Promise<void> {
  const t = entryTemplate(tx.orgId, event, now, randomBytes(8).toString('hex'));
  await tx.db
    .insertInto('audit_outbox')
    .values({ org_id: tx.orgId, before_prev: t.before, between: t.middle, after_seq: t.after })
    .execute();
}

export async function getHead(tx: TenantTx): Promise<{ seq: number; hash: string } | undefined> {
  const row = await tx.db
    .selectFrom('audit_heads')
    .select(['seq', 'hash'])
    .where('org_id', '=', tx.orgId)
    .executeTakeFirst();
  return row && { seq: Number(row.seq), hash: hex(row.hash) };
}

/**
 * The statement of entriesBetween: a range of the primary key (org_id, seq). Seq is gap-free, so the
 * range bounds the rows as a LIMIT would, and under pagedByKey it is read in key order whatever the
 * page's share of the table (`seq > after … LIMIT n` was a Seq Scan and a Sort when a page was a
 * large part of the table). Separate so the scale bench can EXPLAIN it.
 */
export function entriesBetweenQuery(tx: TenantTx, afterSeq: number, throughSeq: number) {
  return (
    tx.db
      .selectFrom('audit_events')
      // Hex in the database: no Buffer per hash to turn back into hex here.
      .select([
        'seq',
        sql<string>`encode(prev_hash, 'hex')`.as('prev_hash'),
        sql<string>`encode(hash, 'hex')`.as('hash'),
        'canonical',
      ])
      // An explicit org filter (RLS filters too) so the primary key (org_id, seq) serves the page.
      .where('org_id', '=', tx.orgId)
      .where('seq', '>', afterSeq)
      .where('seq', '<=', throughSeq)
      .orderBy('seq')
  );
}

/**
 * For this transaction, a page of the chain is read by its key, never by a Seq Scan: a page is often
 * a large share of a small org's table (5,000 of 10,000 entries), where the planner would read the
 * whole table, every org's rows included, and sort it (or bitmap-scan the range and sort it); in key
 * order the page costs the same whatever the table holds, with no sort. As insights' plannedByIndex.
 */
export async function pagedByKey(tx: TenantTx): Promise<void> {
  await sql`select set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)`.execute(
    tx.db,
  );
}

/**
 * The stored entries with afterSeq < seq <= throughSeq, in seq order, for verification and export.
 * A missing row is simply absent: the verifier reports the gap.
 */
export async function entriesBetween(
  tx: TenantTx,
  afterSeq: number,
  throughSeq: number,
): Promise<StoredEntry[]> {
  await pagedByKey(tx);
  const rows = await entriesBetweenQuery(tx, afterSeq, throughSeq).execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    prevHash: r.prev_hash,
    hash: r.hash,
    canonical: r.canonical,
  }));
}

export async function hashesAt(tx: TenantTx, seqs: readonly number[]): Promise<Map<number, string>> {
  if (seqs.length === 0) return new Map();
  const rows = await tx.db
    .selectFrom('audit_events')
    .select(['seq', 'hash'])
    .where('org_id', '=', tx.orgId)
    .where('seq', 'in', seqs)
    .execute();
  return new Map(rows.map((r) => [Number(r.seq), hex(r.hash)]));
}

export interface AuditRow {
  readonly seq: number;
  readonly at: Date;
  readonly actorType: string;
  readonly actorId: string | null;
  readonly action: string;
  readonly subjectType: string;
  readonly subjectId: string | null;
  readonly meta: unknown;
  readonly hash: string;
}

export interface AuditFilter {
  readonly actorId?: string | undefined;
  readonly action?: string | undefined;
  readonly subjectType?: string | undefined;
  readonly subjectId?: string | undefined;
  readonly from?: Date | undefined;
  readonly to?: Date | undefined;
  /** Keyset pagination: entries with seq below this. */
  readonly beforeSeq?: number | undefined;
}

/** The statement of listAudit (separate so the scale bench can EXPLAIN it). */
export function listAuditQuery(tx: TenantTx, f: AuditFilter, limit: number) {
  let q = tx.db
    .selectFrom('audit_events')
    .select(['seq', 'at', 'actor_type', 'actor_id', 'action', 'subject_type', 'subject_id', 'meta', 'hash'])
    .where('org_id', '=', tx.orgId);
  if (f.actorId !== undefined) q = q.where('actor_id', '=', f.actorId);
  if (f.action !== undefined) q = q.where('action', '=', f.action);
  if (f.subjectType !== undefined) q = q.where('subject_type', '=', f.subjectType);
  if (f.subjectId !== undefined) q = q.where('subject_id', '=', f.subjectId);
  if (f.from !== undefined) q = q.where('at', '>=', f.from);
  if (f.to !== undefined) q = q.where('at', '<', f.to);
  if (f.beforeSeq !== undefined) q = q.where('seq', '<', f.beforeSeq);
  return q.orderBy('seq', 'desc').limit(limit);
}

export async function listAudit(tx: TenantTx, f: AuditFilter, limit: number): Promise<AuditRow[]> {
  const rows = await listAuditQuery(tx, f, limit).execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    at: r.at,
    actorType: r.actor_type,
    actorId: r.actor_id,
    action: r.action,
    subjectType: r.subject_type,
    subjectId: r.subject_id,
    meta: r.meta,
    hash: hex(r.hash),
  }));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The names behind a page's actor and subject ids: one look-up per kind (members, devices,
 * handoffs) for the whole page, never one per row. Ids that are not uuids cannot name a row.
 */
export async function auditNames(tx: TenantTx, rows: readonly AuditRow[]): Promise<ReadableNames> {
  const ids = { member: new Set<string>(), device: new Set<string>(), handoff: new Set<string>() };
  const add = (type: string, id: string | null) => {
    if (id === null || !UUID.test(id)) return;
    if (type === 'member' || type === 'device' || type === 'handoff') ids[type].add(id);
  };
  for (const r of rows) {
    add(r.actorType, r.actorId);
    add(r.subjectType, r.subjectId);
  }
  const members =
    ids.member.size === 0
      ? []
      : await tx.db
          .selectFrom('members')
          .select(['id', 'name', 'erased_at'])
          .where('org_id', '=', tx.orgId)
          .where('id', 'in', [...ids.member])
          .execute();
  const devices =
    ids.device.size === 0
      ? []
      : await tx.db
          .selectFrom('devices')
          .select(['id', 'name'])
          .where('org_id', '=', tx.orgId)
          .where('id', 'in', [...ids.device])
          .execute();
  const handoffs =
    ids.handoff.size === 0
      ? []
      : await tx.db
          .selectFrom('handoffs')
          .select(['id', 'short_code', 'title'])
          .where('org_id', '=', tx.orgId)
          .where('id', 'in', [...ids.handoff])
          .execute();
  return {
    members: new Map(members.map((m) => [m.id, { name: m.name, erased: m.erased_at !== null }])),
    devices: new Map(devices.map((d) => [d.id, d.name])),
    handoffs: new Map(handoffs.map((h) => [h.id, { shortCode: h.short_code, title: h.title }])),
  };
}

export interface StoredCheckpoint {
  readonly seq: number;
  readonly hash: string;
  readonly at: Date;
  readonly keyName: string;
  readonly note: string;
}

export async function insertCheckpoint(tx: TenantTx, c: StoredCheckpoint): Promise<void> {
  await tx.db
    .insertInto('audit_checkpoints')
    .values({
      org_id: tx.orgId,
      seq: c.seq,
      hash: bytes(c.hash),
      at: c.at,
      key_name: c.keyName,
      note: c.note,
    })
    .onConflict((oc) => oc.columns(['org_id', 'seq']).doNothing())
    .execute();
}

export async function listCheckpoints(tx: TenantTx): Promise<StoredCheckpoint[]> {
  const rows = await tx.db.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    hash: hex(r.hash),
    at: r.at,
    keyName: r.key_name,
    note: r.note,
  }));
}

/** A checkpoint signing key as stored: the name it signs under, its raw public key, and since when. */
export interface StoredSigningKey {
  readonly name: string;
  readonly publicKey: Buffer;
  readonly validFrom: Date;
}

/** Every key that ever signed checkpoints, oldest first (server-wide; outside any tenant). */
export async function listSigningKeys(tx: Tx): Promise<StoredSigningKey[]> {
  const rows = await tx
    .selectFrom('audit_signing_keys')
    .select(['name', 'public_key', 'valid_from'])
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ name: r.name, publicKey: Buffer.from(r.public_key), validFrom: r.valid_from }));
}

/** The names existing checkpoints were signed under (across orgs), with one note each. */
export async function checkpointKeyNames(
  tx: Tx,
): Promise<{ keyName: string; firstAt: Date; note: string }[]> {
  const rows = await sql<{
    key_name: string;
    first_at: Date;
    note: string;
  }>`select key_name, first_at, note from ony_audit_checkpoint_key_names()`.execute(tx);
  return rows.rows.map((r) => ({ keyName: r.key_name, firstAt: new Date(r.first_at), note: r.note }));
}

/**
 * Makes (name, public key) the current signing key unless it already is; name undefined keeps the
 * stored name. While the list is empty, first records `legacy` (older names this key signed under).
 */
export async function useSigningKey(
  tx: Tx,
  k: {
    name: string | undefined;
    defaultName: string;
    publicKey: Buffer;
    now: Date;
    legacy: readonly { name: string; from: Date }[];
  },
): Promise<void> {
  const names = k.legacy.map((l) => l.name);
  const froms = k.legacy.map((l) => l.from.toISOString());
  await sql`select ony_audit_use_key(${k.name ?? null}, ${k.defaultName}, ${k.publicKey}, ${k.now},
    ${names}::text[], ${froms}::timestamptz[])`.execute(tx);
}

/** One stored checkpoint note by seq, and whether it is the org's newest. */
export async function getCheckpoint(
  tx: TenantTx,
  seq: number,
): Promise<{ note: string; latest: boolean } | undefined> {
  const found = await tx.db
    .selectFrom('audit_checkpoints')
    .select('note')
    .where('seq', '=', seq)
    .executeTakeFirst();
  if (found === undefined) return undefined;
  const newest = await tx.db
    .selectFrom('audit_checkpoints')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .executeTakeFirst();
  return { note: found.note, latest: Number(newest?.seq) === seq };
}

/** Every org whose head moved past its latest checkpoint, with both (server-wide; ids and counters). */
export async function checkpointStatus(
  tx: Tx,
): Promise<{ orgId: string; headSeq: number; checkpointSeq: number | null; checkpointAt: Date | null }[]> {
  const rows = await sql<{
    org_id: string;
    head_seq: string | number;
    checkpoint_seq: string | number | null;
    checkpoint_at: Date | string | null;
  }>`select org_id, head_seq, checkpoint_seq, checkpoint_at from ony_audit_checkpoint_status()`.execute(tx);
  return rows.rows.map((r) => ({
    orgId: r.org_id,
    headSeq: Number(r.head_seq),
    checkpointSeq: r.checkpoint_seq === null ? null : Number(r.checkpoint_seq),
    checkpointAt: r.checkpoint_at === null ? null : new Date(r.checkpoint_at),
  }));
}
