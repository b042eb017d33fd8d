/** SSO configuration, subject links and break-glass admins (migrations/0008_oidc.sql). */
import { sql } from 'kysely';
import type { TenantTx, Tx } from '../../db/client.js';
import type { Role } from '../../db/schema.js';
import type { RoleMappingEntry } from '../../core/sso/index.js';

export interface SsoConfig {
  readonly orgId: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecretEnc: Buffer;
  readonly displayName: string;
  readonly allowedDomains: readonly string[];
  readonly groupsClaim: string;
  readonly roleMapping: readonly RoleMappingEntry[];
  readonly defaultRole: Role | null;
  readonly jitProvisioning: boolean;
  readonly requireSso: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type SsoConfigWrite = Omit<SsoConfig, 'orgId' | 'createdAt' | 'updatedAt'>;

export async function getSsoConfig(
  tx: TenantTx,
  opts: { lock?: boolean } = {},
): Promise<SsoConfig | undefined> {
  let q = tx.db.selectFrom('sso_configs').selectAll().where('org_id', '=', tx.orgId);
  if (opts.lock === true) q = q.forUpdate();
  const r = await q.executeTakeFirst();
  return (
    r && {
      orgId: r.org_id,
      issuer: r.issuer,
      clientId: r.client_id,
      clientSecretEnc: Buffer.from(r.client_secret_enc),
      displayName: r.display_name,
      allowedDomains: r.allowed_domains,
      groupsClaim: r.groups_claim,
      roleMapping: r.role_mapping,
      defaultRole: r.default_role,
      jitProvisioning: r.jit_provisioning,
      requireSso: r.require_sso,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }
  );
}

export async function upsertSsoConfig(tx: TenantTx, c: SsoConfigWrite, now: Date): Promise<void> {
  const values = {
    issuer: c.issuer,
    client_id: c.clientId,
    client_secret_enc: c.clientSecretEnc,
    display_name: c.displayName,
    allowed_domains: [...c.allowedDomains],
    groups_claim: c.groupsClaim,
    role_mapping: JSON.stringify(c.roleMapping.map((m) => ({ group: m.group, role: m.role }))),
    default_role: c.defaultRole,
    jit_provisioning: c.jitProvisioning,
    require_sso: c.requireSso,
    updated_at: now,
  };
  await tx.db
    .insertInto('sso_configs')
    .values({ org_id: tx.orgId, created_at: now, ...values })
    .onConflict((oc) => oc.column('org_id').doUpdateSet(values))
    .execute();
}

export async function deleteSsoConfig(tx: TenantTx): Promise<boolean> {
  await tx.db.deleteFrom('sso_break_glass').execute();
  const r = await tx.db.deleteFrom('sso_configs').where('org_id', '=', tx.orgId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function listBreakGlass(tx: TenantTx): Promise<string[]> {
  const rows = await tx.db.selectFrom('sso_break_glass').select('member_id').orderBy('member_id').execute();
  return rows.map((r) => r.member_id);
}

export async function replaceBreakGlass(
  tx: TenantTx,
  memberIds: readonly string[],
  now: Date,
): Promise<void> {
  await tx.db.deleteFrom('sso_break_glass').execute();
  if (memberIds.length > 0) {
    await tx.db
      .insertInto('sso_break_glass')
      .values(memberIds.map((member_id) => ({ org_id: tx.orgId, member_id, created_at: now })))
      .execute();
  }
}

/**
 * Whether password sign-in is closed to this member: the org requires SSO and the member is not
 * an active break-glass admin.
 */
export async function passwordLoginBlocked(tx: TenantTx, memberId: string): Promise<boolean> {
  const row = await tx.db
    .selectFrom('sso_configs')
    .select((eb) => [
      'require_sso',
      eb
        .exists(
          eb
            .selectFrom('sso_break_glass as b')
            .innerJoin('members as m', (j) =>
              j.onRef('m.org_id', '=', 'b.org_id').onRef('m.id', '=', 'b.member_id'),
            )
            .select(sql.lit(1).as('one'))
            .where('b.member_id', '=', memberId)
            .where('m.role', '=', 'admin')
            .where('m.status', '=', 'active'),
        )
        .as('break_glass'),
    ])
    .where('org_id', '=', tx.orgId)
    .executeTakeFirst();
  return row !== undefined && row.require_sso && !row.break_glass;
}

export interface SsoLink {
  readonly memberId: string;
  readonly subject: string;
}

export async function findLinkBySubject(
  tx: TenantTx,
  issuer: string,
  subject: string,
): Promise<SsoLink | undefined> {
  const r = await tx.db
    .selectFrom('sso_identities')
    .select(['member_id', 'subject'])
    .where('issuer', '=', issuer)
    .where('subject', '=', subject)
    .executeTakeFirst();
  return r && { memberId: r.member_id, subject: r.subject };
}

export async function findLinkOfMember(
  tx: TenantTx,
  memberId: string,
): Promise<{ issuer: string } | undefined> {
  const r = await tx.db
    .selectFrom('sso_identities')
    .select(['issuer'])
    .where('member_id', '=', memberId)
    .executeTakeFirst();
  return r;
}

/** Links a member to a subject (a member has at most one link; relinking replaces an old issuer's). */
export async function linkMember(
  tx: TenantTx,
  memberId: string,
  issuer: string,
  subject: string,
  now: Date,
): Promise<void> {
  await tx.db
    .insertInto('sso_identities')
    .values({ org_id: tx.orgId, member_id: memberId, issuer, subject, created_at: now, last_login_at: now })
    .onConflict((oc) =>
      oc
        .columns(['org_id', 'member_id'])
        .doUpdateSet({ issuer, subject, created_at: now, last_login_at: now }),
    )
    .execute();
}

export async function touchLink(tx: TenantTx, memberId: string, now: Date): Promise<void> {
  await tx.db
    .updateTable('sso_identities')
    .set({ last_login_at: now })
    .where('member_id', '=', memberId)
    .execute();
}

/** The org with this slug, when it has SSO configured (definer look-up: no session yet). */
export async function findSsoOrgBySlug(tx: Tx, slug: string): Promise<string | undefined> {
  const r = await sql<{ org_id: string }>`select org_id from ony_find_sso_org(${slug})`.execute(tx);
  return r.rows.at(0)?.org_id;
}

/** Whether the org requires single sign-on (invites are then accepted by signing in with it). */
export async function ssoRequired(tx: TenantTx): Promise<boolean> {
  const r = await tx.db
    .selectFrom('sso_configs')
    .select('require_sso')
    .where('org_id', '=', tx.orgId)
    .executeTakeFirst();
  return r?.require_sso === true;
}
