/**
 * How much an access grant gives away, read from text that names a role or a permission: owner and
 * admin roles, wildcard actions, AdministratorAccess, root-account keys and organisation-wide grants
 * are `admin`; viewer/read-only roles are `readonly`. Shared by the shell, JSON, diff and action readings.
 */

export type GrantStrength = 'admin' | 'readonly';

const ADMIN_WORD = String.raw`(?:owner|admin|administrator|administrators|superuser|super[_-]?admin|org[_-]?admin|organization[_-]?admin|root)`;

/** Names that are admin grants wherever they appear. */
const ADMIN = [
  /\bAdministratorAccess\b/,
  /\b(?:IAMFullAccess|PowerUserAccess|OrganizationAccountAccessRole)\b/,
  /\broles\/(?:owner|[a-z.]*admin[a-z.]*)\b/i,
  /\bcluster-admin\b/,
  /\b(?:User Access Administrator|Global Administrator|Privileged Role Administrator)\b/,
  /\barn:aws:iam::\d{12}:root\b/,
  /"Action"\s*:\s*(?:\[\s*)?"(?:\*|\*:\*|iam:\*)"/i,
  /(?:^|\s)--actions?[=\s]+["']?\*(?:["']|\s|$)/,
  /\bactions?\s*=\s*\[?\s*"(?:\*|\*:\*|iam:\*)"/i,
  /\borganizations\/\d+\b/,
  /\broot[\s_-]+(?:account[\s_-]+)?(?:access[\s_-]+)?keys?\b/i,
  /\bcreate-access-key\b.*--(?:profile|user-name)[=\s]+root\b/,
  // sudoers: everything, as anyone (NOPASSWD or not)
  /\bALL\s*=\s*\(\s*ALL(?:\s*:\s*ALL)?\s*\)\s*(?:NOPASSWD:\s*)?ALL\b/,
  // role = "Owner", --role admin, "role": "admin", access_level: owner
  new RegExp(
    String.raw`\b(?:role[\w-]*|roles|permission[\w-]*|access[_-]?level|group|clusterrole)["']?\s*[=:\s]\s*\[?\s*["']?${ADMIN_WORD}["']?(?=$|[\s,\]}"'])`,
    'i',
  ),
];
/** In a text that is itself about a grant (an iam.change title, a role value), the bare word is enough. */
const ADMIN_LOOSE = new RegExp(String.raw`(?:^|[^\w-])${ADMIN_WORD}(?=$|[^\w-])`, 'i');
const PUBLIC = /\ballUsers\b|\ballAuthenticatedUsers\b|"Principal"\s*:\s*(?:\{\s*"AWS"\s*:\s*)?"\*"|^\*$/;
const READONLY =
  /^[\w-]+:(?:Get|List|Describe|Head|BatchGet|Query|Scan)\w*$|\b(?:roles\/(?:[a-z.]*\.)?viewer|(?:cluster)?role[=\s]+view\b|viewer|read[-_ ]?only|readonly|reader|ReadOnlyAccess|ViewOnlyAccess|SecurityAudit)\b/i;

/**
 * The strongest grant the text names, if any. `loose`: the text is known to describe a grant (the
 * fields of an `iam.change`, a role value), so a bare "admin" or "Owner" counts.
 */
export function grantStrength(text: string, loose = false): GrantStrength | undefined {
  if (ADMIN.some((re) => re.test(text)) || (loose && ADMIN_LOOSE.test(text))) return 'admin';
  // Read access for everyone on the internet is not a viewer role: it is publication.
  if (PUBLIC.test(text)) return undefined;
  if (READONLY.test(text)) return 'readonly';
  return undefined;
}
