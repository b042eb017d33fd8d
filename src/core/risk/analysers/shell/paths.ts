/**
 * What a path is: a disk device, a root or top-level system directory, a build artefact, protected
 * data (database data, identity and auth files, SSH keys, boot files), or a place where a write
 * persists or changes the system (`/etc`, shell profiles, cron). Reads paths only, never argv.
 */

const DEVICE =
  /^\/dev\/(?:sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|md\d|dm-\d|mapper\/|disk\d|rdisk\d|loop\d|sr\d|nbd\d|zd\d|root\b|by-(?:id|uuid|label|path)\/)/;
const SYSTEM_DIRS = new Set([
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/opt',
  '/proc',
  '/root',
  '/sbin',
  '/srv',
  '/sys',
  '/usr',
  '/var',
  '/mnt',
  '/media',
  '/snap',
  '/run',
  '/Users',
  '/System',
  '/Library',
  '/Applications',
  '/private',
  '/usr/bin',
  '/usr/lib',
  '/usr/local',
  '/usr/sbin',
  '/var/lib',
]);
const DISPOSABLE = new Set([
  '.nyc_output',
  '.dart_tool',
  '.vite',
  '.output',
  '.docusaurus',
  '.webpack',
  '.sass-cache',
  'node_modules',
  'dist',
  'build',
  'target',
  'out',
  'coverage',
  '.cache',
  '__pycache__',
  '.next',
  '.nuxt',
  '.turbo',
  '.pytest_cache',
  '.mypy_cache',
  '.ruff_cache',
  'tmp',
  '.tmp',
  '.parcel-cache',
  '.venv',
  'venv',
  '.tox',
  '.gradle',
  '.svelte-kit',
  'storybook-static',
  '.eslintcache',
  '.angular',
  'obj',
  '.terraform',
]);
const SENSITIVE_PATH =
  /^(?:\/etc\/|\/boot\/|\/root\/|\/usr\/(?:s?bin|lib)\/|\/var\/spool\/cron|\/Library\/LaunchDaemons\/|~\/\.(?:ssh\/|bashrc$|bash_profile$|profile$|zshrc$|zprofile$|bash_login$|config\/autostart\/)|\/home\/[^/]+\/\.(?:ssh\/|bashrc$|profile$|zshrc$))/;

/** A disk or block device (`/dev/sda`, `/dev/nvme0n1`, `/dev/disk/by-id/…`). */
export function isDevice(path: string): boolean {
  return DEVICE.test(path);
}

/** A path whose writes persist or change the system: `/etc/…`, `~/.ssh/…`, shell profiles, cron. */
export function isSensitivePath(raw: string): boolean {
  return SENSITIVE_PATH.test(normalizePath(raw));
}

/** Normalises a path for root checks: `$HOME`→`~`, `//`→`/`, `.`/`..` resolved, no trailing slash. */
export function normalizePath(raw: string): string {
  let p = raw
    .replace(/^(?:\$\{?HOME\}?|\$env:USERPROFILE|\$env:HOME|%USERPROFILE%|%HOMEPATH%)/i, '~')
    .replace(/\\/g, '/');
  if (/^[A-Za-z]:(?:\/|$)/.test(p)) p = `/${p[0]!.toLowerCase()}:${p.slice(2)}`;
  const absolute = p.startsWith('/');
  const home = p === '~' || p.startsWith('~/');
  const segments: string[] = [];
  for (const seg of (home ? p.slice(1) : p).split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (segments.length > 0 && segments[segments.length - 1] !== '..') segments.pop();
      else if (!absolute && !home) segments.push('..');
      continue;
    }
    segments.push(seg);
  }
  const joined = segments.join('/');
  if (home) return joined ? `~/${joined}` : '~';
  if (absolute) return `/${joined}`;
  return joined || '.';
}

