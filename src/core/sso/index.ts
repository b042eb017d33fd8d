/**
 * Single sign-on rules, pure (docs/sso.md): validating an admin's provider configuration, reading
 * the groups claim, mapping groups to a role, and deciding what a validated sign-in does (sign a
 * linked member in, link an existing member by verified email, provision a new one, or refuse).
 * The protocol itself (discovery, code exchange, ID-token validation) happens at the edge.
 */
import type { Role } from '../audit-chain/events.js';

export const SSO_ROLES = ['admin', 'member', 'viewer'] as const satisfies readonly Role[];
const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2 };

export interface RoleMappingEntry {
  readonly group: string;
  readonly role: Role;
}

/** Why a sign-in was refused: a closed set, shown to the person and used in logs and metrics. */
export const SSO_REFUSALS = [
  'state_invalid',
  'provider_error',
  'token_invalid',
  'email_missing',
  'email_unverified',
  'domain_not_allowed',
  'no_role_mapping',
  'no_account',
  'deactivated',
  'link_conflict',
] as const;
export type SsoRefusal = (typeof SSO_REFUSALS)[number];

export const REFUSAL_TEXT: Record<SsoRefusal, string> = {
  state_invalid:
    'this sign-in is not the one this browser started, was already used or expired; start again from the sign-in page',
  provider_error: 'the identity provider did not complete the sign-in; try again or ask your admin',
  token_invalid:
    "the identity provider's answer failed validation (issuer, audience, expiry, nonce or signature)",
  email_missing: 'the identity provider did not send an email address for this account',
  email_unverified: 'the identity provider has not verified the email address of this account',
  domain_not_allowed: "this account's email domain is not allowed to sign in to this organization",
  no_role_mapping: 'none of your groups at the identity provider maps to a role here; ask your admin',
  no_account: 'there is no account for you in this organization; ask an admin to invite you',
  deactivated: 'this account is deactivated; ask an admin of your organization',
  link_conflict: 'the member with this email is already linked to another identity at this provider',
};

// --- configuration ---------------------------------------------------------------------------

export interface SsoConfigInput {
  readonly issuer: string;
  readonly clientId: string;
  readonly displayName: string;
  readonly allowedDomains: readonly string[];
  readonly groupsClaim: string;
  readonly roleMapping: readonly RoleMappingEntry[];
  readonly defaultRole: Role | null;
  readonly jitProvisioning: boolean;
  readonly requireSso: boolean;
}

const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** "@Example.COM " -> "example.com"; undefined when it is not a domain name. */
export function normalizeDomain(raw: string): string | undefined {
  const d = raw.trim().toLowerCase().replace(/^@/, '');
  return DOMAIN.test(d) ? d : undefined;
}

/**
 * Checks an issuer URL: https, or plain http only for a host the operator allowed
 * (ONY_SSO_ALLOW_HTTP_ISSUERS, entries "host" or "host:port"); no query, fragment or credentials.
 */
export function issuerProblem(issuer: string, allowHttpHosts: readonly string[]): string | undefined {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    return `issuer must be a URL such as https://login.example.com (got "${issuer.slice(0, 100)}")`;
  }
  if (u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '')
    return 'issuer must not have a query, fragment or credentials';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:') {
    const host = u.hostname.toLowerCase();
    if (allowHttpHosts.includes(host) || allowHttpHosts.includes(u.host.toLowerCase())) return undefined;
    return `issuer must use https; plain http is allowed only for hosts in ONY_SSO_ALLOW_HTTP_ISSUERS (${u.host} is not)`;
  }
  return 'issuer must be an https URL';
}

/** Validates and normalises an admin's configuration; answers every problem at once. */
export function validateSsoConfig(
  input: SsoConfigInput,
  allowHttpHosts: readonly string[],
): { ok: true; value: SsoConfigInput } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const issuerIssue = issuerProblem(input.issuer, allowHttpHosts);
  if (issuerIssue !== undefined) problems.push(issuerIssue);
  const domains: string[] = [];
  for (const raw of input.allowedDomains) {
    const d = normalizeDomain(raw);
    if (d === undefined) problems.push(`allowed_domains: "${raw.slice(0, 100)}" is not a domain name`);
    else if (!domains.includes(d)) domains.push(d);
  }
  if (input.allowedDomains.length === 0)
    problems.push('allowed_domains must name at least one email domain (e.g. example.com)');
  const groups = new Set<string>();
  for (const m of input.roleMapping) {
    if (m.group.trim() === '') problems.push('role_mapping: a group name is empty');
    if (groups.has(m.group)) problems.push(`role_mapping: group "${m.group.slice(0, 100)}" is mapped twice`);
    groups.add(m.group);
  }
  if (input.jitProvisioning && input.roleMapping.length === 0 && input.defaultRole === null)
    problems.push(
      'jit_provisioning needs a role for new members: set role_mapping (groups -> roles) or default_role',
    );
  if (!/^[A-Za-z0-9_:./-]{1,100}$/.test(input.groupsClaim))
    problems.push('groups_claim must be a claim name (letters, digits, _ : . / -)');
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: { ...input, displayName: input.displayName.trim(), allowedDomains: domains },
  };
}

// --- claims ----------------------------------------------------------------------------------

