/**
 * What is mailed when: invites, and security notices (a sign-in from a new device, a TOTP reset, a
 * role change, an email change, an org erasure scheduled). Each function runs in the caller's
 * transaction and only queues (the outbox sends later), so a notice commits or rolls back with the
 * change it tells about. With mail off they do nothing (and sign-in devices are still recorded).
 */
import type { TenantTx } from '../../db/client.js';
import type { Role } from '../../db/schema.js';
import { deviceClassOf } from '../../core/mail/device.js';
import { maskEmail } from '../../core/mail/templates.js';
import { sha256 } from '../../lib/crypto.js';
import { getOrg } from '../orgs/orgs.repository.js';
import { listActiveAdmins, recordSignInDevice } from './mail.repository.js';
import type { MailOutbox } from './mail.service.js';

export interface MailNoticesDeps {
  readonly outbox: MailOutbox;
  readonly config: { readonly publicUrl: string };
}

interface MemberRef {
  readonly id: string;
  readonly name: string;
  readonly email: string;
}

export function createMailNotices({ outbox, config }: MailNoticesDeps) {
  const orgName = async (tx: TenantTx) => (await getOrg(tx))?.name ?? 'your organization';

  return {
    /** The invite link, mailed to the invitee (the admin still gets it in the answer too). */
    async invite(
      tx: TenantTx,
      i: { email: string; inviterName: string; role: Role; url: string; expiresAt: Date },
    ): Promise<void> {
      if (!outbox.enabled) return;
      await outbox.enqueue(tx, {
        to: { address: i.email, memberId: null },
        data: {
          kind: 'invite',
          orgName: await orgName(tx),
          inviterName: i.inviterName,
          role: i.role,
          url: i.url,
          expiresAt: i.expiresAt.toISOString(),
        },
      });
    },

    /**
     * Records the device class of a sign-in (docs/mail.md: user-agent without versions + IPv4 /24
     * or IPv6 /48) and mails the member when it is new and they had signed in before from another.
     */
    async signIn(
      tx: TenantTx,
      member: MemberRef,
      device: { ip: string; userAgent: string | null },
      now: Date,
    ): Promise<void> {
      const cls = deviceClassOf(device.userAgent, device.ip);
      const seen = await recordSignInDevice(tx, member.id, sha256(cls.key), now);
      if (!seen.isNew || seen.knownBefore === 0 || !outbox.enabled) return;
      await outbox.enqueue(tx, {
        to: { address: member.email, memberId: member.id },
        data: {
          kind: 'sign_in_new_device',
          orgName: await orgName(tx),
          memberName: member.name,
          at: now.toISOString(),
          device: cls.label,
          network: cls.network,
          sessionsUrl: `${config.publicUrl}/settings/sessions`,
        },
      });
    },

    async totpReset(tx: TenantTx, member: MemberRef, now: Date): Promise<void> {
      if (!outbox.enabled) return;
      await outbox.enqueue(tx, {
        to: { address: member.email, memberId: member.id },
        data: {
          kind: 'totp_reset',
          orgName: await orgName(tx),
          memberName: member.name,
          at: now.toISOString(),
        },
      });
    },

    async roleChanged(tx: TenantTx, member: MemberRef, from: Role, to: Role, now: Date): Promise<void> {
      if (!outbox.enabled || from === to) return;
      await outbox.enqueue(tx, {
        to: { address: member.email, memberId: member.id },
        data: {
          kind: 'role_changed',
          orgName: await orgName(tx),
          memberName: member.name,
          from,
          to,
          at: now.toISOString(),
        },
      });
    },

    /** Tells the old address that the sign-in address changed (and to what, masked). */
    async emailChanged(
      tx: TenantTx,
      member: MemberRef,
      oldAddress: string,
      newAddress: string,
      now: Date,
    ): Promise<void> {
      if (!outbox.enabled) return;
      await outbox.enqueue(tx, {
        to: { address: oldAddress, memberId: member.id },
        data: {
          kind: 'email_changed',
          orgName: await orgName(tx),
          memberName: member.name,
          newAddressMasked: maskEmail(newAddress),
          at: now.toISOString(),
        },
      });
    },

    /** Every active admin learns when the org will be erased (erasure itself comes later). */
    async erasureScheduled(tx: TenantTx, erasesAt: Date): Promise<number> {
      if (!outbox.enabled) return 0;
      const name = await orgName(tx);
      const admins = await listActiveAdmins(tx);
      for (const a of admins) {
        await outbox.enqueue(tx, {
          to: { address: a.email, memberId: a.id },
          data: {
            kind: 'erasure_scheduled',
            orgName: name,
            memberName: a.name,
            erasesAt: erasesAt.toISOString(),
          },
        });
      }
      return admins.length;
    },
  };
}

export type MailNotices = ReturnType<typeof createMailNotices>;
