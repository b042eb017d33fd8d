/**
 * An HTTPS-style witness for tests (plain HTTP on loopback): it receives the signed checkpoint
 * notes ony POSTs, checks each one's Ed25519 signature under the keys of ony's
 * /.well-known/ony-audit-key as a real witness would (401 when none verifies), keeps them as
 * `<dir>/<org id>/<seq>.checkpoint` and `latest.checkpoint`, and serves them back for
 * `ony audit verify --witness <url>`. It can be told to fail the next requests.
 */
import { createServer, type Server } from 'node:http';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  hasValidSignature,
  parseCheckpoint,
  parseVerifierKey,
  type ParsedCheckpoint,
  type VerifierKey,
} from '../../src/core/audit-chain/checkpoint.js';
import { checkpointObjectKey, latestObjectKey } from '../../src/core/audit-chain/witness.js';

export interface Received {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly note: string;
  readonly checkpoint?: ParsedCheckpoint['checkpoint'];
}

export interface TestWitness {
  readonly url: string;
  readonly dir: string;
  /** Every POST, in order, with the status it got. */
  readonly received: Received[];
  /** The verifier keys to accept (what /.well-known/ony-audit-key lists). */
  trust(verifierKeys: readonly string[]): void;
  /** Answers the next n POSTs with 503. */
  failNext(n: number): void;
  /** Resolves once a POST that got 2xx satisfies `pred`. */
  accepted(pred: (c: NonNullable<Received['checkpoint']>) => boolean): Promise<Received>;
  close(): Promise<void>;
}

export async function startTestWitness(dir: string): Promise<TestWitness> {
  let keys: VerifierKey[] = [];
  let failing = 0;
  const received: Received[] = [];
  const waiters: {
    pred: (c: NonNullable<Received['checkpoint']>) => boolean;
    resolve: (r: Received) => void;
  }[] = [];
  const newest = new Map<string, number>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (req.method === 'GET') {
          const path = decodeURIComponent((req.url ?? '/').slice(1));
          if (!/^[0-9a-f-]{36}\/(latest|\d+)\.checkpoint$/.test(path)) return res.writeHead(404).end();
          try {
            const body = await readFile(join(dir, path));
            return res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
          } catch {
            return res.writeHead(404).end();
          }
        }
        const note = Buffer.concat(chunks).toString('utf8');
        const record = (status: number, checkpoint?: Received['checkpoint']) => {
          const r = {
            status,
            contentType: req.headers['content-type'],
            note,
            ...(checkpoint && { checkpoint }),
          };
          received.push(r);
          res.writeHead(status).end();
          if (status === 200 && checkpoint)
            for (const w of [...waiters])
              if (w.pred(checkpoint)) {
                waiters.splice(waiters.indexOf(w), 1);
                w.resolve(r);
              }
        };
        if (req.method !== 'POST') return record(405);
        if (failing > 0) {
          failing--;
          return record(503);
        }
        let parsed: ParsedCheckpoint;
        try {
          parsed = parseCheckpoint(note);
        } catch {
          return record(400);
        }
        if (!keys.some((k) => hasValidSignature(parsed, k))) return record(401, parsed.checkpoint);
        const c = parsed.checkpoint;
        await mkdir(join(dir, c.orgId), { recursive: true });
        await writeFile(join(dir, checkpointObjectKey('', c.orgId, c.seq)), note);
        if (c.seq >= (newest.get(c.orgId) ?? -1)) {
          newest.set(c.orgId, c.seq);
          await writeFile(join(dir, latestObjectKey('', c.orgId)), note);
        }
        record(200, c);
      })();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    received,
    trust(verifierKeys) {
      keys = verifierKeys.map((k) => parseVerifierKey(k));
    },
    failNext(n) {
      failing = n;
    },
    accepted(pred) {
      const done = received.find((r) => r.status === 200 && r.checkpoint && pred(r.checkpoint));
      if (done) return Promise.resolve(done);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
