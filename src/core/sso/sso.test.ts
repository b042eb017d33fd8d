import { describe, expect, it } from 'vitest';
import {
  groupsFromClaims,
  issuerProblem,
  normalizeDomain,
  planSignIn,
  roleFromGroups,
  validateSsoConfig,
  type SignInPolicy,
  type SsoConfigInput,
} from './index.js';

const mapping = [
  { group: 'admins', role: 'admin' as const },
  { group: 'approvers', role: 'member' as const },
  { group: 'auditors', role: 'viewer' as const },
];

describe('roleFromGroups', () => {
  it('answers the highest mapped role, whatever the order of the groups', () => {
    expect(roleFromGroups(['auditors', 'approvers'], mapping, null)).toEqual({
      kind: 'role',
      role: 'member',
    });
    expect(roleFromGroups(['approvers', 'admins', 'x'], mapping, null)).toEqual({
      kind: 'role',
      role: 'admin',
    });
  });
  it('falls back to the default role, else none', () => {
    expect(roleFromGroups(['other'], mapping, 'viewer')).toEqual({ kind: 'role', role: 'viewer' });
    expect(roleFromGroups([], mapping, null)).toEqual({ kind: 'none' });
  });
  it('is unmanaged when the org maps no groups', () => {
    expect(roleFromGroups(['admins'], [], 'member')).toEqual({ kind: 'unmanaged' });
  });
  it('matches group names exactly (case and prefix matter)', () => {
    expect(roleFromGroups(['Admins', 'admins-x'], mapping, null)).toEqual({ kind: 'none' });
  });
});

describe('groupsFromClaims', () => {
  it('reads an array, a single string, and ignores anything else', () => {
    expect(groupsFromClaims({ groups: ['a', 2, 'b'] }, 'groups')).toEqual(['a', 'b']);
    expect(groupsFromClaims({ roles: 'a' }, 'roles')).toEqual(['a']);
    expect(groupsFromClaims({ groups: { a: 1 } }, 'groups')).toEqual([]);
    expect(groupsFromClaims({}, 'groups')).toEqual([]);
  });
});

