import type { TenantTx } from '../../db/client.js';

export interface Org {
  readonly id: string;
  readonly name: string;
  readonly slug: string;
  readonly createdAt: Date;
}

export async function insertOrg(tx: TenantTx, org: { name: string; slug: string }): Promise<void> {
  await tx.db.insertInto('orgs').values({ id: tx.orgId, name: org.name, slug: org.slug }).execute();
}

export async function getOrg(tx: TenantTx): Promise<Org | undefined> {
  const row = await tx.db.selectFrom('orgs').selectAll().where('id', '=', tx.orgId).executeTakeFirst();
  return row && { id: row.id, name: row.name, slug: row.slug, createdAt: row.created_at };
}

export function slugify(name: string): string {
  const s = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return s === '' ? 'org' : s;
}
