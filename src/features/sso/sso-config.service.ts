/**
 * Single sign-on configuration (docs/sso.md): an admin reads, sets (after a live OpenID discovery)
 * or removes the org's provider, its role mapping and break-glass admins. Signing in through the
 * provider is sso.service.ts; what both need to agree on (where the client secret is sealed, which
 * issuers may use http, the callback URL) is here.
 */
import type { Kysely } from 'kysely';
import type { Config } from '../../config/index.js';
import { auditEvents } from '../../core/audit-chain/events.js';
import { validateSsoConfig, type SsoConfigInput } from '../../core/sso/index.js';
import { withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { appendAudit } from '../audit/audit.repository.js';
import { actorOf, type Principal } from '../auth/principal.js';
import { findMember } from '../members/members.repository.js';
import type { Keyring } from '../orgs/keyring.js';
import type { OidcClient } from './oidc-client.js';
import {
  deleteSsoConfig,
  getSsoConfig,
  listBreakGlass,
  replaceBreakGlass,
  upsertSsoConfig,
  type SsoConfig,
} from './sso.repository.js';

/** The additional data the client secret is sealed with (keyring). */
export const SSO_SECRET_AAD = 'sso-client-secret';

/** Where the provider sends the browser back. */
export const ssoRedirectUri = (publicUrl: string): string => `${publicUrl}/v1/auth/sso/callback`;

/** Whether an issuer may be reached over plain http (only hosts the operator listed). */
export function issuerAllowsHttp(allowHttpHosts: readonly string[], issuer: string): boolean {
  const u = new URL(issuer);
  return (
    u.protocol === 'http:' &&
    (allowHttpHosts.includes(u.hostname.toLowerCase()) || allowHttpHosts.includes(u.host.toLowerCase()))
  );
}

/** The org's configuration as an admin reads it (the client secret is never answered). */
export interface SsoConfigView extends SsoConfigInput {
  readonly breakGlassAdmins: readonly string[];
  readonly redirectUri: string;
  readonly updatedAt: Date;
}

/** What an admin sets. */
export interface SsoConfigPut extends SsoConfigInput {
  /** Required the first time; omitted: keep the stored one. */
  readonly clientSecret: string | undefined;
  readonly breakGlassAdmins: readonly string[];
}

export interface SsoConfigDeps {
  readonly db: Kysely<DB>;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly config: Pick<Config, 'publicUrl' | 'sso'>;
  readonly oidc: Pick<OidcClient, 'check'>;
  readonly logger: Logger;
}

type MemberPrincipal = Principal & { kind: 'member' };

export function createSsoConfigService(deps: SsoConfigDeps) {
  const { db, keyring, clock, config, oidc, logger } = deps;
  const redirectUri = ssoRedirectUri(config.publicUrl);
  const allowHttpHosts = config.sso.allowHttpIssuers;
  const isHttpAllowed = (issuer: string) => issuerAllowsHttp(allowHttpHosts, issuer);

  const viewOf = (c: SsoConfig, breakGlass: readonly string[]): SsoConfigView => ({
    issuer: c.issuer,
    clientId: c.clientId,
    displayName: c.displayName,
    allowedDomains: c.allowedDomains,
    groupsClaim: c.groupsClaim,
    roleMapping: c.roleMapping,
    defaultRole: c.defaultRole,
    jitProvisioning: c.jitProvisioning,
    requireSso: c.requireSso,
    breakGlassAdmins: breakGlass,
    redirectUri,
    updatedAt: c.updatedAt,
  });

  return {
    async get(p: MemberPrincipal): Promise<SsoConfigView> {
      return withTenant(db, p.orgId, async (tx) => {
        const c = await getSsoConfig(tx);
        if (c === undefined) throw new AppError('not_found', 'single sign-on is not configured');
        return viewOf(c, await listBreakGlass(tx));
      });
    },

    /** Creates or replaces the org's provider configuration after a successful discovery. */
    async put(p: MemberPrincipal, input: SsoConfigPut): Promise<SsoConfigView> {
      const checked = validateSsoConfig(input, allowHttpHosts);
      if (!checked.ok) throw new AppError('validation_failed', checked.problems.join('; '));
      const v = checked.value;
      const breakGlass = [...new Set(input.breakGlassAdmins)];
      if (v.requireSso && breakGlass.length === 0) {
        throw new AppError(
          'validation_failed',
          'require_sso needs at least one break-glass admin (break_glass_admins) who can still sign in with a password when the provider is down',
        );
      }
      // Validate what can be checked in the database first, so a bad body costs no outbound request.
      const existing = await withTenant(db, p.orgId, async (tx) => {
        for (const id of breakGlass) {
          const m = await findMember(tx, id);
          if (m === undefined || m.role !== 'admin' || m.status !== 'active')
            throw new AppError(
              'validation_failed',
              `break_glass_admins: ${id} is not an active admin of this organization`,
            );
        }
        const c = await getSsoConfig(tx);
        return (
          c && {
            config: c,
            secret: (await keyring.decrypt(tx, c.clientSecretEnc, SSO_SECRET_AAD)).toString('utf8'),
          }
        );
      });
      const secret = input.clientSecret ?? existing?.secret;
      if (secret === undefined)
        throw new AppError('validation_failed', 'client_secret is required when configuring single sign-on');
      try {
        await oidc.check({
          issuer: v.issuer,
          clientId: v.clientId,
          clientSecret: secret,
          allowHttp: isHttpAllowed(v.issuer),
        });
      } catch (err) {
        logger.info({ err: { message: (err as Error).message } }, 'sso discovery failed');
        throw new AppError(
          'unprocessable',
          `OpenID discovery at ${v.issuer}/.well-known/openid-configuration failed (${(err as Error).message}); check the issuer URL`,
        );
      }
      return withTenant(db, p.orgId, async (tx) => {
        const now = clock.now();
        const before = await getSsoConfig(tx, { lock: true });
        const enc =
          input.clientSecret !== undefined || before === undefined
            ? await keyring.encrypt(tx, Buffer.from(secret, 'utf8'), SSO_SECRET_AAD)
            : before.clientSecretEnc;
        await upsertSsoConfig(
          tx,
          {
            issuer: v.issuer,
            clientId: v.clientId,
            clientSecretEnc: enc,
            displayName: v.displayName,
            allowedDomains: v.allowedDomains,
            groupsClaim: v.groupsClaim,
            roleMapping: v.roleMapping,
            defaultRole: v.defaultRole,
            jitProvisioning: v.jitProvisioning,
            requireSso: v.requireSso,
          },
          now,
        );
        await replaceBreakGlass(tx, breakGlass, now);
        await appendAudit(
          tx,
          auditEvents.ssoConfigured(actorOf(p), p.orgId, {
            issuer: v.issuer,
            created: before === undefined,
            secretChanged: input.clientSecret !== undefined,
            requireSso: v.requireSso,
            jitProvisioning: v.jitProvisioning,
            mappedGroups: v.roleMapping.length,
            breakGlassAdmins: breakGlass.length,
          }),
          now,
        );
        return viewOf((await getSsoConfig(tx))!, await listBreakGlass(tx));
      });
    },

    async remove(p: MemberPrincipal): Promise<void> {
      await withTenant(db, p.orgId, async (tx) => {
        if (!(await deleteSsoConfig(tx))) throw new AppError('not_found', 'single sign-on is not configured');
        await appendAudit(tx, auditEvents.ssoRemoved(actorOf(p), p.orgId), clock.now());
      });
    },
  };
}

export type SsoConfigService = ReturnType<typeof createSsoConfigService>;
