/**
 * Chat identities and inbound channel actions. A channel identity (Slack team+user, Telegram user)
 * reaches a member only through an explicit link the member made while signed in (a one-time code
 * sent to the bot, or a one-time claim link opened in the dashboard); every inbound decision goes
 * through the one handoff decision path as that member, fails closed, and changes nothing when
 * refused (DESIGN.md §5.5).
 *
 * One-time codes and claim links are ephemeral (the state store, with a TTL): losing them loses a
 * link attempt, never a decision.
 */
import { isDecisionChannel } from '../../core/approval/assurance.js';
import { randomBytes, randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import {
  UNAVAILABLE_REPLY,
  type ChannelActions,
  type InboundDecision,
  type InboundLink,
  type InboundRefusal,
  type InboundScope,
} from '../../channels/channel.js';
import { auditEvents, safeLabel } from '../../core/audit-chain/events.js';
import { withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { sha256Hex } from '../../lib/crypto.js';
import { isDatabaseUnavailable } from '../../lib/db-unavailable.js';
import { AppError, notFound } from '../../lib/errors.js';
import type { EphemeralStore } from '../../state/store.js';
import { appendAudit } from '../audit/audit.repository.js';
import { actorOf, roleAtLeast, type Principal } from '../auth/principal.js';
import type { HandoffsService } from '../handoffs/handoffs.service.js';
import { findMember } from '../members/members.repository.js';
import { getOrg } from '../orgs/orgs.repository.js';
import {
  deleteLink,
  LINKABLE_CHANNELS,
  listLinks,
  replaceLink,
  resolveIdentity,
  type ChannelLink,
  type LinkableChannel,
} from './channels.repository.js';

export interface ChannelsDeps {
  readonly db: Kysely<DB>;
  readonly store: Pick<EphemeralStore, 'set' | 'take' | 'get' | 'hit'>;
  readonly clock: Clock;
  readonly handoffs: Pick<HandoffsService, 'decide' | 'get'>;
  readonly config: { readonly publicUrl: string };
}

/** How long a link code or a claim link lives. */
export const LINK_TTL_MS = 15 * 60_000;
/** Codes a member may ask for per hour. */
const CODES_PER_HOUR = 10;
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const CODE_RE = /^[A-HJ-NP-Z2-9]{8}$/;

interface CodeGrant {
  readonly orgId: string;
  readonly memberId: string;
  readonly channel: LinkableChannel;
}
interface IdentityClaim {
  readonly channel: LinkableChannel;
  readonly identity: string;
  readonly label: string;
  /** The org the request was routed to (its own Slack installation): only its members may claim. */
  readonly orgId?: string;
}

const codeKey = (code: string) => `link-code:${sha256Hex(code)}`;
const claimKey = (token: string) => `link-claim:${sha256Hex(token)}`;
const isLinkable = (c: string): c is LinkableChannel => (LINKABLE_CHANNELS as readonly string[]).includes(c);

const REFUSAL_TEXT: Record<InboundRefusal, string> = {
  not_linked: 'This account is not linked to an ony member. Link it from your ony profile first.',
  not_allowed: 'Your ony role cannot decide handoffs (viewers and deactivated members cannot).',
  not_found: 'No such handoff for your ony organization.',
  expired: 'This handoff expired before a decision; nothing was changed.',
  already_decided: 'This handoff was already decided; nothing was changed.',
  unknown_option: 'That answer is not one of the options of this handoff.',
  totp_required: 'Approving this needs your 6-digit TOTP code.',
  totp_invalid: 'That TOTP code is wrong or was already used; nothing was changed.',
  totp_not_enrolled: 'Approving this needs TOTP, and you have not enrolled it. Enrol it in ony first.',
  assurance_required: 'Approving this needs a stronger proof of who you are. Decide in the ony dashboard.',
  invalid_code: 'That link code is unknown, expired or already used. Ask ony for a new one.',
  unavailable: UNAVAILABLE_REPLY,
};
const refuse = (reason: InboundRefusal): { ok: false; reason: InboundRefusal; message: string } => ({
  ok: false,
  reason,
  message: REFUSAL_TEXT[reason],
});

/** Maps the decision path's typed errors to what the person is told. */
function refusalOf(err: AppError): InboundRefusal | undefined {
  switch (err.code) {
    case 'not_found':
      return 'not_found';
    case 'totp_required':
      return 'totp_required';
    case 'totp_invalid':
      return 'totp_invalid';
    case 'forbidden':
      return 'totp_not_enrolled';
    case 'assurance_required':
      return 'assurance_required';
    case 'unprocessable':
      return 'unknown_option';
    case 'conflict':
      return err.message.includes('expired') ? 'expired' : 'already_decided';
    default:
      return undefined;
  }
}

export function createChannelsService({ db, store, clock, handoffs, config }: ChannelsDeps) {
  async function link(
    orgId: string,
    memberId: string,
    l: { channel: LinkableChannel; identity: string; label: string },
  ): Promise<{ link: ChannelLink; memberName: string; orgName: string } | undefined> {
    return withTenant(db, orgId, async (tx) => {
      const member = await findMember(tx, memberId);
      if (member === undefined || member.status !== 'active') return undefined;
      const now = clock.now();
      const { link } = await replaceLink(tx, {
        memberId,
        channel: l.channel,
        externalId: l.identity,
        label: safeLabel(l.label),
        at: now,
      });
      await appendAudit(
        tx,
        auditEvents.memberChannelLinked({ type: 'member', id: memberId }, member, l.channel),
        now,
      );
      return { link, memberName: member.name, orgName: (await getOrg(tx))?.name ?? '' };
    });
  }

  /** A database outage is a refusal the person can act on ("try again"), not an error. */
  async function unlessUnavailable<T>(fn: () => Promise<T>): Promise<T | ReturnType<typeof refuse>> {
    try {
      return await fn();
    } catch (err) {
      if (isDatabaseUnavailable(err)) return refuse('unavailable');
      throw err;
    }
  }

  const actions: ChannelActions = {
    decide: (channel, identity, handoffId, vote, scope) =>
      unlessUnavailable(() => decide(channel, identity, handoffId, vote, scope)),
    linkWithCode,
    claimUrl,
  };

  /**
   * The actions an org's own bot or phone account may take: only that org's links, handoffs and
   * link codes count, so another org's bot (or a forged request to it) decides nothing elsewhere.
   */
  function actionsOf(orgId: string): ChannelActions {
    return {
      decide: (channel, identity, handoffId, vote) =>
        unlessUnavailable(() => decide(channel, identity, handoffId, vote, { orgId })),
      linkWithCode: (channel, code, identity, label) => linkWithCode(channel, code, identity, label, orgId),
      claimUrl,
    };
  }

  async function decide(
    channel: string,
    identity: string,
    handoffId: string,
    vote: Parameters<ChannelActions['decide']>[3],
    scope: InboundScope | undefined,
  ): Promise<InboundDecision> {
    // Routed to one org (a workspace it installed): a link or a handoff of any other org never counts.
    const linked = (await resolveIdentity(db, channel, identity)).filter(
      (l) => scope === undefined || l.orgId === scope.orgId,
    );
    if (linked.length === 0) return refuse('not_linked');
    for (const { orgId, memberId } of linked) {
      // The handoff id is global; only the org that holds it can answer, as the member linked there.
      const member = await withTenant(db, orgId, (tx) => findMember(tx, memberId));
      if (member === undefined) continue;
      const p: Principal & { kind: 'member' } = {
        kind: 'member',
        orgId,
        memberId,
        role: member.role,
        sessionId: `channel:${channel}`,
      };
      if (member.status !== 'active' || !roleAtLeast(member.role, 'member')) {
        // Refused only if the handoff is this org's: a viewer here may be an approver elsewhere.
        try {
          await handoffs.get(p, handoffId);
        } catch (err) {
          if (err instanceof AppError && err.code === 'not_found') continue;
          throw err;
        }
        return refuse('not_allowed');
      }
      if (!isDecisionChannel(channel)) throw new Error(`channel ${channel} cannot decide handoffs`);
      try {
        const r = await handoffs.decide(p, handoffId, vote, channel);
        return { ok: true, outcome: r.outcome, status: r.handoff.status, memberName: member.name };
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        if (err.code === 'not_found') continue;
        const reason = refusalOf(err);
        if (reason === undefined) throw err;
        // Below the minimum: the decision path says how to step up; the link opens the handoff's page.
        if (reason === 'assurance_required')
          return { ok: false, reason, message: `${err.message} ${config.publicUrl}/handoffs/${handoffId}` };
        return refuse(reason);
      }
    }
    return refuse('not_found');
  }

  async function linkWithCode(
    channel: string,
    code: string,
    identity: string,
    label: string,
    onlyOrg?: string,
  ): Promise<InboundLink> {
    const normalized = code.trim().toUpperCase();
    if (!isLinkable(channel) || !CODE_RE.test(normalized)) return refuse('invalid_code');
    // Another org's code sent to this org's bot is left for its own bot (not used up here).
    if (onlyOrg !== undefined) {
      const peek = await store.get(codeKey(normalized));
      if (peek === null || (JSON.parse(peek) as CodeGrant).orgId !== onlyOrg) return refuse('invalid_code');
    }
    const raw = await store.take(codeKey(normalized));
    if (raw === null) return refuse('invalid_code');
    const grant = JSON.parse(raw) as CodeGrant;
    if (grant.channel !== channel || (onlyOrg !== undefined && grant.orgId !== onlyOrg))
      return refuse('invalid_code');
    const done = await link(grant.orgId, grant.memberId, { channel, identity, label });
    if (done === undefined) return refuse('not_allowed');
    return { ok: true, memberName: done.memberName, orgName: done.orgName };
  }

  async function claimUrl(
    channel: string,
    identity: string,
    label: string,
    scope?: InboundScope,
  ): Promise<string> {
    if (!isLinkable(channel)) throw new Error(`channel ${channel} has no identities to link`);
    const token = randomBytes(24).toString('base64url');
    const claim: IdentityClaim = {
      channel,
      identity,
      label: safeLabel(label),
      ...(scope !== undefined && { orgId: scope.orgId }),
    };
    await store.set(claimKey(token), JSON.stringify(claim), LINK_TTL_MS);
    return `${config.publicUrl}/link/${token}`;
  }

  return {
    actions,
    actionsOf,

    /** A one-time code the member sends to the bot (`/start <code>`); valid 15 minutes. */
    async createLinkCode(p: Principal & { kind: 'member' }, channel: string) {
      if (!isLinkable(channel)) throw new AppError('unprocessable', `channel must be one of slack, telegram`);
      const { count } = await store.hit(`link-codes:${p.memberId}`, 3_600_000);
      if (count > CODES_PER_HOUR)
        throw new AppError('rate_limited', `at most ${CODES_PER_HOUR} link codes per hour`);
      const code = Array.from({ length: 8 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
      const grant: CodeGrant = { orgId: p.orgId, memberId: p.memberId, channel };
      await store.set(codeKey(code), JSON.stringify(grant), LINK_TTL_MS);
      return { channel, code, expiresAt: new Date(clock.now().getTime() + LINK_TTL_MS) };
    },

    /** What a claim link offers (for the confirmation page), without using it. */
    async peekClaim(token: string): Promise<IdentityClaim | undefined> {
      const raw = /^[A-Za-z0-9_-]{32}$/.test(token) ? await store.get(claimKey(token)) : null;
      return raw === null ? undefined : (JSON.parse(raw) as IdentityClaim);
    },

    /** The signed-in member accepts a claim link: the identity is linked to them, once. */
    async confirmClaim(p: Principal & { kind: 'member' }, token: string) {
      const raw = /^[A-Za-z0-9_-]{32}$/.test(token) ? await store.take(claimKey(token)) : null;
      if (raw === null) throw new AppError('gone', 'this link is unknown, expired or already used');
      const claim = JSON.parse(raw) as IdentityClaim;
      if (claim.orgId !== undefined && claim.orgId !== p.orgId)
        throw new AppError(
          'forbidden',
          'this link is for a Slack workspace of another ony organization; sign in to that organization to use it',
        );
      const done = await link(p.orgId, p.memberId, claim);
      if (done === undefined) throw new AppError('forbidden', 'your membership is not active');
      return done.link;
    },

    async listLinks(p: Principal & { kind: 'member' }, memberId = p.memberId): Promise<ChannelLink[]> {
      return withTenant(db, p.orgId, async (tx) => {
        if ((await findMember(tx, memberId)) === undefined) throw notFound('member');
        return listLinks(tx, memberId);
      });
    },

    /** Removes a link: a member their own, an admin anyone's in the org. */
    async unlink(p: Principal & { kind: 'member' }, memberId: string, linkId: string): Promise<void> {
      await withTenant(db, p.orgId, async (tx) => {
        const removed = await deleteLink(tx, memberId, linkId);
        if (removed === undefined) throw notFound('channel link');
        await appendAudit(
          tx,
          auditEvents.memberChannelUnlinked(actorOf(p), { id: memberId }, removed.channel),
          clock.now(),
        );
      });
    },
  };
}

export type ChannelsService = ReturnType<typeof createChannelsService>;
