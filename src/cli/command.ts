import type { Readable, Writable } from 'node:stream';

/** What a CLI command may touch. Tests pass their own streams; main.ts passes the process's. */
export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
}

export interface Command {
  /** The full usage text printed by `ony <name> --help`. */
  readonly usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

/** Reads all of a stream as UTF-8 text. */
export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** The ony server a command talks to when neither a flag nor ONY_URL names one. */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Whether `text` is an http(s) URL. */
export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** ONY_URL (default DEFAULT_URL) and ONY_TOKEN for a command that acts with a device token, or what is wrong. */
export function deviceAccess(env: NodeJS.ProcessEnv): { url: string; token: string } | { error: string } {
  const token = env.ONY_TOKEN?.trim();
  if (token === undefined || token === '')
    return { error: 'no device token: set ONY_TOKEN (a device token, ony_dev_…)' };
  const url = env.ONY_URL?.trim() || DEFAULT_URL;
  if (!isHttpUrl(url)) return { error: `ONY_URL must be an http(s) URL, got "${url}"` };
  return { url, token };
}
