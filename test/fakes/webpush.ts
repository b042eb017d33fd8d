/**
 * A fake Web Push service (RFC 8030) for tests, plain HTTP on loopback: it hands out subscriptions
 * (a real P-256 key pair and 16-byte auth secret per subscription, as a browser would create), and
 * for every push it receives it checks what a real push service and browser check:
 *   - the VAPID token (RFC 8292): `Authorization: vapid t=<JWT>, k=<public key>`, the JWT signed
 *     ES256 by that key, `aud` = this service's origin, `exp` in the future and at most 24 h away,
 *     `sub` a mailto: or https: contact; and the key is the one the subscription was made with;
 *   - `Content-Encoding: aes128gcm`, a `TTL` header;
 *   - then decrypts the body with the subscription's private key and auth secret using the
 *     `http_ece` package (the reference implementation of RFC 8188 / RFC 8291).
 * A push that fails a check answers 400 or 401 (as FCM and Mozilla's autopush do) and is recorded
 * with the reason. A subscription marked gone answers 410.
 */
import { createECDH, createPublicKey, randomBytes, randomUUID, verify } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

const ece = createRequire(import.meta.url)('http_ece') as {
  decrypt(buffer: Buffer, params: Record<string, unknown>): Buffer;
};

export interface FakeSubscription {
  readonly id: string;
  /** What the browser's PushSubscription.toJSON() gives. */
  readonly json: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
}

export interface ReceivedPush {
  readonly subscriptionId: string;
  readonly status: number;
  /** Why it was refused (status >= 400). */
  readonly problem?: string;
  readonly claims?: { aud: string; exp: number; sub: string };
  readonly headers: Record<string, string | string[] | undefined>;
  /** The decrypted message, parsed as JSON. */
  readonly message?: Record<string, unknown>;
}

export interface FakePushService {
  readonly origin: string;
  readonly host: string;
  readonly received: ReceivedPush[];
  /** A new subscription, bound to this VAPID public key (the browser's applicationServerKey). */
  subscribe(applicationServerKey: string): FakeSubscription;
  /** From now on, pushes to this subscription answer 410 Gone (the browser unsubscribed). */
  markGone(id: string): void;
  /** Resolves with the first received push (already or later) that satisfies `pred`. */
  next(pred: (p: ReceivedPush) => boolean): Promise<ReceivedPush>;
  close(): Promise<void>;
}

const b64u = (b: Buffer) => b.toString('base64url');

function verifyVapid(
  authorization: string | undefined,
  origin: string,
  expectedKey: string,
): { claims?: ReceivedPush['claims']; problem?: string } {
  const m = /^vapid t=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+),\s*k=([A-Za-z0-9_-]+)$/.exec(
    authorization ?? '',
  );
  if (m === null) return { problem: 'no vapid authorization' };
  const [, jwt, k] = m as unknown as [string, string, string];
  if (k !== expectedKey) return { problem: 'k is not the applicationServerKey of the subscription' };
  const raw = Buffer.from(k, 'base64url');
  if (raw.length !== 65 || raw[0] !== 4) return { problem: 'k is not an uncompressed P-256 point' };
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33)) },
    format: 'jwk',
  });
  const [h, p, s] = jwt.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: string; typ?: string };
  if (header.alg !== 'ES256') return { problem: `alg ${header.alg} is not ES256` };
  const ok = verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(s, 'base64url'),
  );
  if (!ok) return { problem: 'bad JWT signature' };
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as ReceivedPush['claims'] & {};
  const now = Math.floor(Date.now() / 1000);
  if (claims.aud !== origin) return { problem: `aud ${claims.aud} is not ${origin}` };
  if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) return { problem: 'exp out of range' };
  if (!/^(mailto:|https:)/.test(claims.sub)) return { problem: 'sub is not mailto: or https:' };
  return { claims };
}

export async function startFakePushService(): Promise<FakePushService> {
  const subs = new Map<
    string,
    { ecdh: ReturnType<typeof createECDH>; auth: Buffer; serverKey: string; gone: boolean }
  >();
  const received: ReceivedPush[] = [];
  const waiters: { pred: (p: ReceivedPush) => boolean; resolve: (p: ReceivedPush) => void }[] = [];
  let origin = '';

  const record = (p: ReceivedPush) => {
    received.push(p);
    for (const w of [...waiters]) {
      if (w.pred(p)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(p);
      }
    }
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = /^\/push\/([0-9a-f-]{36})$/.exec(req.url ?? '')?.[1];
      const sub = id !== undefined ? subs.get(id) : undefined;
      if (req.method !== 'POST' || id === undefined || sub === undefined) return res.writeHead(404).end();
      const refuse = (status: number, problem: string) => {
        record({ subscriptionId: id, status, problem, headers: req.headers });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(problem);
      };
      if (sub.gone) return refuse(410, 'subscription gone');
      const vapid = verifyVapid(req.headers.authorization, origin, sub.serverKey);
      if (vapid.problem !== undefined) return refuse(401, vapid.problem);
      if (req.headers['content-encoding'] !== 'aes128gcm')
        return refuse(400, 'content-encoding is not aes128gcm');
      if (!/^\d+$/.test(String(req.headers.ttl ?? ''))) return refuse(400, 'no TTL header');
      let message: Record<string, unknown>;
      try {
        const plain = ece.decrypt(Buffer.concat(chunks), {
          version: 'aes128gcm',
          privateKey: sub.ecdh,
          authSecret: b64u(sub.auth),
        });
        message = JSON.parse(plain.toString('utf8')) as Record<string, unknown>;
      } catch (err) {
        return refuse(400, `cannot decrypt: ${(err as Error).message}`);
      }
      record({
        subscriptionId: id,
        status: 201,
        headers: req.headers,
        message,
        ...(vapid.claims ? { claims: vapid.claims } : {}),
      });
      res.writeHead(201, { location: `${origin}/message/${randomUUID()}` }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;

  return {
    origin,
    host: '127.0.0.1',
    received,
    subscribe(applicationServerKey) {
      const id = randomUUID();
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      subs.set(id, { ecdh, auth, serverKey: applicationServerKey, gone: false });
      return {
        id,
        json: {
          endpoint: `${origin}/push/${id}`,
          expirationTime: null,
          keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(auth) },
        },
      };
    },
    markGone(id) {
      const s = subs.get(id);
      if (s !== undefined) s.gone = true;
    },
    next(pred) {
      const found = received.find(pred);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
