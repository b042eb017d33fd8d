/**
 * The client's own signal handling, without `AbortSignal.any` (only in Node 18.17+ and 20.3+; the
 * package supports every Node 18): a caller's signal and the request timeout both end a request,
 * and a long-lived caller signal does not collect a listener per request. Against a plain HTTP
 * server that answers or holds requests.
 */
import { getEventListeners } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, OnyNetworkError } from '@ony/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const HANDOFF = {
  id: 'h1',
  short_code: 'ABC123',
  status: 'pending',
  action: { type: 'deploy', target: null },
  title: 't',
  summary: '',
  risk: { level: 'low', reasons: [] },
  options: [],
  approvals: { required: 1, received: 0 },
  totp_required: false,
  decision: null,
  payload: { status: 'none', removed_at: null, note: null },
  expires_at: '2030-01-01T00:00:00Z',
  created_at: '2030-01-01T00:00:00Z',
  links: { self: '', events: '' },
};

/** Requests to /hold/… are held (never answered) until the test ends; others get a handoff. */
const held: ServerResponse[] = [];
let onHeld: (() => void) | undefined;
let requests = 0;
const server = createServer((req, res) => {
  requests++;
  if (req.url?.startsWith('/hold/')) {
    held.push(res);
    onHeld?.();
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(HANDOFF));
});
let base: string;

beforeAll(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of held) res.destroy();
  await new Promise((ok) => server.close(ok));
});

const heldRequest = (): Promise<void> => new Promise((ok) => (onHeld = ok));

describe('request signals', () => {
  it("the caller's abort ends a held request at once, with the caller's reason", async () => {
    const ony = createClient({ baseUrl: `${base}/hold`, token: 't' });
    const controller = new AbortController();
    const reason = new Error('the agent gave up');
    const arrived = heldRequest();
    const pending = ony.getHandoff('h1', { waitSeconds: 60, signal: controller.signal });
    await arrived;
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('the request timeout still ends a held request when the caller passed a signal', async () => {
    const ony = createClient({ baseUrl: `${base}/hold`, token: 't', requestTimeoutMs: 100 });
    const controller = new AbortController();
    const err = await ony.getHandoff('h1', { signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnyNetworkError);
    expect((err as OnyNetworkError).message).toMatch(/timed out/);
    expect(controller.signal.aborted).toBe(false);
  });

  it('a signal aborted before the call sends nothing', async () => {
    const ony = createClient({ baseUrl: base, token: 't' });
    const before = requests;
    const reason = new Error('already');
    await expect(ony.getHandoff('h1', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(requests).toBe(before);
  });

  it('a long-lived caller signal keeps no listener once its requests are done', async () => {
    const ony = createClient({ baseUrl: base, token: 't' });
    const controller = new AbortController();
    for (let i = 0; i < 3; i++) {
      expect((await ony.getHandoff('h1', { signal: controller.signal })).id).toBe('h1');
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
