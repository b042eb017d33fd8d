/**
 * `ony serve` as an operator runs it: a real process on a real port, started from TypeScript
 * sources with tsx (no build), its output collected, waited for by polling with a generous cap.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  readonly child: ChildProcess;
  output(): string;
}

/** `ony serve` from the source tree at `root`, with only `env` (and PATH) in its environment. */
export function startServe(root: string, env: Record<string, string>): ServerProcess {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts'), 'serve'], {
    cwd: root, // so that --import tsx resolves
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return { child, output: () => out };
}

/**
 * Polls until `check` holds; fails at once if the server process exits first. `ms` is only a
 * safety net: a busy 2-core CI machine can take long to start the embedded database and the risk
 * workers, so it is generous.
 */
export async function waitFor(
  server: ServerProcess,
  check: () => Promise<boolean>,
  ms = 180_000,
): Promise<void> {
  const until = Date.now() + ms;
  const tail = (): string => `; its output ends:\n${server.output().slice(-3000)}`;
  while (Date.now() < until) {
    if (server.child.exitCode !== null)
      throw new Error(`ony serve exited with ${server.child.exitCode}${tail()}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out${tail()}`);
}

export const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
