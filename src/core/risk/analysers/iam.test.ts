import { describe, expect, it } from 'vitest';
import { grantStrength } from './iam.js';

describe('grant strength', () => {
  it('admin: owner and admin roles, wildcards, AdministratorAccess, root keys, org-wide grants', () => {
    for (const text of [
      '--role roles/owner',
      'arn:aws:iam::aws:policy/AdministratorAccess',
      '--clusterrole cluster-admin',
      '--role Owner',
      '"Action": "*"',
      'actions = ["*"]',
      'aws iam create-access-key --profile root',
      'organizations/123456789012',
      'eve ALL=(ALL) NOPASSWD:ALL',
    ])
      expect(grantStrength(text), text).toBe('admin');
  });

  it('read-only: viewer and read-only roles', () => {
    for (const text of ['roles/viewer', '--clusterrole=view', 'ReadOnlyAccess', 's3:GetObject'])
      expect(grantStrength(text), text).toBe('readonly');
  });

  it('public is not read-only, and a bare "admin" needs a text about a grant', () => {
    expect(grantStrength('allUsers:objectViewer')).toBeUndefined();
    expect(grantStrength('owner = "team-a"')).toBeUndefined();
    expect(grantStrength('Grant admin to bob')).toBeUndefined();
    expect(grantStrength('Grant admin to bob', true)).toBe('admin');
  });
});
