/**
 * First run: an org and its first admin. `ony setup` (operator, on the server) calls createOrg
 * directly; the setup link calls setupWithToken, which burns a one-time token in the same
 * transaction that creates the org.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { withApp, withTenant, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { newToken, sha256 } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import type { AuthService, NewSession } from '../auth/auth.service.js';
import { assertPasswordPolicy, hashPassword } from '../auth/password.js';
import type { Keyring } from '../orgs/keyring.js';
import { insertOrg, slugify } from '../orgs/orgs.repository.js';
import { insertMember } from '../members/members.repository.js';
import { auditEvents, systemActor } from '../../core/audit-chain/events.js';
import { appendAudit, initAuditHead } from '../audit/audit.repository.js';

export const SETUP_PREFIX = 'ony_setup_';
const SETUP_TTL_MS = 24 * 3600 * 1000;

export interface SetupDeps {
  readonly db: Kysely<DB>;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly auth: Pick<AuthService, 'createSession'>;
}

export interface NewOrgInput {
  readonly orgName: string;
  readonly slug?: string | undefined;
  readonly admin: { readonly email: string; readonly name: string; readonly password: string };
}

export function createSetupService({ db, keyring, clock, auth }: SetupDeps) {
  async function createOrgIn(tx: TenantTx, input: NewOrgInput, passwordHash: string) {
    const slug = input.slug ?? slugify(input.orgName);
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(slug)) {
      throw new AppError(
        'validation_failed',
        'slug must be lowercase letters, digits and dashes (at most 63)',
      );
    }
    await insertOrg(tx, { name: input.orgName, slug });
    await keyring.createOrgKey(tx);
    await initAuditHead(tx);
    const member = await insertMember(tx, {
      email: input.admin.email.trim().toLowerCase(),
      name: input.admin.name,
      role: 'admin',
      passwordHash,
    });
    const now = clock.now();
    await appendAudit(
      tx,
      auditEvents.orgCreated(systemActor, { id: tx.orgId, name: input.orgName, slug }),
      now,
    );
    await appendAudit(tx, auditEvents.memberCreated(systemActor, member), now);
    return member;
  }

  return {
    async orgExists(): Promise<boolean> {
      return withApp(
        db,
        async (tx) => (await sql<{ e: boolean }>`select ony_org_exists() as e`.execute(tx)).rows[0]!.e,
      );
    },

    /** Operator path (`ony setup`): no token, the operator has the server. */
    async createOrg(input: NewOrgInput): Promise<{ orgId: string; memberId: string; slug: string }> {
      assertPasswordPolicy(input.admin.password);
      const passwordHash = await hashPassword(input.admin.password);
      const orgId = randomUUID();
      const member = await withTenant(db, orgId, (tx) => createOrgIn(tx, input, passwordHash)).catch(
        mapUnique,
      );
      return { orgId, memberId: member.id, slug: input.slug ?? slugify(input.orgName) };
    },

    /** Issues a one-time setup token (printed at first start while no org exists). */
    async issueSetupToken(): Promise<string> {
      const token = newToken(SETUP_PREFIX);
      const now = clock.now();
      const expires = new Date(now.getTime() + SETUP_TTL_MS);
      await withApp(db, (tx) =>
        sql`select ony_issue_setup_token(${sha256(token)}, ${now}, ${expires})`.execute(tx),
      );
      return token;
    },

    /** The setup link: burns the token and creates the org in one transaction; signs the admin in. */
    async setupWithToken(token: string, input: NewOrgInput, userAgent: string | null): Promise<NewSession> {
      assertPasswordPolicy(input.admin.password);
      const passwordHash = await hashPassword(input.admin.password);
      const orgId = randomUUID();
      return withTenant(db, orgId, async (tx) => {
        const ok = (
          await sql<{ ok: boolean }>`select ony_consume_setup_token(${sha256(token)}) as ok`.execute(tx.db)
        ).rows[0]!.ok;
        if (!ok)
          throw new AppError(
            'gone',
            'this setup token is unknown, used or expired; run `ony setup` on the server',
          );
        const member = await createOrgIn(tx, input, passwordHash);
        return auth.createSession(tx, member.id, userAgent);
      }).catch(mapUnique);
    },
  };
}

function mapUnique(err: unknown): never {
  if (typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505') {
    throw new AppError('conflict', 'an organization with this slug already exists; choose another slug');
  }
  throw err;
}

export type SetupService = ReturnType<typeof createSetupService>;
