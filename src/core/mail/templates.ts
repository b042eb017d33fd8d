/**
 * Mail templates (pure): one template per kind, each composing blocks (paragraphs, one link, facts)
 * from which both the plain-text and the HTML body are rendered, so the two always say the same.
 * Every value is made one line and bounded, with hidden characters (bidi controls, invisible
 * characters, look-alike letters) shown as `⟨U+202E⟩` escapes, never applied; the HTML escapes
 * every value and accepts only http(s) links. The inputs have no field for a handoff payload, command, target or summary: a mail cannot
 * carry one (DESIGN.md §3.3).
 */
import { showHidden, trimPartialEscape } from '../hidden-characters.js';
import { escapeHtml } from '../html.js';

export const MAIL_KINDS = [
  'invite',
  'password_reset',
  'email_change',
  'email_changed',
  'sign_in_new_device',
  'totp_reset',
  'role_changed',
  'erasure_scheduled',
] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

type Role = 'admin' | 'member' | 'viewer';

/** What each kind of mail says. Times are ISO 8601 strings (the data travels as JSON). */
export type MailData =
  | {
      readonly kind: 'invite';
      readonly orgName: string;
      readonly inviterName: string;
      readonly role: Role;
      readonly url: string;
      readonly expiresAt: string;
    }
  | {
      readonly kind: 'password_reset';
      readonly orgName: string;
      readonly memberName: string;
      readonly url: string;
      readonly expiresAt: string;
    }
  | {
      readonly kind: 'email_change';
      readonly orgName: string;
      readonly memberName: string;
      readonly url: string;
      readonly expiresAt: string;
    }
  | {
      readonly kind: 'email_changed';
      readonly orgName: string;
      readonly memberName: string;
      /** The new address, masked: the old one learns that it changed, not where to. */
      readonly newAddressMasked: string;
      readonly at: string;
    }
  | {
      readonly kind: 'sign_in_new_device';
      readonly orgName: string;
      readonly memberName: string;
      readonly at: string;
      /** The browser's user-agent as it said it (bounded). */
      readonly device: string;
      /** The network it came from (an IPv4 /24 or IPv6 /48). */
      readonly network: string;
      readonly sessionsUrl: string;
    }
  | {
      readonly kind: 'totp_reset';
      readonly orgName: string;
      readonly memberName: string;
      readonly at: string;
    }
  | {
      readonly kind: 'role_changed';
      readonly orgName: string;
      readonly memberName: string;
      readonly from: Role;
      readonly to: Role;
      readonly at: string;
    }
  | {
      readonly kind: 'erasure_scheduled';
      readonly orgName: string;
      readonly memberName: string;
      /** When the org and all its data will be erased. */
      readonly erasesAt: string;
    };

/**
 * An approval request sent by the email channel: the adapter's declared fields only (short code,
 * action type, risk level, redacted title, gist) and a link to the handoff's page. No approve or deny
 * link: deciding needs a signed-in session, so a forwarded mail cannot decide.
 */
export interface HandoffMailData {
  readonly shortCode: string;
  readonly actionType: string;
  readonly riskLevel: string;
  readonly title: string;
  readonly gist: string;
  readonly link: string;
}

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

type Block =
  | { readonly p: string }
  | { readonly link: { readonly label: string; readonly url: string } }
  | { readonly facts: readonly (readonly [string, string])[] };

interface Composed {
  readonly subject: string;
  readonly heading: string;
  readonly blocks: readonly Block[];
  /** Why the person gets this mail (the footer). */
  readonly why: string;
}

/**
 * One line of at most `max` characters: hidden characters shown as escapes (before the cut, and
 * never cut in half), line breaks and tabs made spaces.
 */
export function oneLine(text: string, max = 200): string {
  const flat = showHidden(text)
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length <= max ? flat : `${trimPartialEscape(flat.slice(0, max - 1))}…`;
}

export { escapeHtml };

/** `john@acme.test` -> `j•••@acme.test`: enough to tell deliveries apart, not to harvest. */
export function maskEmail(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return '•••';
  return `${address.slice(0, 1)}•••${address.slice(at)}`.slice(0, 300);
}

