/**
 * Verifies an exported chain (`ony audit export`) with no database: JSON lines of a header, the
 * signed checkpoints, then the entries. Reads line by line, so memory stays flat for any size.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseVerifierKey } from '../../core/audit-chain/checkpoint.js';
import { verifyChain, type ChainReport, type StoredEntry } from '../../core/audit-chain/verify.js';

export class ExportFormatError extends Error {}

type Line =
  | { type: 'chain'; org_id: string; head_seq: number; head_hash: string }
  | { type: 'checkpoint'; note: string }
  | { type: 'entry'; seq: number; prev_hash: string; hash: string; canonical: string };

/**
 * Verifies the export. Its checkpoints are always compared with the chain; with verifier keys
 * (every key /.well-known/ony-audit-key lists, or several in one text, one per line), each
 * checkpoint must also carry a valid signature by one of them.
 */
export async function verifyExport(
  input: Readable,
  verifierKeyTexts: readonly string[] | undefined,
  /** The notes a witness kept for the file's org (`--witness`); they need verifier keys. */
  witnessed?: (orgId: string) => Promise<readonly string[]>,
): Promise<ChainReport & { orgId: string }> {
  const keys = verifierKeyTexts
    ?.flatMap((t) => t.split(/[\s,]+/))
    .filter((t) => t !== '')
    .map((t) => parseVerifierKey(t));
  const lines = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
  let lineNo = 0;
  const next = async (): Promise<Line | undefined> => {
    for (;;) {
      const r = await lines.next();
      if (r.done) return undefined;
      lineNo++;
      if (r.value.trim() === '') continue;
      try {
        return JSON.parse(r.value) as Line;
      } catch {
        throw new ExportFormatError(`line ${lineNo} is not JSON`);
      }
    }
  };
  const header = await next();
  if (header?.type !== 'chain' || typeof header.org_id !== 'string') {
    throw new ExportFormatError('the first line must be the chain header ({"type":"chain",…})');
  }
  if (witnessed !== undefined && keys === undefined)
    throw new ExportFormatError(
      '--witness with --file needs --pubkey: the keys a witnessed checkpoint may be signed by',
    );
  const witnessedNotes = witnessed !== undefined ? await witnessed(header.org_id) : undefined;
  const checkpoints: string[] = [];
  let pending = await next();
  while (pending?.type === 'checkpoint') {
    checkpoints.push(pending.note);
    pending = await next();
  }
  async function* pages(): AsyncGenerator<StoredEntry[]> {
    let page: StoredEntry[] = [];
    for (let l = pending; l !== undefined; l = await next()) {
      if (l.type !== 'entry')
        throw new ExportFormatError(`line ${lineNo}: expected an entry, found "${l.type}"`);
      page.push({ seq: l.seq, prevHash: l.prev_hash, hash: l.hash, canonical: l.canonical });
      if (page.length === 5000) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }
  const report = await verifyChain({
    orgId: header.org_id,
    pages: pages(),
    head: { seq: header.head_seq, hash: header.head_hash },
    checkpoints,
    keys,
    witnessed: witnessedNotes,
  });
  return { ...report, orgId: header.org_id };
}