/** `/`, `/*`, `~`, `~/*`, a drive root, or a top-level system directory (or its contents). */
export function isRootLike(raw: string): boolean {
  const p = normalizePath(raw);
  if (p === '/' || p === '~' || p === '/*' || p === '~/*' || p === '/.*' || p === '~/.*') return true;
  if (/^\/[a-z]:(?:\/\*?)?$/.test(p) || /^\/[a-z]:\/windows(?:\/.*)?$/i.test(p)) return true;
  const withoutGlob = p.replace(/\/\*$/, '');
  if (SYSTEM_DIRS.has(withoutGlob)) return true;
  if (/^\/(?:home|Users)\/[^/*]+$/.test(withoutGlob)) return true;
  if (/^\/[a-z]:\/users(?:\/[^/*]+)?$/i.test(withoutGlob)) return true;
  // `rm -rf "$STEAMROOT/"*`, `rm -rf /$DEPLOY_DIR`: an unset variable leaves the root.
  if (
    /^\/?\$\{?[A-Za-z_]\w*\}?(?:\/\*?)?$/.test(raw.replace(/["']/g, '')) &&
    !/^\$\{?(?:PWD|TMPDIR)\b/.test(raw)
  )
    return true;
  if (/^\/\*/.test(p) || /^~\/\*/.test(p)) return true;
  return false;
}

/** A build artefact or cache (node_modules, dist, .cache, target…) or anything under /tmp. */
export function isBuildArtifact(raw: string): boolean {
  const p = normalizePath(raw);
  if (/^\/tmp\/[^*]/.test(p) || /^\/var\/tmp\/[^*]/.test(p) || /^\/private\/tmp\/[^*]/.test(p)) return true;
  const segments = p.split('/');
  const last = segments.pop() ?? '';
  if (/[*?]/.test(last)) return segments.some((s) => DISPOSABLE.has(s));
  return DISPOSABLE.has(last) || segments.some((s) => DISPOSABLE.has(s) && s !== 'tmp' && s !== '.tmp');
}

/**
 * Data and identity that no agent should delete: database data directories, system identity and
 * auth files, SSH authorised keys, boot and kernel files.
 */
const PROTECTED: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /^(?:\/var\/lib\/(?:postgresql|pgsql|postgres|mysql|mariadb|mongodb|mongo|redis|etcd|cassandra|elasticsearch|opensearch|clickhouse|couchdb|influxdb|rabbitmq|kafka|zookeeper|neo4j|docker\/volumes)|\/var\/opt\/mssql|\/etc\/kubernetes\/pki|\/usr\/local\/var\/(?:postgres(?:ql@?\d*)?|mysql|mongodb|redis)|\/opt\/homebrew\/var\/(?:postgres(?:ql@?\d*)?|mysql|mongodb|redis)|\/data\/db|\/srv\/(?:postgres|mysql|mongodb)|~\/Library\/Application Support\/Postgres)(?:\/|$)/,
    'database data directory',
  ],
  [
    /(?:^|\/)(?:pg_wal|pg_xlog|base|global|pg_tblspc)(?:\/|$)(?=.*)|(?:^|\/)PG_VERSION$/,
    'database data directory',
  ],
  [
    /^\/etc\/(?:passwd|shadow|group|gshadow|sudoers|sudoers\.d|pam\.d|security|master\.passwd|login\.defs|nsswitch\.conf|krb5\.keytab)(?:\/|$|-)/,
    'identity or auth file',
  ],
  [
    /^(?:~|\/root|\/home\/[^/]+|\/Users\/[^/]+)\/\.ssh(?:\/|$)|^\/etc\/ssh(?:\/|$)/,
    'SSH keys or configuration',
  ],
  [
    /^\/boot(?:\/|$)|^\/(?:vmlinuz|initrd\.img)(?:\.old)?$|^\/lib\/modules(?:\/|$)|^\/usr\/lib\/modules(?:\/|$)|^\/efi(?:\/|$)/,
    'boot or kernel files',
  ],
];

/** What kind of protected data a path is, if it is. */
export function protectedPathKind(raw: string): string | undefined {
  const p = normalizePath(raw);
  if (!/^[/~]/.test(p))
    return /(?:^|\/)(?:pg_wal|pg_xlog)(?:\/|$)|(?:^|\/)PG_VERSION$/.test(p)
      ? 'database data directory'
      : undefined;
  for (const [re, kind] of PROTECTED) if (re.test(p)) return kind;
  return undefined;
}
