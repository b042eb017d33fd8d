/**
 * The OpenID Connect relying party at the edge, on openid-client: discovery (cached per issuer and
 * client), the authorization URL (code flow, PKCE S256, state, nonce), and the code exchange with
 * full ID-token validation (issuer, audience, expiry, nonce, signature against the provider's
 * JWKS). Time comes from the injected clock (as clock skew), so validations follow it.
 */
import * as oidc from 'openid-client';
import type { Clock } from '../../lib/clock.js';

export interface ProviderRef {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Plain http allowed (operator allow-list, for a loopback or lab issuer). */
  readonly allowHttp: boolean;
}

export interface FlowSecrets {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

/** Why the exchange failed: the provider said no or could not be reached, or its answer was invalid. */
export class OidcExchangeError extends Error {
  constructor(
    readonly kind: 'provider_error' | 'token_invalid',
    override readonly cause: unknown,
  ) {
    super(kind);
    this.name = 'OidcExchangeError';
  }
}

export interface OidcClient {
  /** Discovery against the issuer (throws with a readable message when it fails). */
  check(p: ProviderRef): Promise<void>;
  newFlow(): Promise<FlowSecrets & { codeChallenge: string }>;
  authorizationUrl(
    p: ProviderRef,
    redirectUri: string,
    flow: FlowSecrets & { codeChallenge: string },
  ): Promise<URL>;
  /**
   * Exchanges the code and answers the validated ID token's claims, completed from userinfo when
   * email, name or the groups claim are not in the ID token.
   */
  exchange(
    p: ProviderRef,
    callbackUrl: URL,
    flow: FlowSecrets,
    groupsClaim: string,
  ): Promise<Record<string, unknown>>;
}

const DISCOVERY_TTL_MS = 10 * 60_000;
const TIMEOUT_SECONDS = 10;
export const SSO_SCOPES = 'openid email profile';

export function createOidcClient(deps: { clock: Clock }): OidcClient {
  const cache = new Map<
    string,
    { metadata: oidc.ServerMetadata; jwks: oidc.ExportedJWKSCache | undefined; until: number }
  >();
  const keyOf = (p: ProviderRef) => `${p.issuer}\n${p.clientId}`;

  async function configuration(p: ProviderRef, refresh = false): Promise<oidc.Configuration> {
    const skew = Math.round((deps.clock.now().getTime() - Date.now()) / 1000);
    const cached = cache.get(keyOf(p));
    let metadata =
      cached !== undefined && cached.until > Date.now() && !refresh ? cached.metadata : undefined;
    if (metadata === undefined) {
      const discovered = await oidc.discovery(new URL(p.issuer), p.clientId, p.clientSecret, undefined, {
        timeout: TIMEOUT_SECONDS,
        ...(p.allowHttp && { execute: [oidc.allowInsecureRequests] }),
      });
      metadata = discovered.serverMetadata();
      cache.set(keyOf(p), { metadata, jwks: cached?.jwks, until: Date.now() + DISCOVERY_TTL_MS });
    }
    // The spec default (and what most providers register clients with) is client_secret_basic.
    const methods = metadata.token_endpoint_auth_methods_supported;
    const auth =
      methods === undefined || methods.includes('client_secret_basic')
        ? oidc.ClientSecretBasic(p.clientSecret)
        : oidc.ClientSecretPost(p.clientSecret);
    const config = new oidc.Configuration(
      metadata,
      p.clientId,
      { client_secret: p.clientSecret, [oidc.clockSkew]: skew },
      auth,
    );
    config.timeout = TIMEOUT_SECONDS;
    if (p.allowHttp) oidc.allowInsecureRequests(config);
    // openid-client trusts TLS for ID tokens from the token endpoint and skips their signature by
    // default (OIDC Core 3.1.3.7 allows it); we verify it against the provider's JWKS anyway.
    oidc.enableNonRepudiationChecks(config);
    const jwks = cache.get(keyOf(p))?.jwks;
    if (jwks !== undefined) oidc.setJwksCache(config, jwks);
    return config;
  }

  return {
    async check(p) {
      await configuration(p, true);
    },

    async newFlow() {
      const codeVerifier = oidc.randomPKCECodeVerifier();
      return {
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        codeVerifier,
        codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      };
    },

    async authorizationUrl(p, redirectUri, flow) {
      const config = await configuration(p);
      return oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: SSO_SCOPES,
        state: flow.state,
        nonce: flow.nonce,
        code_challenge: flow.codeChallenge,
        code_challenge_method: 'S256',
      });
    },

    async exchange(p, callbackUrl, flow, groupsClaim) {
      let config: oidc.Configuration;
      try {
        config = await configuration(p);
      } catch (err) {
        throw new OidcExchangeError('provider_error', err);
      }
      let claims: Record<string, unknown>;
      let accessToken: string;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: flow.codeVerifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        });
        const idClaims = tokens.claims();
        if (idClaims === undefined) throw new oidc.ClientError('no ID token in the token response');
        claims = { ...idClaims };
        accessToken = tokens.access_token;
      } catch (err) {
        throw new OidcExchangeError(classify(err), err);
      } finally {
        const jwks = oidc.getJwksCache(config);
        const entry = cache.get(keyOf(p));
        if (jwks !== undefined && entry !== undefined) entry.jwks = jwks;
      }
      // Providers that follow OIDC Core 5.4 to the letter put email and groups in userinfo only.
      const wanted = ['email', 'email_verified', 'name', groupsClaim];
      if (wanted.some((c) => !(c in claims)) && config.serverMetadata().userinfo_endpoint !== undefined) {
        try {
          // How the person authenticated (amr, acr) counts only from the signed ID token.
          const {
            amr: _amr,
            acr: _acr,
            ...info
          } = await oidc.fetchUserInfo(config, accessToken, String(claims.sub));
          claims = { ...info, ...claims };
        } catch (err) {
          throw new OidcExchangeError(classify(err), err);
        }
      }
      return claims;
    },
  };
}

function classify(err: unknown): 'provider_error' | 'token_invalid' {
  // The provider refused (error redirect, token endpoint error) or could not be reached.
  if (err instanceof oidc.AuthorizationResponseError || err instanceof oidc.ResponseBodyError)
    return 'provider_error';
  if (err instanceof TypeError) return 'provider_error';
  if (err instanceof oidc.ClientError) {
    const code = err.code ?? '';
    if (/RESPONSE_IS_NOT|HTTP_REQUEST_FORBIDDEN|ABORT|TIMEOUT/.test(code)) return 'provider_error';
  }
  return 'token_invalid';
}