/** A link a mail may carry: absolute http(s), nothing else (no javascript:, no mailto:). */
function safeUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('mail link is not a URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('mail link must be http(s)');
  return u.toString();
}

/** `2026-11-03T14:05:09.000Z` -> `2026-11-03 14:05 UTC`. */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return oneLine(iso, 40);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const ROLE_WORDS: Record<Role, string> = {
  admin: 'admin (team, devices and settings)',
  member: 'member (decides approval requests)',
  viewer: 'viewer (reads only)',
};

const NOT_YOU =
  'If this was not you, change your password now, sign out your other sessions, and tell an admin of your organization.';

function compose(data: MailData): Composed {
  const org = oneLine(data.orgName, 100);
  switch (data.kind) {
    case 'invite': {
      const inviter = oneLine(data.inviterName, 100);
      return {
        subject: `${inviter} invited you to ${org} on ony`,
        heading: `You are invited to ${org}`,
        blocks: [
          {
            p: `${inviter} invited you to join ${org} on ony as ${ROLE_WORDS[data.role]}. ony asks people before AI agents take risky actions.`,
          },
          { link: { label: 'Accept the invitation', url: data.url } },
          {
            p: `The link works once and until ${formatTime(data.expiresAt)}. If you did not expect this invitation, ignore this mail.`,
          },
        ],
        why: `You get this mail because an admin of ${org} invited this address.`,
      };
    }
    case 'password_reset':
      return {
        subject: `Reset your ony password for ${org}`,
        heading: 'Reset your password',
        blocks: [
          {
            p: `Hello ${oneLine(data.memberName, 100)}, someone (hopefully you) asked to reset the password of your ${org} account on ony.`,
          },
          { link: { label: 'Choose a new password', url: data.url } },
          {
            p: `The link works once and until ${formatTime(data.expiresAt)}. Using it signs you out everywhere. If you did not ask for this, ignore this mail: your password stays as it is.`,
          },
        ],
        why: `You get this mail because a password reset was requested for this address at ${org}.`,
      };
    case 'email_change':
      return {
        subject: `Confirm your new email address for ony (${org})`,
        heading: 'Confirm your new email address',
        blocks: [
          {
            p: `Hello ${oneLine(data.memberName, 100)}, you asked to use this address for your ${org} account on ony.`,
          },
          { link: { label: 'Confirm this address', url: data.url } },
          {
            p: `Open the link while signed in to ony, before ${formatTime(data.expiresAt)}. If you did not ask for this, ignore this mail: nothing changes.`,
          },
        ],
        why: `You get this mail because this address was entered as a new sign-in address at ${org}.`,
      };
    case 'email_changed':
      return {
        subject: `Your ony email address was changed (${org})`,
        heading: 'Your email address was changed',
        blocks: [
          {
            p: `Hello ${oneLine(data.memberName, 100)}, the sign-in address of your ${org} account on ony was changed to ${oneLine(data.newAddressMasked, 100)} at ${formatTime(data.at)}. This address no longer signs in.`,
          },
          { p: `If this was not you, tell an admin of ${org} at once.` },
        ],
        why: `You get this mail because this was the account's address until now.`,
      };
    case 'sign_in_new_device':
      return {
        subject: `New sign-in to your ony account (${org})`,
        heading: 'New sign-in from a device we have not seen',
        blocks: [
          {
            p: `Hello ${oneLine(data.memberName, 100)}, your ${org} account on ony was just signed in to from a device or network it has not used before.`,
          },
          {
            facts: [
              ['When', formatTime(data.at)],
              ['Browser', oneLine(data.device, 160)],
              ['Network', oneLine(data.network, 60)],
            ],
          },
          { p: `If this was you, there is nothing to do. ${NOT_YOU}` },
          { link: { label: 'Review your sessions', url: data.sessionsUrl } },
        ],
        why: 'You get this mail for every sign-in from a new device or network.',
      };
    case 'totp_reset':
      return {
        subject: `Your ony two-factor sign-in was reset (${org})`,
        heading: 'Your two-factor sign-in was reset',
        blocks: [
          {
            p: `Hello ${oneLine(data.memberName, 100)}, an admin of ${org} reset the two-factor sign-in (TOTP) of your ony account at ${formatTime(data.at)}. Your sessions were ended; sign in again and enrol a new authenticator.`,
          },
          { p: `If you did not ask an admin for this, tell another admin of ${org} at once.` },
        ],
        why: 'You get this mail because a security setting of your account changed.',
      };
    case 'role_changed':
      return {
        subject: `Your role in ${org} on ony is now ${data.to}`,
        heading: 'Your role changed',
        blocks: [
          {
            p: `Hello ${oneLine(data.memberName, 100)}, your role in ${org} on ony changed from ${data.from} to ${ROLE_WORDS[data.to]} at ${formatTime(data.at)}.`,
          },
        ],
        why: 'You get this mail because what your account may do changed.',
      };
    case 'erasure_scheduled':
      return {
        subject: `${org} is scheduled to be erased from ony`,
        heading: 'Organization erasure scheduled',
        blocks: [
          {
            p: `Hello ${oneLine(data.memberName, 100)}, the organization ${org} and all its data (members, devices, approval requests, the audit chain) will be erased from ony at ${formatTime(data.erasesAt)}.`,
          },
          {
            p: `Export what you need to keep before then. If this is a mistake, an admin of ${org} can cancel it until that time.`,
          },
        ],
        why: `You get this mail because you are an admin of ${org}.`,
      };
  }
}

