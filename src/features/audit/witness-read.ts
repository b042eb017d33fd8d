/**
 * Reads the checkpoints a witness kept, for `ony audit verify --witness` (docs/audit.md,
 * "Witnesses"): a directory laid out as the witness stores them (`<dir>/<org id>/*.checkpoint`, or
 * the org's folder itself), or an HTTPS witness base URL serving `<url>/<org id>/latest.checkpoint`
 * (a bucket published over HTTPS serves that same path).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKPOINT_FILE } from '../../core/audit-chain/witness.js';

export class WitnessSourceError extends Error {
  override readonly name = 'WitnessSourceError';
}

/** A signed checkpoint note is a few hundred bytes; anything much larger is not one. */
const MAX_NOTE_BYTES = 64 * 1024;

export interface Witnessed {
  readonly source: string;
  /** Each distinct note the witness kept for the org. */
  readonly notes: string[];
}

export async function readWitnessed(source: string, orgId: string): Promise<Witnessed> {
  const notes = /^[a-z][a-z0-9+.-]*:\/\//i.test(source)
    ? await fromUrl(source, orgId)
    : await fromDirectory(source, orgId);
  return { source, notes: [...new Set(notes)] };
}

async function fromDirectory(dir: string, orgId: string): Promise<string[]> {
  const isDir = async (p: string) => (await stat(p).catch(() => undefined))?.isDirectory() === true;
  if (!(await isDir(dir))) throw new WitnessSourceError(`--witness ${dir}: no such directory`);
  const orgDir = (await isDir(join(dir, orgId))) ? join(dir, orgId) : dir;
  const files = (await readdir(orgDir)).filter((f) => CHECKPOINT_FILE.test(f)).sort();
  if (files.length === 0)
    throw new WitnessSourceError(
      `--witness ${dir}: no checkpoint files for org ${orgId} (expected ${orgId}/<seq>.checkpoint)`,
    );
  const notes: string[] = [];
  for (const f of files) {
    const path = join(orgDir, f);
    if ((await stat(path)).size > MAX_NOTE_BYTES)
      throw new WitnessSourceError(`--witness ${path}: too large for a checkpoint`);
    notes.push(await readFile(path, 'utf8'));
  }
  return notes;
}

async function fromUrl(base: string, orgId: string): Promise<string[]> {
  let url: URL;
  try {
    url = new URL(`${base.replace(/\/+$/, '')}/${orgId}/latest.checkpoint`);
  } catch {
    throw new WitnessSourceError(`--witness ${base}: not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new WitnessSourceError(`--witness ${base}: give an https:// URL or a directory`);
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    throw new WitnessSourceError(`--witness ${base}: could not be reached (${(err as Error).message})`);
  }
  if (res.status === 404) {
    await res.body?.cancel();
    throw new WitnessSourceError(`--witness ${base}: the witness has no checkpoint for org ${orgId}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new WitnessSourceError(`--witness ${base}: answered ${res.status} for ${url.pathname}`);
  }
  const body = Buffer.from(await res.arrayBuffer());
  if (body.length > MAX_NOTE_BYTES)
    throw new WitnessSourceError(`--witness ${base}: answered too much for a checkpoint`);
  return [body.toString('utf8')];
}
