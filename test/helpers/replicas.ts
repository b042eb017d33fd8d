/**
 * Several `ony serve` processes in production mode (Postgres + Redis) behind a small round-robin
 * HTTP proxy, as an operator runs replicas behind a load balancer (issue #19 §1). The proxy can pin a
 * request to one replica (`x-ony-replica: <n>`, stripped before forwarding), drop every connection
 * to a replica, or stall it (hold its requests until released).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { freshPostgres, realDatabaseUrl, realRedisUrl, type TestDatabase } from './db.js';
import { PASSWORD } from './app.js';
import { REPO_ROOT, exited, freePort, startServe, waitFor, type ServerProcess } from './server-process.js';

export interface Replica {
  readonly name: string;
  readonly port: number;
  /** The running process (a new one after `restart`). */
  readonly process: ServerProcess;
  /** Everything this replica printed, across restarts. */
  output(): string;
  /** Starts a new process on the same port (after the old one exited). */
  respawn(): void;
}

function replica(name: string, port: number, start: () => ServerProcess): Replica {
  const past: string[] = [];
  let current = start();
  return {
    name,
    port,
    get process() {
      return current;
    },
    output: () => past.join('') + current.output(),
    respawn() {
      past.push(current.output());
      current = start();
    },
  };
}

export interface Proxy {
  readonly url: string;
  /** Destroys every open connection to replica `i` (and the client side of each). */
  drop(i: number): void;
  /** Holds new requests for replica `i` until `release(i)`. */
  stall(i: number): void;
  release(i: number): void;
  /** Replicas the round robin skips (killed ones). */
  readonly down: Set<number>;
  close(): Promise<void>;
}

export function startProxy(ports: readonly number[]): Promise<Proxy> {
  let next = 0;
  const down = new Set<number>();
  const stalled = new Map<number, (() => void)[]>();
  const open = new Map<number, Set<Socket>>(ports.map((_, i) => [i, new Set()]));
  const pick = (pinned: string | string[] | undefined): number => {
    if (typeof pinned === 'string' && /^\d+$/.test(pinned)) return Number(pinned);
    for (let k = 0; k < ports.length; k++) {
      const i = (next + k) % ports.length;
      if (!down.has(i)) {
        next = i + 1;
        return i;
      }
    }
    return next++ % ports.length;
  };
  const server = http.createServer((req, res) => {
    const i = pick(req.headers['x-ony-replica']);
    const forward = () => {
      const headers = { ...req.headers };
      delete headers['x-ony-replica'];
      const upstream = http.request(
        { host: '127.0.0.1', port: ports[i], method: req.method, path: req.url, headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('socket', (s) => {
        // A kept-alive socket serves many requests: one close listener per socket, not per request.
        if (open.get(i)!.has(s)) return;
        open.get(i)!.add(s);
        s.once('close', () => open.get(i)!.delete(s));
      });
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
        else res.destroy();
      });
      req.pipe(upstream);
    };
    const queue = stalled.get(i);
    if (queue !== undefined) queue.push(forward);
    else forward();
  });
  server.keepAliveTimeout = 1000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve({
        url,
        down,
        drop: (i) => {
          for (const s of open.get(i)!) s.destroy();
        },
        stall: (i) => void stalled.set(i, stalled.get(i) ?? []),
        release: (i) => {
          const queue = stalled.get(i) ?? [];
          stalled.delete(i);
          for (const f of queue) f();
        },
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    }),
  );
}

