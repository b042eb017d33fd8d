/**
 * Reading and writing an agent's config file for `ony init` (Claude Code's settings, Codex, Cursor,
 * Gemini): a missing file reads as undefined, and a write never leaves half a file behind.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The file's text; undefined when it does not exist. Any other read error is thrown. */
export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes beside the file and renames it into place (creating its folder): a crash never leaves half a file. */
export async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.ony-${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, file);
}

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
