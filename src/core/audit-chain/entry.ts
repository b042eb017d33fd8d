/**
 * The audit chain's entry format and hashing (DESIGN.md §3.4, docs/audit.md). Pure: no I/O, no clock.
 *
 *   canonical = RFC 8785 (JCS) JSON of every field of the entry except `hash`
 *   hash      = SHA-256(prev_hash bytes || UTF-8 bytes of canonical)
 *   genesis   = SHA-256("ony-audit-genesis:" || org_id)   (the first entry's prev_hash)
 *
 * The exact canonical text is stored and hashed; the queryable columns are derived from it.
 */
import { createHash } from 'node:crypto';
import * as canonicalizeModule from 'canonicalize';

// The package is CommonJS with an ESM-style .d.ts; Node hands its function over as `default`.
const canonicalizeJson = (
  canonicalizeModule as unknown as { default: (value: unknown) => string | undefined }
).default;

export const ENTRY_VERSION = 1;

export const ACTOR_TYPES = ['member', 'device', 'system'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

/** JSON values allowed in meta: no undefined, no functions, finite numbers only. */
export type MetaValue =
  string | number | boolean | null | readonly MetaValue[] | { readonly [k: string]: MetaValue };
export type Meta = { readonly [k: string]: MetaValue };

/** What a caller asks to record; seq, prev_hash and hash are the chain's business. */
export interface AuditEvent {
  readonly actorType: ActorType;
  readonly actorId: string | null;
  readonly action: string;
  readonly subjectType: string;
  readonly subjectId: string | null;
  readonly meta: Meta;
}

/** The hashed fields, exactly as they are canonicalized (snake_case, the storage names). */
export interface EntryFields {
  readonly v: number;
  readonly org_id: string;
  readonly seq: number;
  readonly at: string;
  readonly actor_type: ActorType;
  readonly actor_id: string | null;
  readonly action: string;
  readonly subject_type: string;
  readonly subject_id: string | null;
  readonly meta: Meta;
  readonly prev_hash: string;
}

export interface SealedEntry {
  readonly fields: EntryFields;
  /** The exact RFC 8785 text whose UTF-8 bytes are hashed. */
  readonly canonical: string;
  /** Hex SHA-256. */
  readonly hash: string;
}

export function canonicalize(value: unknown): string {
  const text = canonicalizeJson(value);
  if (text === undefined) throw new Error('value cannot be canonicalized');
  return text;
}

export const genesisHash = (orgId: string): string =>
  createHash('sha256').update(`ony-audit-genesis:${orgId.toLowerCase()}`, 'utf8').digest('hex');

export function chainHash(prevHashHex: string, canonical: string | Buffer): string {
  return createHash('sha256').update(Buffer.from(prevHashHex, 'hex')).update(canonical).digest('hex');
}

/** The hashed fields of an entry (seq and prev_hash may be placeholders for entryTemplate). */
function entryFields<S extends number | string>(
  orgId: string,
  event: AuditEvent,
  at: Date,
  seq: S,
  prevHash: string,
) {
  return {
    v: ENTRY_VERSION,
    org_id: orgId,
    seq,
    at: at.toISOString(),
    actor_type: event.actorType,
    actor_id: event.actorId,
    action: event.action,
    subject_type: event.subjectType,
    subject_id: event.subjectId,
    meta: event.meta,
    prev_hash: prevHash,
  };
}

/** Builds, canonicalizes and hashes the next entry after (prevSeq, prevHash). */
export function sealEntry(
  orgId: string,
  prev: { readonly seq: number; readonly hash: string },
  event: AuditEvent,
  at: Date,
): SealedEntry {
  const fields: EntryFields = entryFields(orgId, event, at, prev.seq + 1, prev.hash);
  const canonical = canonicalize(fields);
  return { fields, canonical, hash: chainHash(prev.hash, canonical) };
}

/**
 * The next entry's canonical text with its two chain-dependent values left out, so the database can
 * fill them in under the head's lock in one statement: canonical = before || prev_hash hex || middle
 * || seq || after. Valid because `prev_hash` and `seq` are top-level keys whose place in the sorted
 * text does not depend on their values; `nonce` makes the split markers unguessable.
 */
export function entryTemplate(
  orgId: string,
  event: AuditEvent,
  at: Date,
  nonce: string,
): { before: string; middle: string; after: string } {
  const prevMarker = `@@prev-${nonce}@@`;
  const seqMarker = `@@seq-${nonce}@@`;
  const text = canonicalize(entryFields(orgId, event, at, seqMarker, prevMarker));
  // Both keys sort after `meta`, so the last occurrences are theirs.
  const p = text.lastIndexOf(`"${prevMarker}"`);
  const s = text.lastIndexOf(`"${seqMarker}"`);
  if (p < 0 || s < p) throw new Error('unexpected canonical layout');
  return {
    before: `${text.slice(0, p)}"`,
    middle: `"${text.slice(p + prevMarker.length + 2, s)}`,
    after: text.slice(s + seqMarker.length + 2),
  };
}
