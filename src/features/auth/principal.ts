import type { Actor } from '../../core/audit-chain/events.js';
import type { Role } from '../../db/schema.js';

/** Who is calling: a signed-in member (session cookie) or an agent device (bearer token). */
export type Principal =
  | {
      readonly kind: 'member';
      readonly orgId: string;
      readonly memberId: string;
      readonly role: Role;
      readonly sessionId: string;
    }
  | {
      readonly kind: 'device';
      readonly orgId: string;
      readonly deviceId: string;
      /** The org settings' version as the device's authentication read it (migration 0032). */
      readonly settingsVersion?: string;
    };

const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2 };

/** Whether a role is at least `min` (admin > member > viewer). */
export const roleAtLeast = (role: Role, min: Role): boolean => RANK[role] >= RANK[min];

/** The audit chain's view of a principal. */
export const actorOf = (p: Principal): Actor =>
  p.kind === 'member' ? { type: 'member', id: p.memberId } : { type: 'device', id: p.deviceId };
