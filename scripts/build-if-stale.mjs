/* global process, URL */
/**
 * `npm start` runs this first: it rebuilds (`npm run build`) only when the build's inputs changed
 * since the last build it made. The inputs are hashed by content (paths and bytes), not by mtime, so
 * a `git checkout` or a copied tree that keeps old mtimes still rebuilds, and touching a file without
 * changing it does not. The hash is taken before building, so an edit made during a build is seen
 * by the next start.
 *
 *   node scripts/build-if-stale.mjs           build when stale, else say it is current
 *   node scripts/build-if-stale.mjs --check   exit 0 when current, 1 when a build is needed
 *   node scripts/build-if-stale.mjs --record  record the inputs as built (the end of `npm run build`,
 *                                             so a plain build, as CI runs it, counts as current too)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What `npm run build` reads: the server, dashboard and client sources and their configuration. */
const INPUT_DIRS = ['src', 'packages/client/src'];
const INPUT_FILES = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'packages/client/package.json',
  'packages/client/tsconfig.json',
  'packages/client/tsconfig.cjs.json',
  'scripts/web-size.mjs',
];
/** What the build writes and the server needs; a missing one means stale whatever the stamp says. */
const OUTPUTS = ['dist/main.js', 'dist/web/index.html', 'packages/client/dist'];
const STAMP = 'dist/.build-inputs.sha256';

function listFiles(root, dir) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** SHA-256 over every input's path and bytes, in a fixed order. */
export function inputsHash(root) {
  const files = [
    ...INPUT_DIRS.flatMap((d) => listFiles(root, d)),
    ...INPUT_FILES.filter((f) => existsSync(join(root, f))),
  ]
    .map((f) => f.split('\\').join('/'))
    .sort();
  const hash = createHash('sha256');
  for (const f of files) {
    const bytes = readFileSync(join(root, f));
    hash.update(`${f}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest('hex');
}

/** Why a build is needed, or null when dist/ was built from exactly these inputs. */
export function staleReason(root, hash = inputsHash(root)) {
  const missing = OUTPUTS.find((o) => !existsSync(join(root, o)));
  if (missing !== undefined) return `${missing} is missing`;
  const stamp = join(root, STAMP);
  if (!existsSync(stamp)) return 'no record of what the last build was made from';
  return readFileSync(stamp, 'utf8').trim() === hash ? null : 'sources changed since the last build';
}

function main() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const check = process.argv.includes('--check');
  const hash = inputsHash(root);
  if (process.argv.includes('--record')) {
    writeFileSync(join(root, STAMP), `${hash}\n`);
    return 0;
  }
  const reason = staleReason(root, hash);
  if (reason === null) {
    process.stderr.write('ony: the build is current (no rebuild needed)\n');
    return 0;
  }
  if (check) {
    process.stderr.write(`ony: a build is needed: ${reason}\n`);
    return 1;
  }
  process.stderr.write(`ony: building (${reason})…\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) return r.status ?? 1;
  writeFileSync(join(root, STAMP), `${hash}\n`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1])
  process.exitCode = main();