describe('configuration', () => {
  const base: SsoConfigInput = {
    issuer: 'https://login.example.com',
    clientId: 'c',
    displayName: ' Example ',
    allowedDomains: ['@Example.com', 'example.com', 'corp.example.org'],
    groupsClaim: 'groups',
    roleMapping: mapping,
    defaultRole: null,
    jitProvisioning: true,
    requireSso: false,
  };
  it('normalises domains and the display name', () => {
    const r = validateSsoConfig(base, []);
    expect(r.ok && r.value.allowedDomains).toEqual(['example.com', 'corp.example.org']);
    expect(r.ok && r.value.displayName).toBe('Example');
  });
  it('lists every problem at once', () => {
    const r = validateSsoConfig(
      {
        ...base,
        issuer: 'ftp://x',
        allowedDomains: ['nope'],
        roleMapping: [mapping[0]!, mapping[0]!],
        groupsClaim: 'a b',
      },
      [],
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toHaveLength(4);
  });
  it('needs a role source for just-in-time provisioning', () => {
    const r = validateSsoConfig({ ...base, roleMapping: [], defaultRole: null }, []);
    expect(!r.ok && r.problems.join()).toMatch(/jit_provisioning needs a role/);
    expect(validateSsoConfig({ ...base, roleMapping: [], defaultRole: 'viewer' }, []).ok).toBe(true);
  });
  it('allows plain http only for allow-listed hosts', () => {
    expect(issuerProblem('http://127.0.0.1:8081', [])).toMatch(/ONY_SSO_ALLOW_HTTP_ISSUERS/);
    expect(issuerProblem('http://127.0.0.1:8081', ['127.0.0.1'])).toBeUndefined();
    expect(issuerProblem('http://127.0.0.1:8081', ['127.0.0.1:8081'])).toBeUndefined();
    expect(issuerProblem('http://127.0.0.1:8081', ['127.0.0.1:9999'])).toMatch(/https/);
    expect(issuerProblem('https://x.example/?a=1', [])).toMatch(/query/);
    expect(issuerProblem('https://user:pw@x.example', [])).toMatch(/credentials/);
  });
  it('knows a domain name', () => {
    expect(normalizeDomain(' @Sub.Example.COM')).toBe('sub.example.com');
    expect(normalizeDomain('localhost')).toBeUndefined();
    expect(normalizeDomain('a..b')).toBeUndefined();
  });
});

describe('planSignIn', () => {
  const policy: SignInPolicy = {
    allowedDomains: ['acme.test'],
    roleMapping: mapping,
    defaultRole: null,
    jitProvisioning: true,
  };
  const claims = {
    sub: 's1',
    email: 'ann@acme.test',
    emailVerified: true,
    name: 'Ann',
    groups: ['approvers'],
  };
  const member = { id: 'm1', role: 'member' as const, status: 'active' as const };

  it('signs a linked member in by subject alone (email not needed)', () => {
    expect(
      planSignIn({ ...claims, email: undefined, emailVerified: false }, policy, member, undefined),
    ).toEqual({
      kind: 'sign_in',
      memberId: 'm1',
      link: false,
      roleChange: undefined,
    });
  });
  it('changes the role when the groups say so', () => {
    const p = planSignIn({ ...claims, groups: ['admins'] }, policy, member, undefined);
    expect(p).toMatchObject({ kind: 'sign_in', roleChange: { from: 'member', to: 'admin' } });
  });
  it('refuses a linked member whose groups map to nothing, and a deactivated one', () => {
    expect(planSignIn({ ...claims, groups: [] }, policy, member, undefined)).toEqual({
      kind: 'refuse',
      reason: 'no_role_mapping',
    });
    expect(planSignIn(claims, policy, { ...member, status: 'deactivated' }, undefined)).toEqual({
      kind: 'refuse',
      reason: 'deactivated',
    });
  });
  it('links an existing member only through a verified email of an allowed domain', () => {
    const byEmail = { ...member, linkedToOther: false };
    expect(planSignIn(claims, policy, undefined, byEmail)).toMatchObject({ kind: 'sign_in', link: true });
    expect(planSignIn({ ...claims, emailVerified: false }, policy, undefined, byEmail)).toEqual({
      kind: 'refuse',
      reason: 'email_unverified',
    });
    expect(planSignIn({ ...claims, email: 'ann@evil.test' }, policy, undefined, byEmail)).toEqual({
      kind: 'refuse',
      reason: 'domain_not_allowed',
    });
    // A subdomain is another domain.
    expect(planSignIn({ ...claims, email: 'ann@x.acme.test' }, policy, undefined, byEmail)).toEqual({
      kind: 'refuse',
      reason: 'domain_not_allowed',
    });
    expect(planSignIn(claims, policy, undefined, { ...byEmail, linkedToOther: true })).toEqual({
      kind: 'refuse',
      reason: 'link_conflict',
    });
    expect(planSignIn({ ...claims, email: undefined }, policy, undefined, byEmail)).toEqual({
      kind: 'refuse',
      reason: 'email_missing',
    });
  });
  it('provisions with the mapped role, or refuses without one or without JIT', () => {
    expect(planSignIn(claims, policy, undefined, undefined)).toEqual({
      kind: 'provision',
      email: 'ann@acme.test',
      name: 'Ann',
      role: 'member',
      via: 'jit',
    });
    expect(planSignIn({ ...claims, groups: ['x'] }, policy, undefined, undefined)).toEqual({
      kind: 'refuse',
      reason: 'no_role_mapping',
    });
    expect(planSignIn(claims, { ...policy, jitProvisioning: false }, undefined, undefined)).toEqual({
      kind: 'refuse',
      reason: 'no_account',
    });
    expect(
      planSignIn(
        { ...claims, name: undefined },
        { ...policy, roleMapping: [], defaultRole: 'viewer' },
        undefined,
        undefined,
      ),
    ).toEqual({ kind: 'provision', email: 'ann@acme.test', name: 'ann', role: 'viewer', via: 'jit' });
  });
  it('provisions an invited person even without JIT: groups decide the role when mapped, else the invite', () => {
    const noJit = { ...policy, jitProvisioning: false };
    expect(planSignIn(claims, noJit, undefined, undefined, { role: 'viewer' })).toMatchObject({
      kind: 'provision',
      role: 'member',
      via: 'invite',
    });
    expect(
      planSignIn(claims, { ...noJit, roleMapping: [] }, undefined, undefined, { role: 'viewer' }),
    ).toMatchObject({ kind: 'provision', role: 'viewer', via: 'invite' });
    expect(planSignIn({ ...claims, groups: [] }, noJit, undefined, undefined, { role: 'admin' })).toEqual({
      kind: 'refuse',
      reason: 'no_role_mapping',
    });
    // The invite is for a verified email of an allowed domain, like any first sign-in.
    expect(
      planSignIn({ ...claims, emailVerified: false }, noJit, undefined, undefined, { role: 'viewer' }),
    ).toEqual({ kind: 'refuse', reason: 'email_unverified' });
  });
});
