/**
 * The real server as a user starts it: a child process (`node dist/main.js serve` or `npm start`)
 * in embedded mode on a free port, with its own data directory. Used by the docs test and the
 * start-up bench; both wait on events (a banner line, a 200 from /healthz, an exit), never on time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

export interface ServerProcess {
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

export async function startServerProcess(opts: {
  dataDir: string;
  /** argv after `node`, or ['npm', 'start'] style when `command` is given. */
  command?: { file: string; args: string[] };
  env?: Record<string, string>;
}): Promise<ServerProcess> {
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
