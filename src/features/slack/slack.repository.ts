/**
 * Slack installations and OAuth install states (migrations/0021_slack_installations.sql). The bot
 * token stays a ciphertext here; the service encrypts and decrypts it with the org's data key.
 */
import { sql } from 'kysely';
import type { TenantTx, Tx } from '../../db/client.js';

export interface SlackInstallationRow {
  readonly orgId: string;
  readonly teamId: string;
  readonly teamName: string;
  readonly enterpriseId: string | null;
  readonly appId: string | null;
  readonly botUserId: string;
  readonly botId: string | null;
  readonly channelId: string | null;
  readonly scopes: string;
  readonly botTokenEnc: Buffer;
  readonly installedBy: string;
  readonly createdAt: Date;
}

export type SlackInstallationWrite = Omit<SlackInstallationRow, 'orgId'>;

/** The org that installed a Slack workspace, if any (a definer look-up: ids only). */
export async function orgOfTeam(tx: Tx, teamId: string): Promise<string | undefined> {
  const r = await sql<{ org_id: string }>`select org_id from ony_find_slack_team(${teamId})`.execute(tx);
  return r.rows[0]?.org_id;
}

export async function getInstallation(
  tx: TenantTx,
  opts: { lock?: boolean } = {},
): Promise<SlackInstallationRow | undefined> {
  let q = tx.db.selectFrom('slack_installations').selectAll().where('org_id', '=', tx.orgId);
  if (opts.lock === true) q = q.forUpdate();
  const r = await q.executeTakeFirst();
  return (
    r && {
      orgId: r.org_id,
      teamId: r.team_id,
      teamName: r.team_name,
      enterpriseId: r.enterprise_id,
      appId: r.app_id,
      botUserId: r.bot_user_id,
      botId: r.bot_id,
      channelId: r.channel_id,
      scopes: r.scopes,
      botTokenEnc: Buffer.from(r.bot_token_enc),
      installedBy: r.installed_by,
      createdAt: r.created_at,
    }
  );
}

/** Stores the org's installation, replacing the one it had (one workspace per org). */
export async function putInstallation(tx: TenantTx, i: SlackInstallationWrite): Promise<void> {
  await tx.db.deleteFrom('slack_installations').where('org_id', '=', tx.orgId).execute();
  await tx.db
    .insertInto('slack_installations')
    .values({
      org_id: tx.orgId,
      team_id: i.teamId,
      team_name: i.teamName,
      enterprise_id: i.enterpriseId,
      app_id: i.appId,
      bot_user_id: i.botUserId,
      bot_id: i.botId,
      channel_id: i.channelId,
      scopes: i.scopes,
      bot_token_enc: i.botTokenEnc,
      installed_by: i.installedBy,
      created_at: i.createdAt,
    })
    .execute();
}

/** Removes the org's installation; answers the removed team id, if there was one. */
export async function deleteInstallation(tx: TenantTx): Promise<string | undefined> {
  const r = await tx.db
    .deleteFrom('slack_installations')
    .where('org_id', '=', tx.orgId)
    .returning('team_id')
    .executeTakeFirst();
  return r?.team_id;
}

export async function insertInstallState(
  tx: TenantTx,
  s: { stateSha256: string; sessionSha256: string; memberId: string; at: Date; expiresAt: Date },
): Promise<void> {
  await tx.db
    .insertInto('slack_install_states')
    .values({
      org_id: tx.orgId,
      state_sha256: s.stateSha256,
      session_sha256: s.sessionSha256,
      member_id: s.memberId,
      created_at: s.at,
      expires_at: s.expiresAt,
    })
    .execute();
  // Old states go with each new one: they were single use and short-lived anyway.
  await tx.db
    .deleteFrom('slack_install_states')
    .where('org_id', '=', tx.orgId)
    .where('expires_at', '<', new Date(s.at.getTime() - 24 * 3_600_000))
    .execute();
}

/**
 * Uses a state once: marks it used and answers it (whatever its session and expiry, which the
 * caller checks), or undefined when it is unknown or was used before.
 */
export async function takeInstallState(
  tx: TenantTx,
  stateSha256: string,
  at: Date,
): Promise<{ sessionSha256: string; memberId: string; expiresAt: Date } | undefined> {
  const r = await tx.db
    .updateTable('slack_install_states')
    .set({ used_at: at })
    .where('org_id', '=', tx.orgId)
    .where('state_sha256', '=', stateSha256)
    .where('used_at', 'is', null)
    .returning(['session_sha256', 'member_id', 'expires_at'])
    .executeTakeFirst();
  return r && { sessionSha256: r.session_sha256, memberId: r.member_id, expiresAt: r.expires_at };
}
