/**
 * OpenID Connect single sign-on (docs/sso.md): signing in. An admin configures one provider per
 * org (sso-config.service.ts); a person starts at /v1/auth/sso/<slug>/start (state, nonce and PKCE verifier kept server-side in the
 * ephemeral store, one-time, bound to a cookie), the provider sends them back to the callback,
 * and the validated claims decide (core/sso planSignIn): a linked subject signs in, a verified
 * email of an allowed domain links an existing member, provisioning creates one. Roles follow the
 * provider's groups at every sign-in when the org maps groups.
 */
import type { Kysely } from 'kysely';
import { withApp, withTenant, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Config } from '../../config/index.js';
import type { Clock } from '../../lib/clock.js';
import { newToken, safeEqual, sha256Hex } from '../../lib/crypto.js';
import { AppError, type ErrorCode } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { EphemeralStore } from '../../state/store.js';
import { auditEvents, systemActor } from '../../core/audit-chain/events.js';
import { groupsFromClaims, planSignIn, REFUSAL_TEXT, type SsoRefusal } from '../../core/sso/index.js';
import { appendAudit } from '../audit/audit.repository.js';
import type { AuthService, NewSession } from '../auth/auth.service.js';
import type { Keyring } from '../orgs/keyring.js';
import type { MailNotices } from '../mail/mail.notices.js';
import {
  countActiveAdmins,
  findMember,
  findMemberByEmail,
  insertMember,
  updateMember,
} from '../members/members.repository.js';
import { listOpenInvites, markInvite } from '../members/invites.repository.js';
import { OidcExchangeError, type OidcClient, type ProviderRef } from './oidc-client.js';
import { issuerAllowsHttp, SSO_SECRET_AAD, ssoRedirectUri } from './sso-config.service.js';
import {
  findLinkBySubject,
  findLinkOfMember,
  findSsoOrgBySlug,
  getSsoConfig,
  linkMember,
  touchLink,
  type SsoConfig,
} from './sso.repository.js';

/** The cookie that binds a started sign-in to this browser (its value is never stored, only its hash). */

/**
 * The ID token's `amr` (RFC 8176 method references) and `acr`, kept on the session for the assurance
 * of its answers (docs/assurance.md). Anything malformed is dropped, never guessed.
 */
function authContextOf(claims: Record<string, unknown>): { amr: string[] | null; acr: string | null } {
  const amr =
    Array.isArray(claims.amr) &&
    claims.amr.length <= 16 &&
    claims.amr.every((m) => typeof m === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(m))
      ? (claims.amr as string[])
      : null;
  const acr = typeof claims.acr === 'string' && claims.acr.length <= 200 ? claims.acr : null;
  return { amr, acr };
}

export const SSO_FLOW_COOKIE = 'ony_sso';
export const SSO_FLOW_PREFIX = 'ony_ssof_';
export const SSO_FLOW_TTL_SECONDS = 600;

export interface SsoDeps {
  readonly db: Kysely<DB>;
  readonly store: EphemeralStore;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly config: Pick<Config, 'publicUrl' | 'sso'>;
  readonly auth: Pick<AuthService, 'createSession'>;
  /** Role changes from groups are mailed like an admin's (docs/mail.md). */
  readonly notices: Pick<MailNotices, 'roleChanged'>;
  readonly oidc: OidcClient;
  readonly logger: Logger;
}

