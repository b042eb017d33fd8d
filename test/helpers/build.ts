/**
 * The builds tests run against, made once and one at a time. Test files run in parallel: a build
 * that empties an output (`tsc` of @ony/client cleans packages/client/dist first; `vite build`
 * empties dist/web) while another file's server reads it fails that file. So the one build tests
 * need runs under one lock (per checkout, under node_modules/.cache), and only when stale: in CI
 * `npm run build` ran before the tests and recorded what it built, so no test builds at all.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
const LOCK = join(ROOT, 'node_modules/.cache/ony-test-build.lock');

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs `build` holding the checkout's build lock (a directory; one older than 5 minutes is a dead build's). */
function withBuildLock(build: () => void): void {
  mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      let age = 0;
      try {
        age = Date.now() - statSync(LOCK).mtimeMs;
      } catch {
        continue; // released between the two calls
      }
      if (age > 300_000) rmSync(LOCK, { recursive: true, force: true });
      else sleepSync(250);
    }
  }
  try {
    build();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * The whole build as `npm start` runs it (dist/, dist/web, packages/client/dist), rebuilt by
 * scripts/build-if-stale.mjs when its inputs (by content) changed since the last recorded build.
 */
export function ensureBuild(): void {
  const current = () =>
    spawnSync(process.execPath, ['scripts/build-if-stale.mjs', '--check'], { cwd: ROOT, stdio: 'ignore' })
      .status === 0;
  if (current()) return;
  withBuildLock(() => {
    if (current()) return;
    const r = spawnSync(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`the build failed:\n${r.stdout}\n${r.stderr}`);
  });
}
