/**
 * The previous version of ony, checked out from git into a cache dir, ready to run from its sources
 * with tsx: the server a rolling upgrade still runs while the new migrations are applied.
 *
 * Which version (the first that applies):
 * 1. ONY_UPGRADE_FROM (any git revision), for a manual run;
 * 2. HEAD, when migrations/ has uncommitted changes (the migration being written);
 * 3. the newest release tag (v*) before HEAD whose migrations differ from HEAD's;
 * 4. the parent of the newest commit that changed migrations/ (while there is no such tag).
 *
 * Its dependencies are not downloaded. When every package of its lockfile is in the current one at
 * the same version and integrity (a release that removed or changed none), the current node_modules
 * serves it exactly: linked entry by entry, with its own workspace packages linked to its own tree
 * (and built there).
 * Otherwise `npm ci --offline` installs them from the npm cache, or the run fails saying so.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';

export interface PreviousVersion {
  readonly commit: string;
  /** How it was chosen, for the test's output. */
  readonly why: string;
  readonly dir: string;
}

const git = (root: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

const tryGit = (root: string, ...args: string[]): string | undefined => {
  try {
    return git(root, ...args);
  } catch {
    return undefined;
  }
};

/** Answers undefined (with the reason) when git or the history needed is not there. */
export function choosePrevious(root: string): { commit: string; why: string } | { missing: string } {
  if (tryGit(root, 'rev-parse', '--git-dir') === undefined)
    return { missing: `${root} is not a git checkout` };
  const from = process.env.ONY_UPGRADE_FROM;
  if (from) {
    const commit = tryGit(root, 'rev-parse', '--verify', `${from}^{commit}`);
    return commit
      ? { commit, why: `ONY_UPGRADE_FROM=${from}` }
      : { missing: `ONY_UPGRADE_FROM=${from} is not a commit` };
  }
  const head = git(root, 'rev-parse', 'HEAD');
  if (git(root, 'status', '--porcelain', '--', 'migrations') !== '')
    return { commit: head, why: 'HEAD (migrations/ has uncommitted changes)' };
  const headMigrations = git(root, 'rev-parse', 'HEAD:migrations');
  const tag = tryGit(root, 'describe', '--tags', '--abbrev=0', '--match', 'v[0-9]*', 'HEAD^');
  if (tag !== undefined && git(root, 'rev-parse', `${tag}:migrations`) !== headMigrations)
    return { commit: git(root, 'rev-parse', `${tag}^{commit}`), why: `release tag ${tag}` };
  const changed = git(root, 'log', '--first-parent', '-1', '--format=%H', 'HEAD', '--', 'migrations');
  const parent = tryGit(root, 'rev-parse', '--verify', `${changed}^1`);
  if (parent === undefined) {
    const shallow = tryGit(root, 'rev-parse', '--is-shallow-repository') === 'true';
    return {
      missing: shallow
        ? `the clone is shallow: the parent of ${changed.slice(0, 12)} (the newest commit that changed migrations/) is not in it; fetch more history (git fetch --unshallow)`
        : `${changed.slice(0, 12)} has no parent: no earlier version to upgrade from`,
    };
  }
  return {
    commit: parent,
    why: `the parent of ${changed.slice(0, 12)}, the newest commit that changed migrations/`,
  };
}

/** The version's sources (git archive) under node_modules/.cache, made once per commit. */
export function checkout(root: string, commit: string): string {
  const cache = join(root, 'node_modules/.cache/ony-upgrade');
  const dir = join(cache, commit);
  if (existsSync(join(dir, '.ready'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const archive = spawnSync(
    'sh',
    ['-c', `git archive --format=tar "$1" | tar -x -C "$2"`, 'sh', commit, tmp],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (archive.status !== 0) throw new Error(`git archive ${commit} failed: ${archive.stderr}`);
  try {
    installDependencies(root, tmp);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  writeFileSync(join(tmp, '.ready'), `${commit}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

interface LockPackage {
  readonly version?: string;
  readonly integrity?: string;
  readonly link?: boolean;
  readonly resolved?: string;
}
const lockPackages = (dir: string): Record<string, LockPackage> =>
  (
    JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockPackage>;
    }
  ).packages;

function installDependencies(root: string, dir: string): void {
  const current = lockPackages(root);
  const previous = lockPackages(dir);
  const entries = Object.entries(previous).filter(([path]) => path.startsWith('node_modules/'));
  const differs = entries.filter(([path, p]) => {
    const c = current[path];
    return p.link === true ? c?.link !== true : c?.version !== p.version || c?.integrity !== p.integrity;
  });
  if (differs.length > 0) {
    const npm = spawnSync('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: dir,
      encoding: 'utf8',
    });
    if (npm.status !== 0)
      throw new Error(
        `the previous version's dependencies differ (${differs
          .map(([p]) => p)
          .slice(0, 3)
          .join(
            ', ',
          )}, …) and are not all in the npm cache (npm ci --offline failed):\n${npm.stderr.slice(-2000)}`,
      );
    // npm ci with --ignore-scripts builds nothing: the workspace packages still need their output.
    buildWorkspaces(dir);
    return;
  }
  // Every top-level entry of the current node_modules, linked; the version's own workspace packages
  // (links in its lockfile) point into its own tree.
  const links = new Map(
    entries
      .filter(([, p]) => p.link === true)
      .map(([path, p]) => [path.slice('node_modules/'.length), p.resolved!]),
  );
  const modules = join(dir, 'node_modules');
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (name === '.cache') continue;
    const scoped = [...links.keys()].some((l) => l.startsWith(`${name}/`));
    if (!scoped) {
      link(join(root, 'node_modules', name), join(modules, name));
      continue;
    }
    for (const inner of readdirSync(join(root, 'node_modules', name))) {
      if (!links.has(`${name}/${inner}`))
        link(join(root, 'node_modules', name, inner), join(modules, name, inner));
    }
  }
  for (const [name, resolved] of links) link(join(dir, resolved), join(modules, name));
  if (links.size > 0) buildWorkspaces(dir);
}

/** The server imports its workspace packages (@ony/client) from their build output. */
function buildWorkspaces(dir: string): void {
  if (!existsSync(join(dir, 'packages'))) return;
  const build = spawnSync('npm', ['run', 'build', '--workspaces', '--if-present', '--silent'], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (build.status !== 0)
    throw new Error(`building the version's workspace packages failed:\n${build.stdout}${build.stderr}`);
}

function link(target: string, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(relative(dirname(path), target), path);
}

/**
 * Whether the version runs on a confined runtime login (`ony migrate --grant-runtime`, migration
 * 0017). One from before it needs a login that can SET ROLE ony_owner, as its own docs said; during
 * a rolling upgrade its replicas keep the DATABASE_URL they were deployed with.
 */
export const runsConfined = (dir: string): boolean =>
  readFileSync(join(dir, 'src/db/migrator.ts'), 'utf8').includes('grantRuntime');
