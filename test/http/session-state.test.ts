/**
 * The dashboard's first-load probe: 200 either way, so a signed-out browser logs no failed
 * request; signed in, it answers what GET /v1/auth/session does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createOrgWithAdmin, startTestServer, type TestServer } from '../helpers/app.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.close());

const probe = (cookie?: string) =>
  t.app.inject({
    method: 'GET',
    url: '/v1/auth/session/state',
    ...(cookie !== undefined && { headers: { cookie } }),
  });

describe('GET /v1/auth/session/state', () => {
  it('answers signed_in false without a cookie, with a forged one, and after sign-out', async () => {
    const none = await probe();
    expect(none.statusCode).toBe(200);
    expect(none.json()).toEqual({ signed_in: false });
    expect((await probe('ony_session=ony_ses_forged')).json()).toEqual({ signed_in: false });
    expect((await probe('ony_session=garbage')).json()).toEqual({ signed_in: false });

    const admin = await createOrgWithAdmin(t, 'probe');
    const session = (await as(t, admin, 'GET', '/v1/auth/session')).json<Record<string, unknown>>();
    const state = await probe(admin.cookie);
    expect(state.statusCode).toBe(200);
    expect(state.json()).toEqual({ signed_in: true, ...session });

    expect((await as(t, admin, 'POST', '/v1/auth/logout')).statusCode).toBe(204);
    expect((await probe(admin.cookie)).json()).toEqual({ signed_in: false });
  });
});
