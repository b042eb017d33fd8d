/**
 * Issue #20 §4 "Starting fast": `npm start` runs scripts/build-if-stale.mjs, which builds only when
 * the sources changed. Here the real script runs in a scratch tree whose `npm run build` is a tiny
 * real build (it writes the outputs and counts its runs), so each case is one real start.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '../../scripts/build-if-stale.mjs');

/** Writes the three outputs the server needs and counts the builds in builds.txt. */
const FAKE_BUILD = [
  "const fs = require('node:fs');",
  "if (fs.existsSync('fail')) process.exit(7);",
  "fs.mkdirSync('dist/web', { recursive: true }); fs.mkdirSync('packages/client/dist', { recursive: true });",
  "fs.writeFileSync('dist/main.js', ''); fs.writeFileSync('dist/web/index.html', '');",
  "fs.appendFileSync('builds.txt', 'x');",
].join(' ');

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ony-build-'));
  mkdirSync(join(root, 'scripts'));
  cpSync(SCRIPT, join(root, 'scripts/build-if-stale.mjs'));
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, scripts: { build: `node -e "${FAKE_BUILD}"` } }),
  );
  mkdirSync(join(root, 'src/web'), { recursive: true });
  writeFileSync(join(root, 'src/main.ts'), 'export {};\n');
  writeFileSync(join(root, 'src/web/app.tsx'), 'export {};\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function start(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'scripts/build-if-stale.mjs'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  const builds = (() => {
    try {
      return readFileSync(join(root, 'builds.txt'), 'utf8').length;
    } catch {
      return 0;
    }
  })();
  return { code: r.status, stderr: r.stderr, builds };
}

// Each start is a real `node` and `npm run` process: generous on a loaded 2-core machine.
describe('npm start builds only when the build is stale', { timeout: 180_000 }, () => {
  it('builds the first time, then starts without building until a source changes', () => {
    expect(start('--check')).toMatchObject({ code: 1, builds: 0 });
    expect(start()).toMatchObject({ code: 0, builds: 1 });
    const again = start();
    expect(again).toMatchObject({ code: 0, builds: 1 });
    expect(again.stderr).toMatch(/the build is current/);
    expect(start('--check')).toMatchObject({ code: 0, builds: 1 });

    writeFileSync(join(root, 'src/main.ts'), 'export const changed = 1;\n');
    expect(start('--check').stderr).toMatch(/sources changed since the last build/);
    expect(start()).toMatchObject({ code: 0, builds: 2 });
    expect(start()).toMatchObject({ code: 0, builds: 2 });
  });

  it('a dashboard file, a new file and a lockfile change each rebuild; a touch without a change does not', () => {
    start();
    writeFileSync(join(root, 'src/web/app.tsx'), 'export const x = 1;\n');
    expect(start().builds).toBe(2);
    writeFileSync(join(root, 'src/new-file.ts'), 'export {};\n');
    expect(start().builds).toBe(3);
    writeFileSync(join(root, 'package-lock.json'), '{}\n');
    expect(start().builds).toBe(4);
    const old = new Date(Date.now() - 86_400_000);
    utimesSync(join(root, 'src/main.ts'), old, old);
    utimesSync(join(root, 'src/web/app.tsx'), new Date(), new Date());
    expect(start().builds).toBe(4);
  });

  it('--record (the end of a plain `npm run build`, as CI runs it) counts as built', () => {
    start();
    writeFileSync(join(root, 'src/main.ts'), 'export const built = 1;\n');
    expect(start('--check').code).toBe(1);
    expect(start('--record').code).toBe(0);
    expect(start('--check')).toMatchObject({ code: 0, builds: 1 });
  });

  it('a missing output rebuilds whatever the record says', () => {
    start();
    rmSync(join(root, 'dist/web'), { recursive: true });
    const r = start();
    expect(r).toMatchObject({ code: 0, builds: 2 });
    expect(r.stderr).toMatch(/dist\/web\/index\.html is missing/);
  });

  it('a failed build exits with its code and is retried at the next start', () => {
    start();
    writeFileSync(join(root, 'src/main.ts'), 'export const broken = ;\n');
    writeFileSync(join(root, 'fail'), '');
    expect(start()).toMatchObject({ code: 7, builds: 1 });
    rmSync(join(root, 'fail'));
    expect(start()).toMatchObject({ code: 0, builds: 2 });
  });
});
