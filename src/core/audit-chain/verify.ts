/**
 * Chain verification, streaming and hash-bound: per entry one SHA-256 over the stored canonical
 * bytes plus two substring reads, never a JSON parse. Names the first bad seq and why.
 */
import type { KeyObject } from 'node:crypto';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { chainHash, genesisHash } from './entry.js';

export interface StoredEntry {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  readonly canonical: string;
}

export type VerifyFailure =
  | 'gap' // seq is not the previous seq + 1 (a row is missing or out of order)
  | 'broken_link' // prev_hash is not the previous entry's hash
  | 'hash_mismatch' // hash is not SHA-256(prev_hash || canonical): the entry was altered
  | 'field_mismatch' // the seq or prev_hash columns disagree with the hashed canonical text
  | 'head_mismatch'; // the chain head (or a checkpoint) says otherwise: the tail was cut or rewritten

export type VerifyResult =
  | { readonly ok: true; readonly entries: number; readonly headSeq: number; readonly headHash: string }
  | {
      readonly ok: false;
      readonly entries: number;
      readonly badSeq: number;
      readonly reason: VerifyFailure;
      readonly detail: string;
    };

/** Reads the top-level `"key":` value of a JCS text; top-level keys after `meta` sort last, so lastIndexOf finds them. */
function topLevelValue(canonical: string, key: string): string | undefined {
  const marker = `,"${key}":`;
  const at = canonical.lastIndexOf(marker);
  if (at < 0) return undefined;
  const start = at + marker.length;
  const end = canonical.indexOf(',"', start);
  return canonical.slice(start, end < 0 ? canonical.length - 1 : end);
}

/** Incremental verifier: feed entries in seq order, then call result(). */
export function createVerifier(orgId: string) {
  let expectedSeq = 1;
  let prevHash = genesisHash(orgId);
  let entries = 0;
  let failure: Extract<VerifyResult, { ok: false }> | undefined;

  const fail = (badSeq: number, reason: VerifyFailure, detail: string) => {
    failure = { ok: false, entries, badSeq, reason, detail };
  };

  return {
    /** Answers false once the chain is known to be bad (the caller may stop reading). */
    add(e: StoredEntry): boolean {
      if (failure) return false;
      if (e.seq !== expectedSeq) {
        fail(expectedSeq, 'gap', `expected seq ${expectedSeq}, found ${e.seq}`);
        return false;
      }
      if (e.prevHash !== prevHash) {
        fail(e.seq, 'broken_link', `prev_hash does not match the hash of seq ${e.seq - 1}`);
        return false;
      }
      if (chainHash(e.prevHash, e.canonical) !== e.hash) {
        fail(e.seq, 'hash_mismatch', 'the stored entry does not hash to its recorded hash');
        return false;
      }
      if (
        topLevelValue(e.canonical, 'seq') !== String(e.seq) ||
        topLevelValue(e.canonical, 'prev_hash') !== `"${e.prevHash}"`
      ) {
        fail(e.seq, 'field_mismatch', 'the seq or prev_hash columns differ from the hashed entry');
        return false;
      }
      prevHash = e.hash;
      expectedSeq++;
      entries++;
      return true;
    },
    /** Checks the end against the recorded head (seq and hash), if one is given. */
    result(head?: { readonly seq: number; readonly hash: string }): VerifyResult {
      if (failure) return failure;
      const lastSeq = expectedSeq - 1;
      if (
        head !== undefined &&
        (head.seq !== lastSeq || head.hash !== (lastSeq === 0 ? genesisHash(orgId) : prevHash))
      ) {
        return {
          ok: false,
          entries,
          badSeq: Math.min(head.seq, lastSeq) + 1,
          reason: 'head_mismatch',
          detail: `the chain head records seq ${head.seq}, the entries end at seq ${lastSeq}`,
        };
      }
      return { ok: true, entries, headSeq: lastSeq, headHash: prevHash };
    },
  };
}

export function verifyEntries(
  orgId: string,
  entries: Iterable<StoredEntry>,
  head?: { seq: number; hash: string },
): VerifyResult {
  const v = createVerifier(orgId);
  for (const e of entries) if (!v.add(e)) break;
  return v.result(head);
}

export interface ChainCheck {
  readonly orgId: string;
  /** Entries in seq order, in pages (from the database or a file). */
  readonly pages: AsyncIterable<readonly StoredEntry[]>;
  /** The recorded head, when verifying a live database. */
  readonly head?: { readonly seq: number; readonly hash: string } | undefined;
  /** Signed checkpoint notes and the key they must verify under. */
  readonly checkpoints: readonly string[];
  readonly key?: { readonly name: string; readonly publicKey: KeyObject } | undefined;
}

export type ChainReport = VerifyResult & {
  readonly checkpointsVerified: number;
  readonly latestCheckpointSeq: number | null;
};

/**
 * Verifies a chain and its signed checkpoints: each checkpoint must carry a valid signature by the
 * key and attest a (seq, hash) that the chain actually has. A checkpoint beyond the chain's end
 * proves the tail was cut; one whose hash differs proves history was rewritten after it was signed.
 */
export async function verifyChain(check: ChainCheck): Promise<ChainReport> {
  const attested = new Map<number, string>();
  let checkpointsVerified = 0;
  let latestCheckpointSeq: number | null = null;
  const fail = (badSeq: number, reason: VerifyFailure, detail: string, entries = 0): ChainReport => ({
    ok: false,
    entries,
    badSeq,
    reason,
    detail,
    checkpointsVerified,
    latestCheckpointSeq,
  });
  for (const note of check.checkpoints) {
    if (check.key === undefined) break;
    let c: Checkpoint;
    try {
      c = openCheckpoint(note, check.key);
    } catch (err) {
      return fail(0, 'head_mismatch', `a checkpoint does not verify: ${(err as Error).message}`);
    }
    if (c.orgId !== check.orgId) return fail(c.seq, 'head_mismatch', 'a checkpoint belongs to another org');
    attested.set(c.seq, c.hash);
    latestCheckpointSeq = Math.max(latestCheckpointSeq ?? 0, c.seq);
  }
  const v = createVerifier(check.orgId);
  let lastSeq = 0;
  outer: for await (const page of check.pages) {
    for (const e of page) {
      if (!v.add(e)) break outer;
      lastSeq = e.seq;
      const want = attested.get(e.seq);
      if (want !== undefined) {
        if (want !== e.hash) {
          return fail(
            e.seq,
            'head_mismatch',
            `the signed checkpoint at seq ${e.seq} attests another hash: history was rewritten`,
            e.seq - 1,
          );
        }
        checkpointsVerified++;
      }
    }
  }
  const result = v.result(check.head);
  if (!result.ok) return { ...result, checkpointsVerified, latestCheckpointSeq };
  const genesisAttested = attested.get(0);
  if (genesisAttested !== undefined) {
    if (genesisAttested !== genesisHash(check.orgId))
      return fail(1, 'head_mismatch', 'the seq 0 checkpoint is not the genesis');
    checkpointsVerified++;
  }
  if (latestCheckpointSeq !== null && latestCheckpointSeq > lastSeq) {
    return fail(
      lastSeq + 1,
      'head_mismatch',
      `a signed checkpoint covers seq ${latestCheckpointSeq}, but the chain ends at seq ${lastSeq}: its tail was cut`,
      result.entries,
    );
  }
  return { ...result, checkpointsVerified, latestCheckpointSeq };
}
