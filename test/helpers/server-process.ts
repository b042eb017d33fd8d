/**
 * `ony serve` as an operator runs it: a real process on a real port, its output collected, waited
 * for by polling with a generous cap. `startServe` runs a source tree with tsx (no build);
 * `startServerProcess` runs the built server (`node dist/main.js serve`, as `npm start` does) in
 * embedded mode, for the docs test and the start-up bench.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '../..');

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

/**
 * `ony serve` from the source tree at `root`, with only `env` (and PATH) in its environment;
 * `nodeArgs` go to node before the script (e.g. `--inspect=127.0.0.1:0` for the soak's memory probe).
 */
export function startServe(
  root: string,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): ServerProcess {
  let out = '';
  const args = [...nodeArgs, '--import', 'tsx', join(root, 'src/main.ts'), 'serve'];
  const child = spawn(process.execPath, args, {
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

export interface BuiltServer {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the first match of `re` in the output (stdout and stderr), as it arrives. */
  waitFor(re: RegExp, capMs?: number): Promise<RegExpExecArray>;
  /** Polls GET /healthz until it answers 200; rejects when the process exits first. */
  healthy(capMs?: number): Promise<void>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Only what the server needs: no DATABASE_URL or REDIS_URL (embedded), no inherited ONY_*. */
function embeddedEnv(dataDir: string, port: number, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('ONY_') && k !== 'DATABASE_URL' && k !== 'REDIS_URL') env[k] = v;
  }
  return {
    ...env,
    ONY_DATA_DIR: dataDir,
    ONY_HOST: '127.0.0.1',
    ONY_PORT: String(port),
    ONY_LOG_LEVEL: 'info',
    ...extra,
  };
}

export async function startBuiltServer(opts: {
  dataDir: string;
  /** argv after `node`, or ['npm', 'start'] style when `command` is given. */
  command?: { file: string; args: string[] };
  env?: Record<string, string>;
}): Promise<BuiltServer> {
  const port = await freePort();
  const command = opts.command ?? {
    file: process.execPath,
    args: ['--enable-source-maps', join(REPO_ROOT, 'dist/main.js'), 'serve'],
  };
  const child = spawn(command.file, command.args, {
    cwd: REPO_ROOT,
    env: embeddedEnv(opts.dataDir, port, opts.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = once(child, 'exit');
  const onData = (b: Buffer) => {
    out += b.toString('utf8');
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const url = `http://127.0.0.1:${port}`;

  const until = async <T>(probe: () => Promise<T | undefined>, capMs: number, what: string): Promise<T> => {
    const deadline = Date.now() + capMs;
    let dead = false;
    void exited.then(() => (dead = true));
    for (;;) {
      const got = await probe();
      if (got !== undefined) return got;
      if (dead) throw new Error(`the server exited before ${what}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${capMs} ms:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  return {
    child,
    port,
    url,
    output: () => out,
    waitFor: (re, capMs = 120_000) =>
      until(async () => re.exec(out) ?? undefined, capMs, `output matching ${String(re)}`),
    healthy: (capMs = 120_000) =>
      until(
        async () => {
          try {
            return (await fetch(`${url}/healthz`)).status === 200 ? true : undefined;
          } catch {
            return undefined;
          }
        },
        capMs,
        'a 200 from /healthz',
      ).then(() => undefined),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
