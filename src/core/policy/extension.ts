/**
 * Extend (pure): a member gives a pending handoff more time, within the total life its risk level's
 * policy allows (`max_lifetime_s`, counted from creation). The expiry only ever moves later.
 */
export type ExtensionCheck =
  | { readonly kind: 'ok'; readonly expiresAt: Date }
  | { readonly kind: 'not_pending'; readonly status: string }
  | {
      readonly kind: 'beyond_max';
      /** The latest expiry the policy allows, and how many seconds may still be added (maybe 0). */
      readonly maxExpiresAt: Date;
      readonly maxExtendS: number;
    };

export function checkExtension(
  h: { readonly status: string; readonly createdAt: Date; readonly expiresAt: Date },
  byS: number,
  maxLifetimeS: number,
  now: Date,
): ExtensionCheck {
  if (h.status !== 'pending') return { kind: 'not_pending', status: h.status };
  if (now.getTime() >= h.expiresAt.getTime()) return { kind: 'not_pending', status: 'expired' };
  const maxExpiresAt = new Date(h.createdAt.getTime() + maxLifetimeS * 1000);
  const expiresAt = new Date(h.expiresAt.getTime() + byS * 1000);
  if (expiresAt.getTime() > maxExpiresAt.getTime())
    return {
      kind: 'beyond_max',
      maxExpiresAt,
      maxExtendS: Math.max(0, Math.floor((maxExpiresAt.getTime() - h.expiresAt.getTime()) / 1000)),
    };
  return { kind: 'ok', expiresAt };
}
