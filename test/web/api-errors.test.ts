/**
 * What the dashboard tells a person when the server or its database is briefly away (issue #18
 * item 4.2): "try again", never a generic "request failed (503)".
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, errorText } from '../../src/web/src/api.js';

afterEach(() => vi.restoreAllMocks());

async function errorOf(response: Response): Promise<unknown> {
  vi.spyOn(globalThis, 'fetch').mockResolvedValue(response);
  return api('POST', '/v1/handoffs/x/decision', { decision: 'approve' }).catch((err: unknown) => err);
}

describe('errorText on a temporary outage', () => {
  it.each([
    [
      'the server answers 503 unavailable',
      503,
      'application/problem+json',
      JSON.stringify({ status: 503, code: 'unavailable', title: 'Temporarily unavailable; try again' }),
    ],
    [
      'a proxy answers 503 with a page',
      503,
      'text/html',
      '<html><body>503 Service Unavailable</body></html>',
    ],
    ['a proxy answers 502', 502, 'text/html', '<html><body>502 Bad Gateway</body></html>'],
    ['a proxy answers 504', 504, 'text/html', ''],
  ])('%s: "try again", nothing changed', async (_name, status, type, body) => {
    const err = await errorOf(new Response(body, { status, headers: { 'content-type': type } }));
    expect(err).toBeInstanceOf(ApiError);
    const text = errorText(err);
    expect(text).toMatch(/nothing was changed\. Try again in a few seconds\.$/);
    expect(text).not.toMatch(/request failed|Internal/);
  });

  it('other errors keep their own message', async () => {
    const err = await errorOf(
      new Response(
        JSON.stringify({ status: 409, code: 'conflict', detail: 'this handoff was already decided' }),
        {
          status: 409,
          headers: { 'content-type': 'application/problem+json' },
        },
      ),
    );
    expect(errorText(err)).toBe('this handoff was already decided');
  });
});