export interface Cluster {
  readonly database: TestDatabase;
  readonly replicas: Replica[];
  readonly proxy: Proxy;
  /** Kills replica `i` with SIGKILL (no clean shutdown), marked down in the proxy. */
  kill(i: number): Promise<void>;
  /** Starts replica `i` again on its port and waits until it is healthy. */
  restart(i: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * REDIS_URL's server on database `db` (7 by default, so keys of a test cluster never meet those of
 * in-process tests; the soak uses its own).
 */
export function redisUrlOn(db: number): string {
  const u = new URL(realRedisUrl!);
  u.pathname = `/${db}`;
  return u.toString();
}

/** What the soak (bench/soak.ts) changes about a cluster; tests leave it out. */
export interface ClusterOptions {
  /** The Redis database index the replicas use (default 7). */
  readonly redisDb?: number;
  /** The Redis URL replica `i` uses instead of the direct one (e.g. through a TCP proxy it can cut). */
  readonly redisVia?: (i: number, direct: string) => string;
  /** The database name prefix (default `ony_t`). */
  readonly databasePrefix?: string;
  /** Node options for every replica process (e.g. `--inspect=127.0.0.1:0`). */
  readonly nodeArgs?: readonly string[];
}

export async function startCluster(
  n = 3,
  extraEnv: Record<string, string> = {},
  /** The runtime URL the replicas use instead of the direct one (e.g. through a pooler). */
  via?: (database: TestDatabase) => Promise<string>,
  options: ClusterOptions = {},
): Promise<Cluster> {
  if (realDatabaseUrl === undefined || realRedisUrl === undefined)
    throw new Error('a cluster needs DATABASE_URL and REDIS_URL');
  const database = await freshPostgres(realDatabaseUrl, options.databasePrefix);
  const runtimeUrl = via !== undefined ? await via(database) : database.runtimeUrl!;
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
  const proxy = await startProxy(ports);
  const masterKey = randomBytes(32).toString('base64');
  const directRedis = redisUrlOn(options.redisDb ?? 7);
  const env = (port: number, i: number): Record<string, string> => ({
    DATABASE_URL: runtimeUrl,
    REDIS_URL: options.redisVia?.(i, directRedis) ?? directRedis,
    ONY_MASTER_KEY: masterKey,
    ONY_PUBLIC_URL: proxy.url,
    ONY_HOST: '127.0.0.1',
    ONY_PORT: String(port),
    ONY_LOG_LEVEL: 'info',
    ...extraEnv,
  });
  const replicas = ports.map((port, i) =>
    replica(String.fromCharCode(65 + i), port, () => startServe(REPO_ROOT, env(port, i), options.nodeArgs)),
  );
  const healthy = (r: Replica) =>
    waitFor(r.process, async () => (await fetch(`http://127.0.0.1:${r.port}/healthz`)).ok);
  await Promise.all(replicas.map(healthy));

  const cluster: Cluster = {
    database,
    replicas,
    proxy,
    async kill(i) {
      const r = replicas[i]!;
      proxy.down.add(i);
      const gone = exited(r.process.child);
      r.process.child.kill('SIGKILL');
      await gone;
    },
    async restart(i) {
      const r = replicas[i]!;
      r.respawn();
      await healthy(r);
      proxy.down.delete(i);
    },
    async close() {
      await Promise.all(
        replicas.map(async (r) => {
          const gone = exited(r.process.child);
          r.process.child.kill('SIGTERM');
          await gone;
        }),
      );
      await proxy.close();
      await database.close();
    },
  };
  return cluster;
}

/** A client of the cluster through the proxy, optionally pinned to one replica. */
export interface Session {
  readonly cookie: string;
  readonly csrf: string;
  readonly orgId: string;
}

export async function request(
  proxy: Proxy,
  method: string,
  path: string,
  opts: { body?: unknown; session?: Session; bearer?: string; replica?: number } = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.session !== undefined) {
    headers.cookie = opts.session.cookie;
    if (method !== 'GET') headers['x-csrf-token'] = opts.session.csrf;
  }
  if (opts.bearer !== undefined) headers.authorization = `Bearer ${opts.bearer}`;
  if (opts.replica !== undefined) headers['x-ony-replica'] = String(opts.replica);
  const res = await fetch(proxy.url + path, {
    method,
    headers,
    ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

export async function signIn(proxy: Proxy, email: string, replica?: number): Promise<Session> {
  const res = await fetch(`${proxy.url}/v1/auth/login`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(replica !== undefined && { 'x-ony-replica': String(replica) }),
    },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (res.status !== 200) throw new Error(`login failed ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { org_id: string; csrf_token: string };
  const cookie = /ony_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
  return { cookie, csrf: body.csrf_token, orgId: body.org_id };
}

/** Sets up the first org through whichever replica printed the setup token; signs its admin in. */
export async function setUpOrg(cluster: Cluster, email = 'admin@cluster.test'): Promise<Session> {
  const token = await new Promise<string>((resolve, reject) => {
    const until = Date.now() + 60_000;
    const look = () => {
      for (const r of cluster.replicas) {
        const m = /ony_setup_[A-Za-z0-9_-]{43}/.exec(r.output());
        if (m) return resolve(m[0]);
      }
      if (Date.now() > until) return reject(new Error('no replica printed a setup token'));
      setTimeout(look, 100);
    };
    look();
  });
  const res = await request(cluster.proxy, 'POST', '/v1/setup', {
    body: { setup_token: token, org_name: 'Cluster', email, name: 'Admin', password: PASSWORD },
  });
  if (res.status !== 201) throw new Error(`setup failed ${res.status}: ${JSON.stringify(res.body)}`);
  return signIn(cluster.proxy, email);
}
