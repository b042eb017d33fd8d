import { sql, type Kysely } from 'kysely';
import { withApp, type TenantTx } from '../../db/client.js';
import type { DB } from '../../db/schema.js';

export type LinkableChannel = 'slack' | 'telegram';
/** Channels that reach a member at their verified phone number. */
export const PHONE_CHANNELS: readonly string[] = ['phone', 'sms'];
export const LINKABLE_CHANNELS: readonly LinkableChannel[] = ['slack', 'telegram'];

/** A chat identity a member linked (the id is the channel's own id of the person). */
export interface ChannelLink {
  readonly id: string;
  readonly memberId: string;
  readonly channel: LinkableChannel;
  readonly externalId: string;
  readonly label: string;
  readonly createdAt: Date;
}

const linkColumns = ['id', 'member_id', 'channel', 'external_id', 'label', 'created_at'] as const;
type LinkRow = Pick<DB['channel_identities'], 'channel' | 'external_id' | 'label' | 'member_id'> & {
  id: string;
  created_at: Date;
};
const toLink = (r: LinkRow): ChannelLink => ({
  id: r.id,
  memberId: r.member_id,
  channel: r.channel,
  externalId: r.external_id,
  label: r.label,
  createdAt: r.created_at,
});

/** Which org members an identity is linked to, across orgs (a narrow definer look-up: ids only). */
export async function resolveIdentity(
  db: Kysely<DB>,
  channel: string,
  externalId: string,
): Promise<{ orgId: string; memberId: string }[]> {
  // A phone number is a member's verified number (migration 0013), not a linked chat identity.
  const phone = PHONE_CHANNELS.includes(channel);
  const rows = await withApp(
    db,
    async (tx) =>
      (
        await (
          phone
            ? sql<{ org_id: string; member_id: string }>`
              select org_id, member_id from ony_resolve_phone(${externalId})`
            : sql<{ org_id: string; member_id: string }>`
              select org_id, member_id from ony_resolve_channel_identity(${channel}, ${externalId})`
        ).execute(tx)
      ).rows,
  );
  return rows.map((r) => ({ orgId: r.org_id, memberId: r.member_id }));
}

/** Links an identity to a member; a member's earlier link on the same channel is replaced. */
export async function replaceLink(
  tx: TenantTx,
  l: { memberId: string; channel: LinkableChannel; externalId: string; label: string; at: Date },
): Promise<{ link: ChannelLink; replaced: boolean }> {
  const removed = await tx.db
    .deleteFrom('channel_identities')
    .where((eb) =>
      eb
        .and([eb('channel', '=', l.channel), eb('member_id', '=', l.memberId)])
        .or(eb.and([eb('channel', '=', l.channel), eb('external_id', '=', l.externalId)])),
    )
    .executeTakeFirst();
  const row = await tx.db
    .insertInto('channel_identities')
    .values({
      org_id: tx.orgId,
      member_id: l.memberId,
      channel: l.channel,
      external_id: l.externalId,
      label: l.label,
      created_at: l.at,
    })
    .returning(linkColumns)
    .executeTakeFirstOrThrow();
  return { link: toLink(row), replaced: Number(removed.numDeletedRows) > 0 };
}

export async function listLinks(tx: TenantTx, memberId: string): Promise<ChannelLink[]> {
  const rows = await tx.db
    .selectFrom('channel_identities')
    .select(linkColumns)
    .where('member_id', '=', memberId)
    .orderBy('created_at')
    .execute();
  return rows.map(toLink);
}

export async function deleteLink(
  tx: TenantTx,
  memberId: string,
  linkId: string,
): Promise<ChannelLink | undefined> {
  const row = await tx.db
    .deleteFrom('channel_identities')
    .where('id', '=', linkId)
    .where('member_id', '=', memberId)
    .returning(linkColumns)
    .executeTakeFirst();
  return row && toLink(row);
}

/** The linked identity of each of these members on a channel (none on a channel without links). */
export async function addressesOf(
  tx: TenantTx,
  channel: string,
  memberIds: readonly string[],
): Promise<Map<string, string>> {
  if (memberIds.length === 0) return new Map();
  if (PHONE_CHANNELS.includes(channel)) {
    // Only a verified number is called or texted; a number that replied STOP gets no SMS.
    let q = tx.db
      .selectFrom('members')
      .select(['id', 'phone_e164'])
      .where('id', 'in', [...memberIds])
      .where('phone_verified_at', 'is not', null);
    if (channel === 'sms') q = q.where('sms_opted_out_at', 'is', null);
    const phones = await q.execute();
    return new Map(phones.flatMap((m) => (m.phone_e164 === null ? [] : [[m.id, m.phone_e164] as const])));
  }
  // Only chat channels have linked identities (console has none; email uses the sign-in address).
  const linkable = LINKABLE_CHANNELS.find((c) => c === channel);
  if (linkable === undefined) return new Map();
  const rows = await tx.db
    .selectFrom('channel_identities')
    .select(['member_id', 'external_id'])
    .where('channel', '=', linkable)
    .where('member_id', 'in', [...memberIds])
    .execute();
  return new Map(rows.map((r) => [r.member_id, r.external_id]));
}

export interface PostedMessage {
  readonly channel: string;
  readonly memberId: string | null;
  readonly ref: string;
}

export async function insertMessages(
  tx: TenantTx,
  handoffId: string,
  messages: readonly PostedMessage[],
  at: Date,
): Promise<void> {
  if (messages.length === 0) return;
  await tx.db
    .insertInto('channel_messages')
    .values(
      messages.map((m) => ({
        org_id: tx.orgId,
        handoff_id: handoffId,
        channel: m.channel,
        member_id: m.memberId,
        ref: m.ref,
        created_at: at,
      })),
    )
    .execute();
}

export async function listMessages(tx: TenantTx, handoffId: string): Promise<PostedMessage[]> {
  const rows = await tx.db
    .selectFrom('channel_messages')
    .select(['channel', 'member_id', 'ref'])
    .where('handoff_id', '=', handoffId)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({ channel: r.channel, memberId: r.member_id, ref: r.ref }));
}

export async function hasMessages(tx: TenantTx, handoffId: string): Promise<boolean> {
  const row = await tx.db
    .selectFrom('channel_messages')
    .select('id')
    .where('handoff_id', '=', handoffId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
