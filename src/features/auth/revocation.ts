/**
 * Revocation reaches open connections (issue #18 item 3.1). A revoked device, a deactivated or
 * deleted member and a revoked session lose their open SSE streams and long-polls at once, on every
 * replica:
 *  - each server keeps a registry of its open connections by principal (device id, session id,
 *    member id) and closes the matching ones when a revocation arrives;
 *  - revocations travel over the ephemeral store's pub/sub (Redis across replicas, memory in one
 *    process), and are also applied locally before publishing;
 *  - belt and braces: before a stream writes an event or a long-poll answers, the principal is
 *    checked again in the database (`isValid`), so a lost pub/sub message (Redis down) can delay the
 *    close but never deliver a decision to a revoked principal.
 */
import type { Kysely } from 'kysely';
import { withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { AppError } from '../../lib/errors.js';
import type { EphemeralStore } from '../../state/store.js';
import { findDevice } from '../devices/devices.repository.js';
import type { Principal } from './principal.js';
import { findSessionWithMember } from './sessions.repository.js';

export type RevocationTarget =
  | { readonly kind: 'device'; readonly orgId: string; readonly deviceId: string }
  | { readonly kind: 'session'; readonly orgId: string; readonly sessionId: string }
  /** Every session of a member, but `exceptSessionId` ("sign out everywhere else"). */
  | {
      readonly kind: 'member';
      readonly orgId: string;
      readonly memberId: string;
      readonly exceptSessionId?: string;
    };

export interface RevocationDeps {
  readonly db: Kysely<DB>;
  readonly store: Pick<EphemeralStore, 'publish' | 'subscribe'>;
  readonly clock: Clock;
  readonly logger: Pick<Logger, 'warn'>;
}

const CHANNEL = 'auth:revoked';

/** What a closed long-poll answers (401), and the reason a closed stream names in its last event. */
export const revokedReason = (p: Principal): 'device_revoked' | 'session_ended' =>
  p.kind === 'device' ? 'device_revoked' : 'session_ended';

export const revokedError = (p: Principal): AppError =>
  new AppError(
    'unauthenticated',
    p.kind === 'device'
      ? 'this device token was revoked'
      : 'this session has ended (signed out, revoked or the account deactivated); sign in again',
    { reason: revokedReason(p) },
  );

export function targetMatches(t: RevocationTarget, p: Principal): boolean {
  if (t.orgId !== p.orgId) return false;
  switch (t.kind) {
    case 'device':
      return p.kind === 'device' && p.deviceId === t.deviceId;
    case 'session':
      return p.kind === 'member' && p.sessionId === t.sessionId;
    case 'member':
      return p.kind === 'member' && p.memberId === t.memberId && p.sessionId !== t.exceptSessionId;
  }
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** A message from another replica, checked field by field: anything else is ignored. */
function parseTarget(message: string): RevocationTarget | undefined {
  let v: unknown;
  try {
    v = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (!isString(o.orgId)) return undefined;
  if (o.kind === 'device' && isString(o.deviceId))
    return { kind: 'device', orgId: o.orgId, deviceId: o.deviceId };
  if (o.kind === 'session' && isString(o.sessionId))
    return { kind: 'session', orgId: o.orgId, sessionId: o.sessionId };
  if (o.kind === 'member' && isString(o.memberId))
    return {
      kind: 'member',
      orgId: o.orgId,
      memberId: o.memberId,
      ...(isString(o.exceptSessionId) && { exceptSessionId: o.exceptSessionId }),
    };
  return undefined;
}

export function createRevocation(deps: RevocationDeps) {
  const { db, store, clock, logger } = deps;
  const open = new Set<{ readonly p: Principal; readonly close: () => void }>();
  let subscription: Promise<() => void> | undefined;

  function closeMatching(t: RevocationTarget): void {
    for (const c of [...open]) {
      if (!targetMatches(t, c.p)) continue;
      open.delete(c);
      c.close();
    }
  }

  /** Subscribes once, on the first open connection; answers when the subscription is live. */
  function subscribed(): Promise<() => void> {
    subscription ??= store.subscribe(CHANNEL, (message) => {
      const t = parseTarget(message);
      if (t !== undefined) closeMatching(t);
    });
    return subscription;
  }

  return {
    /**
     * Announces revocations (after their transaction committed): open connections of the targets
     * close here at once and on other replicas when the message arrives. A store that cannot publish
     * is logged, not thrown: the revocation itself is committed, and `isValid` still guards delivery.
     */
    async publish(...targets: RevocationTarget[]): Promise<void> {
      for (const t of targets) {
        closeMatching(t);
        try {
          await store.publish(CHANNEL, JSON.stringify(t));
        } catch (err) {
          logger.warn(
            { err, kind: t.kind },
            'revocation: could not publish; open connections elsewhere close at their next event',
          );
        }
      }
    },

    /**
     * Registers an open connection of `p`; `close` runs once if `p` is revoked. Answers the
     * unregister function, once revocations from other replicas are received.
     */
    async track(p: Principal, close: () => void): Promise<() => void> {
      const entry = { p, close };
      open.add(entry);
      try {
        await subscribed();
      } catch (err) {
        // Redis down: this connection still re-checks before every event (isValid).
        subscription = undefined;
        logger.warn({ err }, 'revocation: could not subscribe; relying on the re-check before each event');
      }
      return () => void open.delete(entry);
    },

    /** Whether `p` may still receive anything: the device is not revoked, the session is live. */
    async isValid(p: Principal): Promise<boolean> {
      if (p.kind === 'device') {
        const d = await withTenant(db, p.orgId, (tx) => findDevice(tx, p.deviceId));
        return d !== undefined && d.revokedAt === null;
      }
      const s = await withTenant(db, p.orgId, (tx) => findSessionWithMember(tx, p.sessionId));
      const now = clock.now();
      return (
        s !== undefined &&
        s.memberId === p.memberId &&
        s.revokedAt === null &&
        s.memberStatus === 'active' &&
        s.idleExpiresAt > now &&
        s.absoluteExpiresAt > now
      );
    },

    /** How many connections this server tracks (for tests and metrics). */
    openCount: (): number => open.size,

    async stop(): Promise<void> {
      const s = subscription;
      subscription = undefined;
      if (s !== undefined) (await s.catch(() => () => undefined))();
    },
  };
}

export type Revocation = ReturnType<typeof createRevocation>;
