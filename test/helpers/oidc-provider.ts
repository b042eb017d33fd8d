/**
 * A real OpenID provider for tests: oidc-provider (discovery, JWKS, authorization code flow with
 * PKCE, ID tokens with a groups claim) on 127.0.0.1 over a real socket, with its development login
 * form driven by `signIn` as a browser would (cookies, redirects). `tamper` lets a test make the
 * token endpoint answer a forged ID token (other audience, expired, wrong nonce or issuer, a bad
 * signature), as a broken or hostile provider would.
 */
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

export interface TestAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
}

export type Tamper = 'audience' | 'expired' | 'nonce' | 'issuer' | 'signature';

export interface TestOidcProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly accounts: Map<string, TestAccount>;
  /** The next token responses carry a forged ID token; undefined: honest answers. */
  tamper: Tamper | undefined;
  /**
   * Claims the provider adds to its next ID tokens, signed with its own key (an honest token), e.g.
   * `amr`/`acr` as a provider that ran MFA sends them; undefined: none.
   */
  idTokenClaims: Record<string, unknown> | undefined;
  /** Drives the provider's login for `accountId` from the authorization URL to the redirect back. */
  signIn(authorizationUrl: string, accountId: string): Promise<URL>;
  close(): Promise<void>;
}

const b64url = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');

function signJwt(header: object, payload: object, key: KeyObject): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const sig = createSign('RSA-SHA256').update(input).sign(key).toString('base64url');
  return `${input}.${sig}`;
}

export async function startOidcProvider(opts: { redirectUri: string }): Promise<TestOidcProvider> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { privateKey: strangerKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = 'test-key-1';
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };

  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'ony-test-client';
  const clientSecret = 'test-client-secret-0123456789abcdef';
  const accounts = new Map<string, TestAccount>();

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [opts.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['oidc-test-cookie-key'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'groups'],
    },
    // Claims in the ID token itself (most enterprise providers do this for their groups claim).
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
    },
    features: { devInteractions: { enabled: true } },
    findAccount: (_ctx, id) => {
      const a = accounts.get(id);
      if (a === undefined) return undefined;
      return { accountId: id, claims: () => ({ sub: id, ...a }) };
    },
    // A first-party client: no consent screen.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const session = ctx.oidc.session!;
      const clientId = ctx.oidc.client!.clientId;
      const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(clientId);
      if (grantId !== undefined) {
        const found = await ctx.oidc.provider.Grant.find(grantId);
        if (found !== undefined) return found;
      }
      const grant = new ctx.oidc.provider.Grant({ clientId, accountId: session.accountId! });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });

  const peer: TestOidcProvider = {
    issuer,
    clientId,
    clientSecret,
    accounts,
    tamper: undefined,
    idTokenClaims: undefined,
    async signIn(authorizationUrl, accountId) {
      return driveLogin(authorizationUrl, accountId);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  provider.use(async (ctx, next) => {
    await next();
    const mode = peer.tamper;
    const extra = peer.idTokenClaims;
    if ((mode === undefined && extra === undefined) || ctx.path !== '/token' || ctx.status !== 200) return;
    const body = ctx.body as { id_token?: string };
    if (typeof body.id_token !== 'string') return;
    const [h, p] = body.id_token.split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString()) as object;
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    if (extra !== undefined) Object.assign(payload, extra);
    if (mode === 'audience') payload.aud = 'some-other-client';
    if (mode === 'expired') Object.assign(payload, { iat: now - 7200, exp: now - 3600 });
    if (mode === 'nonce') payload.nonce = 'not-the-nonce-that-was-sent';
    if (mode === 'issuer') payload.iss = 'https://evil.example';
    ctx.body = {
      ...body,
      id_token: signJwt(header, payload, mode === 'signature' ? strangerKey : privateKey),
    };
  });

  server.on('request', provider.callback());
  return peer;
}

/** A tiny browser: follows the provider's redirects with its cookies, posts the dev login form. */
async function driveLogin(authorizationUrl: string, accountId: string): Promise<URL> {
  const jar = new Map<string, { value: string; path: string }>();
  const cookieHeader = (url: URL) =>
    [...jar.entries()]
      .filter(([, c]) => url.pathname.startsWith(c.path))
      .map(([n, c]) => `${n}=${c.value}`)
      .join('; ');
  const remember = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const path =
        attrs
          .map((a) => a.trim())
          .find((a) => a.toLowerCase().startsWith('path='))
          ?.slice(5) ?? '/';
      jar.set(name, { value: pair!.slice(eq + 1), path });
    }
  };
  const origin = new URL(authorizationUrl).origin;
  let url = new URL(authorizationUrl);
  let init: RequestInit = { method: 'GET' };
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: cookieHeader(url) },
    });
    remember(res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location !== null) {
      const next = new URL(location, url);
      // Back at the relying party: the browser would now load the callback.
      if (next.origin !== origin) return next;
      url = next;
      init = { method: 'GET' };
      continue;
    }
    const html = await res.text();
    if (res.status === 200 && url.pathname.startsWith('/interaction/') && html.includes('name="login"')) {
      init = {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ prompt: 'login', login: accountId, password: 'any' }).toString(),
      };
      continue;
    }
    throw new Error(`unexpected provider answer ${res.status} at ${url.pathname}: ${html.slice(0, 300)}`);
  }
  throw new Error('too many redirects at the provider');
}