interface FlowRecord {
  readonly orgId: string;
  readonly issuer: string;
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

const REFUSAL_CODE: Record<SsoRefusal, ErrorCode> = {
  state_invalid: 'bad_request',
  provider_error: 'bad_request',
  token_invalid: 'unauthenticated',
  email_missing: 'forbidden',
  email_unverified: 'forbidden',
  domain_not_allowed: 'forbidden',
  no_role_mapping: 'forbidden',
  no_account: 'forbidden',
  deactivated: 'forbidden',
  link_conflict: 'conflict',
};

const refuse = (reason: SsoRefusal): AppError =>
  new AppError(REFUSAL_CODE[reason], REFUSAL_TEXT[reason], { reason });

const flowKey = (cookie: string) => `sso:flow:${sha256Hex(cookie)}`;

export function createSsoService(deps: SsoDeps) {
  const { db, store, keyring, clock, config, auth, notices, oidc, logger } = deps;
  const redirectUri = ssoRedirectUri(config.publicUrl);

  const isHttpAllowed = (issuer: string) => issuerAllowsHttp(config.sso.allowHttpIssuers, issuer);

  async function providerOf(tx: TenantTx, c: SsoConfig): Promise<ProviderRef> {
    const secret = (await keyring.decrypt(tx, c.clientSecretEnc, SSO_SECRET_AAD)).toString('utf8');
    return {
      issuer: c.issuer,
      clientId: c.clientId,
      clientSecret: secret,
      allowHttp: isHttpAllowed(c.issuer),
    };
  }

  /** The org's config by slug, with its provider reference (secret decrypted), or undefined. */
  async function configBySlug(slug: string): Promise<{ orgId: string; config: SsoConfig } | undefined> {
    const orgId = await withApp(db, (tx) => findSsoOrgBySlug(tx, slug));
    if (orgId === undefined) return undefined;
    const c = await withTenant(db, orgId, (tx) => getSsoConfig(tx));
    return c && { orgId, config: c };
  }

  return {
    redirectUri,

    /** For the dashboard's sign-in page: the same answer for an unknown slug and an org without SSO. */
    async publicInfo(slug: string): Promise<{ displayName: string; required: boolean } | undefined> {
      const found = await configBySlug(slug);
      return found && { displayName: found.config.displayName, required: found.config.requireSso };
    },

    /** Starts a sign-in: answers the provider URL and the cookie value that binds the flow. */
    async start(slug: string): Promise<{ url: string; cookie: string }> {
      const found = await configBySlug(slug);
      if (found === undefined)
        throw new AppError('not_found', 'single sign-on is not configured for this organization');
      const provider = await withTenant(db, found.orgId, (tx) => providerOf(tx, found.config));
      const flow = await oidc.newFlow();
      let url: URL;
      try {
        url = await oidc.authorizationUrl(provider, redirectUri, flow);
      } catch (err) {
        logger.warn(
          { err: { message: (err as Error).message }, org_id: found.orgId },
          'sso start: provider unreachable',
        );
        throw new AppError('not_ready', 'the identity provider is not reachable; try again shortly');
      }
      const cookie = newToken(SSO_FLOW_PREFIX);
      const record: FlowRecord = {
        orgId: found.orgId,
        issuer: provider.issuer,
        state: flow.state,
        nonce: flow.nonce,
        codeVerifier: flow.codeVerifier,
      };
      await store.set(flowKey(cookie), JSON.stringify(record), SSO_FLOW_TTL_SECONDS * 1000);
      return { url: url.toString(), cookie };
    },

    /**
     * Finishes a sign-in. `query` is the callback's query string as received; `cookie` the flow
     * cookie. Every refusal throws before anything is written (one transaction).
     */
    async callback(input: {
      query: string;
      cookie: string | undefined;
      userAgent: string | null;
      ip: string;
    }): Promise<NewSession> {
      const params = new URLSearchParams(input.query);
      const raw = input.cookie?.startsWith(SSO_FLOW_PREFIX) ? await store.take(flowKey(input.cookie)) : null;
      if (raw === null) throw refuse('state_invalid');
      const flow = JSON.parse(raw) as FlowRecord;
      const state = params.get('state');
      if (state === null || !safeEqual(state, flow.state)) throw refuse('state_invalid');
      const log = logger.child({ org_id: flow.orgId });

      const loaded = await withTenant(db, flow.orgId, async (tx) => {
        const c = await getSsoConfig(tx);
        return c && { config: c, provider: await providerOf(tx, c) };
      });
      // The configuration was removed or pointed elsewhere while the person was at the provider.
      if (loaded === undefined || loaded.config.issuer !== flow.issuer) throw refuse('state_invalid');
      const { config: sso, provider } = loaded;

      let claims: Record<string, unknown>;
      try {
        claims = await oidc.exchange(
          provider,
          new URL(`${redirectUri}?${params.toString()}`),
          flow,
          sso.groupsClaim,
        );
      } catch (err) {
        const kind = err instanceof OidcExchangeError ? err.kind : 'provider_error';
        const cause = err instanceof OidcExchangeError ? err.cause : err;
        log.warn(
          {
            reason: kind,
            err: { message: (cause as Error)?.message, code: (cause as { code?: string })?.code },
          },
          'sso sign-in refused',
        );
        throw refuse(kind);
      }
      const sub = typeof claims.sub === 'string' ? claims.sub : '';
      if (sub === '' || sub.length > 255) throw refuse('token_invalid');
      const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : undefined;
      const signIn = {
        sub,
        email,
        emailVerified: claims.email_verified === true || claims.email_verified === 'true',
        name: typeof claims.name === 'string' ? claims.name : undefined,
        groups: groupsFromClaims(claims, sso.groupsClaim),
      };

      try {
        const attempt = () =>
          withTenant(db, flow.orgId, async (tx) => {
            const now = clock.now();
            const link = await findLinkBySubject(tx, sso.issuer, sub);
            const linked = link && (await findMember(tx, link.memberId));
            const byEmailMember =
              linked === undefined && email !== undefined ? await findMemberByEmail(tx, email) : undefined;
            const byEmail =
              byEmailMember &&
              ({
                ...byEmailMember,
                linkedToOther: (await findLinkOfMember(tx, byEmailMember.id))?.issuer === sso.issuer,
              } as const);
            const invite =
              linked === undefined && byEmail === undefined && email !== undefined
                ? (await listOpenInvites(tx, now)).find((i) => i.email === email)
                : undefined;
            const plan = planSignIn(signIn, sso, linked, byEmail, invite);
            if (plan.kind === 'refuse') throw refuse(plan.reason);

            let memberId: string;
            if (plan.kind === 'provision') {
              const member = await insertMember(tx, {
                email: plan.email,
                name: plan.name,
                role: plan.role,
                passwordHash: null,
              });
              memberId = member.id;
              await linkMember(tx, member.id, sso.issuer, sub, now);
              if (plan.via === 'invite' && invite !== undefined) {
                await markInvite(tx, invite.id, { acceptedAt: now });
                await appendAudit(
                  tx,
                  auditEvents.inviteAccepted({ type: 'member', id: member.id }, invite, member),
                  now,
                );
              } else {
                await appendAudit(tx, auditEvents.memberProvisioned(systemActor, member, 'sso'), now);
              }
              await appendAudit(
                tx,
                auditEvents.memberSsoLinked({ type: 'member', id: member.id }, member, sso.issuer),
                now,
              );
            } else {
              memberId = plan.memberId;
              if (plan.link) {
                await linkMember(tx, memberId, sso.issuer, sub, now);
                await appendAudit(
                  tx,
                  auditEvents.memberSsoLinked({ type: 'member', id: memberId }, { id: memberId }, sso.issuer),
                  now,
                );
              } else {
                await touchLink(tx, memberId, now);
              }
              if (plan.roleChange !== undefined) {
                const { from, to } = plan.roleChange;
                // Groups never demote the last active admin: the org would be locked out of its settings.
                if (from === 'admin' && (await countActiveAdmins(tx)) <= 1) {
                  log.warn(
                    { member_id: memberId, from, to },
                    'sso groups would demote the last admin; role kept',
                  );
                } else {
                  await updateMember(tx, memberId, { role: to }, now);
                  await appendAudit(
                    tx,
                    auditEvents.memberRoleChanged(systemActor, { id: memberId }, from, to),
                    now,
                  );
                  const changed = await findMember(tx, memberId);
                  if (changed !== undefined) await notices.roleChanged(tx, changed, from, to, now);
                }
              }
            }
            // With the ip, like a password sign-in: a new device is recorded and mailed (docs/mail.md).
            return auth.createSession(tx, memberId, input.userAgent, input.ip, {
              method: 'sso',
              ...authContextOf(claims),
            });
          });
        try {
          return await attempt();
        } catch (err) {
          // Two first sign-ins of one person at once: the loser hit the winner's new rows (unique
          // violation, rolled back); once more, it finds and signs in the member the winner created.
          if ((err as { code?: string }).code === '23505') return await attempt();
          throw err;
        }
      } catch (err) {
        if (err instanceof AppError && err.extra?.reason !== undefined)
          log.warn({ reason: err.extra.reason }, 'sso sign-in refused');
        throw err;
      }
    },
  };
}

export type SsoService = ReturnType<typeof createSsoService>;
