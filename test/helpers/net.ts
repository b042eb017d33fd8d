/**
 * Network outages a test can cause for real (no mocks of the code under test):
 * - `restartableListener`: the app served on a fixed port by a listener the test can stop (the
 *   port then refuses connections and open ones are cut) and start again on the same port, over
 *   the same app and database: what a client sees of a server restart.
 * - `startTcpProxy`: a TCP proxy in front of a service (Postgres) that the test can cut (the port
 *   refuses new connections, open ones are reset) and restore on the same port; it counts the
 *   connections it accepted.
 */
import { EventEmitter, once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { AppInstance } from '../../src/http/app-types.js';

export interface RestartableListener {
  readonly url: string;
  readonly port: number;
  /** Closes the port (connections refused) and cuts every open connection. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

export async function restartableListener(app: AppInstance): Promise<RestartableListener> {
  let server: HttpServer | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    const s = createHttpServer((req, res) => app.routing(req, res));
    s.listen(port, '127.0.0.1');
    await once(s, 'listening');
    port = (s.address() as AddressInfo).port;
    server = s;
  };
  await listen();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    async stop() {
      const s = server;
      server = undefined;
      if (s === undefined) return;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections();
      await closed;
    },
    start: listen,
  };
}

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted so far (each forwarded to the target). */
  readonly accepted: number;
  /** Emits 'connection' for each accepted connection. */
  readonly events: EventEmitter;
  /** The target is "down": the port refuses connections and every open one is reset. */
  cut(): Promise<void>;
  /** Accepts and forwards again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const events = new EventEmitter();
  const open = new Set<Socket>();
  let accepted = 0;
  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    const s = createServer((client) => {
      accepted++;
      const upstream = connect(targetPort, targetHost);
      open.add(client).add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        open.delete(client);
        open.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
      events.emit('connection');
    });
    s.listen(port, '127.0.0.1');
    await once(s, 'listening');
    port = (s.address() as AddressInfo).port;
    server = s;
  };
  const cut = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const socket of open) socket.resetAndDestroy();
    open.clear();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    get port() {
      return port;
    },
    get accepted() {
      return accepted;
    },
    events,
    cut,
    restore: listen,
    close: cut,
  };
}