function toText(c: Composed): string {
  const parts = c.blocks.map((b) => {
    if ('p' in b) return b.p;
    if ('link' in b) return `${b.link.label}:\n${safeUrl(b.link.url)}`;
    return b.facts.map(([k, v]) => `${k}: ${v}`).join('\n');
  });
  return `${[c.heading, ...parts].join('\n\n')}\n\n-- \n${c.why}\n`;
}

function toHtml(c: Composed): string {
  const e = escapeHtml;
  const parts = c.blocks.map((b) => {
    if ('p' in b) return `<p>${e(b.p)}</p>`;
    if ('link' in b) {
      const url = safeUrl(b.link.url);
      return `<p><a href="${e(url)}">${e(b.link.label)}</a><br><span style="font-size:12px;color:#555">${e(url)}</span></p>`;
    }
    const rows = b.facts.map(([k, v]) => `<tr><th align="left">${e(k)}</th><td>${e(v)}</td></tr>`);
    return `<table cellpadding="4">${rows.join('')}</table>`;
  });
  return [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${e(c.subject)}</title></head>`,
    '<body style="font-family:sans-serif;line-height:1.4">',
    `<h2>${e(c.heading)}</h2>`,
    ...parts,
    `<hr><p style="font-size:12px;color:#555">${e(c.why)}</p>`,
    '</body></html>',
    '',
  ].join('\n');
}

function render(c: Composed): RenderedMail {
  return { subject: oneLine(c.subject, 150), text: toText(c), html: toHtml(c) };
}

/** Renders one mail: subject, plain text and HTML from the same blocks. Throws on a non-http(s) link. */
export function renderMail(data: MailData): RenderedMail {
  return render(compose(data));
}

/** Renders the email channel's approval request (the declared fields and the handoff's page only). */
export function renderHandoffMail(data: HandoffMailData): RenderedMail {
  const code = oneLine(data.shortCode, 12);
  const title = oneLine(data.title, 200);
  return render({
    subject: `[${code}] Approval needed: ${title}`,
    heading: `Approval needed (${oneLine(data.riskLevel, 20)} risk)`,
    blocks: [
      {
        facts: [
          ['Request', code],
          ['Action', oneLine(data.actionType, 60)],
          ['Risk', oneLine(data.riskLevel, 20)],
          ['Title', title],
        ],
      },
      { p: oneLine(data.gist, 1_000) },
      { link: { label: 'Open the request in ony to decide', url: data.link } },
      {
        p: 'Deciding needs you to be signed in to ony: this mail cannot approve or deny anything, even if it is forwarded.',
      },
    ],
    why: 'You get this mail because an escalation policy of your organization names you for this kind of request.',
  });
}
