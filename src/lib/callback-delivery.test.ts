import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CallbackDeliveryError, deliverCallback } from './callback-delivery.js';
import { SsrfError, type LookupFn } from './ssrf.js';
import { newWebhookSecret, signWebhook, verifyWebhook } from './webhook-signature.js';

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let base: string;
let seen: Seen[] = [];
/** How the server answers the next request. */
let answer: (res: ServerResponse) => void = (res) => res.writeHead(204).end();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  answer = (res) => res.writeHead(204).end();
});

const local = { allowHosts: ['127.0.0.1'], allowHttp: true } as const;
const body = '{"status":"approved","channel":"sms"}';

describe('deliverCallback', () => {
  it('POSTs the body with the signed headers and content-type', async () => {
    const secret = newWebhookSecret();
    const now = new Date();
    const signed = signWebhook(secret, 'msg_abc', now, body);
    const result = await deliverCallback(
      `${base}/cb?run=1`,
      body,
      { ...signed, 'Content-Type': 'text/plain' },
      local,
    );
    expect(result).toEqual({ status: 204 });
    expect(seen).toHaveLength(1);
    const [req] = seen;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/cb?run=1');
    expect(req?.body).toBe(body);
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(req?.headers.host).toBe(new URL(base).host);
    expect(req?.headers['webhook-id']).toBe('msg_abc');
    expect(() =>
      verifyWebhook(secret, req?.headers as Record<string, string | undefined>, req?.body ?? '', now),
    ).not.toThrow();
  });

  it('connects to the pinned address while keeping the hostname in Host', async () => {
    const lookups: string[] = [];
    const lookup = (async (host: string) => {
      lookups.push(host);
      return [{ address: '127.0.0.1', family: 4 }];
    }) as unknown as LookupFn;
    const port = new URL(base).port;
    const result = await deliverCallback(
      `http://agent.test:${port}/cb`,
      body,
      {},
      {
        allowHosts: ['agent.test'],
        allowHttp: true,
        lookup,
      },
    );
    expect(result.status).toBe(204);
    expect(lookups).toEqual(['agent.test']);
    expect(seen[0]?.headers.host).toBe(`agent.test:${port}`);
  });

  it('over https, sends the hostname as TLS SNI while connecting to the pinned address', async () => {
    // A bare TCP listener on loopback captures the TLS ClientHello, then hangs up.
    let hello = Buffer.alloc(0);
    const tcp = createTcpServer((socket) => {
      socket.on('data', (d: Buffer) => {
        hello = Buffer.concat([hello, d]);
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    try {
      const port = (tcp.address() as AddressInfo).port;
      const lookup = (async () => [{ address: '127.0.0.1', family: 4 }]) as unknown as LookupFn;
      const url = `https://agent.example.com:${port}/cb`;
      await expect(
        deliverCallback(url, body, {}, { allowHosts: ['agent.example.com'], lookup }),
      ).rejects.toThrow();
      expect(hello.includes(Buffer.from('agent.example.com'))).toBe(true);
    } finally {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    }
  });

  it('throws on a 500, with the status', async () => {
    answer = (res) => res.writeHead(500).end('boom');
    const err = await deliverCallback(`${base}/cb`, body, {}, local).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallbackDeliveryError);
    expect((err as CallbackDeliveryError).status).toBe(500);
    expect((err as Error).message).toContain('HTTP 500');
    expect(seen).toHaveLength(1);
  });

  it('does not follow a 302', async () => {
    answer = (res) => res.writeHead(302, { location: `${base}/elsewhere` }).end();
    const err = await deliverCallback(`${base}/cb`, body, {}, local).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallbackDeliveryError);
    expect((err as CallbackDeliveryError).status).toBe(302);
    expect((err as Error).message).toContain('redirects are not followed');
    expect(seen.map((r) => r.url)).toEqual(['/cb']);
  });

  it('reads at most 64 KiB of a large 2xx answer', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(Buffer.alloc(200 * 1024, 'x'));
      res.end();
    };
    await expect(deliverCallback(`${base}/cb`, body, {}, local)).resolves.toEqual({ status: 200 });
  });

  it('times out a slow answer', async () => {
    answer = (res) => {
      setTimeout(() => res.writeHead(204).end(), 2_000).unref();
    };
    const err = await deliverCallback(`${base}/cb`, body, {}, { ...local, timeoutMs: 200 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CallbackDeliveryError);
    expect((err as Error).message).toContain('timed out after 200 ms');
  });

  it('refuses the loopback URL without allowHosts, before any connection', async () => {
    const err = await deliverCallback(`${base}/cb`, body, {}, { allowHttp: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SsrfError);
    expect((err as SsrfError).reason).toBe('private_address');
    await expect(deliverCallback(`${base}/cb`, body, {}, { allowHosts: ['127.0.0.1'] })).rejects.toThrow(
      'must use https',
    );
    expect(seen).toHaveLength(0);
  });

  it('refuses a hostname that resolves to loopback (rebinding), before any connection', async () => {
    const lookup = (async () => [
      { address: '1.1.1.1', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ]) as unknown as LookupFn;
    const port = new URL(base).port;
    await expect(
      deliverCallback(`http://agent.example.com:${port}/cb`, body, {}, { allowHttp: true, lookup }),
    ).rejects.toThrow(SsrfError);
    expect(seen).toHaveLength(0);
  });
});
