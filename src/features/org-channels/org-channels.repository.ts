/**
 * The org's own channel credentials (migration 0022): one encrypted row per org and kind, and the
 * definer look-ups that map a webhook's route id to its org before any tenant is known.
 */
import { sql } from 'kysely';
import type { TenantTx, Tx } from '../../db/client.js';

export type OwnChannelKind = 'telegram' | 'telephony';

export interface OwnChannelRow {
  readonly id: string;
  readonly kind: OwnChannelKind;
  readonly routeId: string;
  readonly configEnc: Buffer;
  readonly summary: Readonly<Record<string, string>>;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export async function findOwnChannel(tx: TenantTx, kind: OwnChannelKind): Promise<OwnChannelRow | undefined> {
  const r = await tx.db
    .selectFrom('org_channel_credentials')
    .select(['id', 'kind', 'route_id', 'config_enc', 'summary', 'created_at', 'updated_at'])
    .where('kind', '=', kind)
    .executeTakeFirst();
  return r === undefined
    ? undefined
    : {
        id: r.id,
        kind: r.kind,
        routeId: r.route_id,
        configEnc: Buffer.from(r.config_enc),
        summary: r.summary,
        createdAt: new Date(r.created_at),
        updatedAt: new Date(r.updated_at),
      };
}

/** Inserts the row with a fresh id (answered), or replaces the config of the existing one. */
export async function saveOwnChannel(
  tx: TenantTx,
  row: {
    readonly id: string;
    readonly kind: OwnChannelKind;
    readonly routeId: string;
    readonly accountKey: string;
    readonly configEnc: Buffer;
    readonly summary: Readonly<Record<string, string>>;
    readonly now: Date;
    readonly exists: boolean;
  },
): Promise<void> {
  if (row.exists) {
    await tx.db
      .updateTable('org_channel_credentials')
      .set({
        config_enc: row.configEnc,
        account_key: row.accountKey,
        summary: JSON.stringify(row.summary),
        updated_at: row.now,
      })
      .where('id', '=', row.id)
      .execute();
    return;
  }
  await tx.db
    .insertInto('org_channel_credentials')
    .values({
      org_id: tx.orgId,
      id: row.id,
      kind: row.kind,
      route_id: row.routeId,
      account_key: row.accountKey,
      config_enc: row.configEnc,
      summary: JSON.stringify(row.summary),
      created_at: row.now,
      updated_at: row.now,
    })
    .execute();
}

export async function deleteOwnChannel(tx: TenantTx, kind: OwnChannelKind): Promise<boolean> {
  const r = await tx.db.deleteFrom('org_channel_credentials').where('kind', '=', kind).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** The org a route id belongs to (definer look-up, ids only). */
export async function resolveChannelRoute(
  tx: Tx,
  routeId: string,
): Promise<{ orgId: string; kind: OwnChannelKind } | undefined> {
  const r = await sql<{ org_id: string; kind: OwnChannelKind }>`
    select org_id, kind from ony_resolve_channel_route(${routeId})`.execute(tx);
  const row = r.rows.at(0);
  return row === undefined ? undefined : { orgId: row.org_id, kind: row.kind };
}

/** Every org with its own credentials of `kind` (definer look-up, ids only). */
export async function listChannelRoutes(
  tx: Tx,
  kind: OwnChannelKind,
): Promise<{ orgId: string; routeId: string }[]> {
  const r = await sql<{ org_id: string; route_id: string }>`
    select org_id, route_id from ony_list_channel_routes(${kind})`.execute(tx);
  return r.rows.map((x) => ({ orgId: x.org_id, routeId: x.route_id }));
}

/** Whether another org already connected the bot or account with this key (definer look-up). */
export async function accountTakenElsewhere(tx: TenantTx, accountKey: string): Promise<boolean> {
  const r = await sql<{ taken: boolean }>`
    select ony_channel_account_taken(${accountKey}, ${tx.orgId}::uuid) as taken`.execute(tx.db);
  return r.rows.at(0)?.taken === true;
}