const MAX_GROUPS = 500;

/** The groups claim as a list of strings (a single string counts as one group; anything else: none). */
export function groupsFromClaims(claims: Readonly<Record<string, unknown>>, claimName: string): string[] {
  const v = claims[claimName];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((g): g is string => typeof g === 'string').slice(0, MAX_GROUPS);
  return [];
}

/**
 * The role groups give: 'unmanaged' when the org maps no groups (roles are managed in ony, and the
 * default role only seeds provisioned members), else the highest mapped role, else the default
 * role, else 'none'.
 */
export function roleFromGroups(
  groups: readonly string[],
  mapping: readonly RoleMappingEntry[],
  defaultRole: Role | null,
): { kind: 'unmanaged' } | { kind: 'role'; role: Role } | { kind: 'none' } {
  if (mapping.length === 0) return { kind: 'unmanaged' };
  let best: Role | undefined;
  for (const m of mapping) {
    if (groups.includes(m.group) && (best === undefined || RANK[m.role] > RANK[best])) best = m.role;
  }
  if (best !== undefined) return { kind: 'role', role: best };
  return defaultRole !== null ? { kind: 'role', role: defaultRole } : { kind: 'none' };
}

export const emailDomain = (email: string): string | undefined => {
  const at = email.lastIndexOf('@');
  return at > 0 ? email.slice(at + 1).toLowerCase() : undefined;
};

// --- the sign-in decision --------------------------------------------------------------------

export interface SignInClaims {
  readonly sub: string;
  readonly email: string | undefined;
  readonly emailVerified: boolean;
  readonly name: string | undefined;
  readonly groups: readonly string[];
}

export interface KnownMember {
  readonly id: string;
  readonly role: Role;
  readonly status: 'active' | 'deactivated';
}

export interface SignInPolicy {
  readonly allowedDomains: readonly string[];
  readonly roleMapping: readonly RoleMappingEntry[];
  readonly defaultRole: Role | null;
  readonly jitProvisioning: boolean;
}

export type SignInPlan =
  | { readonly kind: 'refuse'; readonly reason: SsoRefusal }
  | {
      readonly kind: 'sign_in';
      readonly memberId: string;
      /** Link this member to the subject first (matched by verified email). */
      readonly link: boolean;
      readonly roleChange: { readonly from: Role; readonly to: Role } | undefined;
    }
  | {
      readonly kind: 'provision';
      readonly email: string;
      readonly name: string;
      readonly role: Role;
      /** 'invite': an admin's open invite for this email; 'jit': just-in-time provisioning. */
      readonly via: 'invite' | 'jit';
    };

/**
 * What a validated sign-in does. `linked` is the member already linked to this subject;
 * `byEmail` the member whose email equals the claimed one (with whether it is linked to some
 * subject at this provider already); `invite` an open invite for that email. A returning person is
 * matched by subject alone; a first sign-in needs a verified email in an allowed domain to link or
 * provision. An open invite provisions even without just-in-time provisioning (an admin asked for
 * this person), with the role of the groups when the org maps groups, else the invite's.
 */
export function planSignIn(
  claims: SignInClaims,
  policy: SignInPolicy,
  linked: KnownMember | undefined,
  byEmail: (KnownMember & { readonly linkedToOther: boolean }) | undefined,
  invite?: { readonly role: Role },
): SignInPlan {
  const role = roleFromGroups(claims.groups, policy.roleMapping, policy.defaultRole);
  const existing = (m: KnownMember, link: boolean): SignInPlan => {
    if (m.status !== 'active') return { kind: 'refuse', reason: 'deactivated' };
    if (role.kind === 'none') return { kind: 'refuse', reason: 'no_role_mapping' };
    const roleChange =
      role.kind === 'role' && role.role !== m.role ? { from: m.role, to: role.role } : undefined;
    return { kind: 'sign_in', memberId: m.id, link, roleChange };
  };
  if (linked !== undefined) return existing(linked, false);

  if (claims.email === undefined || claims.email === '') return { kind: 'refuse', reason: 'email_missing' };
  if (!claims.emailVerified) return { kind: 'refuse', reason: 'email_unverified' };
  const domain = emailDomain(claims.email);
  if (domain === undefined || !policy.allowedDomains.includes(domain))
    return { kind: 'refuse', reason: 'domain_not_allowed' };

  if (byEmail !== undefined) {
    if (byEmail.linkedToOther) return { kind: 'refuse', reason: 'link_conflict' };
    return existing(byEmail, true);
  }
  if (invite === undefined && !policy.jitProvisioning) return { kind: 'refuse', reason: 'no_account' };
  if (role.kind === 'none') return { kind: 'refuse', reason: 'no_role_mapping' };
  const newRole = role.kind === 'role' ? role.role : (invite?.role ?? policy.defaultRole);
  if (newRole === null) return { kind: 'refuse', reason: 'no_role_mapping' };
  const name = (claims.name ?? '').trim().slice(0, 200);
  return {
    kind: 'provision',
    email: claims.email.toLowerCase(),
    name: name !== '' ? name : claims.email.slice(0, claims.email.indexOf('@')),
    role: newRole,
    via: invite !== undefined ? 'invite' : 'jit',
  };
}
