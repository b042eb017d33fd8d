/**
 * PgBouncer (Debian's package) in transaction mode in front of one test database, as most managed
 * Postgres offerings run it (issue #19 §2). It refuses to run as root, so it runs as the `postgres`
 * system user when the tests run as root.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server-process.js';

export const PGBOUNCER = '/usr/sbin/pgbouncer';
export const hasPgbouncer = existsSync(PGBOUNCER);

export interface Pgbouncer {
  /** `url` with host and port replaced by the pooler's. */
  readonly url: string;
  output(): string;
  close(): Promise<void>;
}

/** Starts a pooler for the database of `url` (login and password taken from it). */
export async function startPgbouncer(url: string): Promise<Pgbouncer> {
  const target = new URL(url);
  const dbname = target.pathname.slice(1);
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'ony-pgbouncer-'));
  await chmod(dir, 0o777);
  const ini = join(dir, 'pgbouncer.ini');
  await writeFile(
    ini,
    [
      '[databases]',
      `${dbname} = host=${target.hostname} port=${target.port || '5432'} dbname=${dbname} user=${decodeURIComponent(target.username)} password=${decodeURIComponent(target.password)}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      // Any client name is accepted; the server login is the one above (the confined runtime login).
      'auth_type = any',
      'pool_mode = transaction',
      'max_client_conn = 500',
      'default_pool_size = 8',
      "unix_socket_dir = ''",
      'ignore_startup_parameters = extra_float_digits',
    ].join('\n') + '\n',
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = asRoot
    ? spawn('runuser', ['-u', 'postgres', '--', PGBOUNCER, ini], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(PGBOUNCER, [ini], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  // Listening once a TCP connection to its port succeeds.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}:\n${out}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const pooled = new URL(url);
  pooled.hostname = '127.0.0.1';
  pooled.port = String(port);
  return {
    url: pooled.toString(),
    output: () => out,
    async close() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
