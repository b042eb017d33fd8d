/**
 * Chain verification, streaming and hash-bound: per entry one SHA-256 over the stored canonical
 * bytes plus two substring reads, never a JSON parse. Names the first bad seq and why.
 */
import { hasValidSignature, keyId, parseCheckpoint, type VerifierKey } from './checkpoint.js';
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
      /** The signed checkpoint that contradicts the chain, when one does. */
      readonly checkpointSeq?: number | undefined;
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
  /** Signed checkpoint notes. Each one's (seq, hash) is always compared with the chain. */
  readonly checkpoints: readonly string[];
  /**
   * The keys a checkpoint may be signed by. When given, every checkpoint needs a valid signature by
   * one of them (a note signed only by another key is a failure, never skipped); when absent, the
   * signatures are not checked, only what the notes attest.
   */
  readonly keys?: readonly VerifierKey[] | undefined;
  /**
   * Checkpoints as a witness outside the database kept them (docs/audit.md, "Witnesses"): checked
   * like the others, but their signatures always (keys are required), and failures say "witnessed".
   */
  readonly witnessed?: readonly string[] | undefined;
}

export type ChainReport = VerifyResult & {
  readonly checkpointsVerified: number;
  readonly latestCheckpointSeq: number | null;
};

/**
 * Verifies a chain and its signed checkpoints: each checkpoint must attest a (seq, hash) that the
 * chain actually has and, when keys are given, carry a valid signature by one of them. A checkpoint
 * beyond the chain's end proves the tail was cut; one whose hash differs proves history was
 * rewritten after it was signed. Every failure about a checkpoint names the checkpoint's seq.
 */
export async function verifyChain(check: ChainCheck): Promise<ChainReport> {
  const attested = new Map<number, string>();
  let checkpointsVerified = 0;
  let latestCheckpointSeq: number | null = null;
  const fail = (
    badSeq: number,
    reason: VerifyFailure,
    detail: string,
    entries: number,
    checkpointSeq?: number,
  ): ChainReport => ({
    ok: false,
    entries,
    badSeq,
    reason,
    detail,
    ...(checkpointSeq !== undefined ? { checkpointSeq } : {}),
    checkpointsVerified,
    latestCheckpointSeq,
  });
  if (check.witnessed !== undefined && check.keys === undefined)
    throw new Error('witnessed checkpoints are only checked with the keys that may sign them');
  const witnessedSeqs = new Set<number>();
  const notes = [
    ...check.checkpoints.map((note, i) => ({ note, what: 'checkpoint', n: i + 1 })),
    ...(check.witnessed ?? []).map((note, i) => ({ note, what: 'witnessed checkpoint', n: i + 1 })),
  ];
  for (const { note, what, n } of notes) {
    let parsed: ReturnType<typeof parseCheckpoint>;
    try {
      parsed = parseCheckpoint(note);
    } catch (err) {
      // Nothing readable to name but its place: the note itself is broken.
      return fail(0, 'head_mismatch', `${what} #${n} is unreadable: ${(err as Error).message}`, 0);
    }
    const c = parsed.checkpoint;
    if (what !== 'checkpoint') witnessedSeqs.add(c.seq);
    if (c.orgId !== check.orgId)
      return fail(c.seq, 'head_mismatch', `the ${what} at seq ${c.seq} belongs to another org`, 0, c.seq);
    if (check.keys !== undefined && !check.keys.some((k) => hasValidSignature(parsed, k))) {
      const known = (name: string, id: string) =>
        check.keys!.some((k) => k.name === name && keyId(k.name, k.publicKey).toString('hex') === id);
      const byKnown = parsed.signatures.filter((s) => known(s.name, s.keyId));
      const signers = parsed.signatures.map((s) => `${s.name}+${s.keyId}`).join(', ') || 'nobody';
      return fail(
        c.seq,
        'head_mismatch',
        byKnown.length > 0
          ? `the ${what} at seq ${c.seq} does not verify: its signature by ${signers} is invalid`
          : `the ${what} at seq ${c.seq} does not verify: it is signed by an unknown key (${signers})`,
        0,
        c.seq,
      );
    }
    const earlier = attested.get(c.seq);
    if (earlier !== undefined && earlier !== c.hash)
      return fail(
        c.seq,
        'head_mismatch',
        `two checkpoints at seq ${c.seq} attest different hashes`,
        0,
        c.seq,
      );
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
            `the ${witnessedSeqs.has(e.seq) ? 'witnessed' : 'signed'} checkpoint at seq ${e.seq} attests another hash: history was rewritten`,
            e.seq - 1,
            e.seq,
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
      return fail(1, 'head_mismatch', 'the checkpoint at seq 0 is not the genesis', 0, 0);
    checkpointsVerified++;
  }
  if (latestCheckpointSeq !== null && latestCheckpointSeq > lastSeq) {
    return fail(
      lastSeq + 1,
      'head_mismatch',
      `the ${witnessedSeqs.has(latestCheckpointSeq) ? 'witnessed' : 'signed'} checkpoint at seq ${latestCheckpointSeq} is beyond the chain's end at seq ${lastSeq}: its tail was cut`,
      result.entries,
      latestCheckpointSeq,
    );
  }
  return { ...result, checkpointsVerified, latestCheckpointSeq };
}
