/**
 * How long a built server takes to answer /healthz (issue #20 §4, "Starting fast": ≤ 3 s), embedded
 * mode, `node dist/main.js serve` as `npm start` runs it once the build is current:
 *  - first start: an empty data directory (PGlite initdb, every migration, a new master key);
 *  - restart: the same data directory again (what an operator's restart costs).
 * Median and max of ROUNDS starts each, from spawn to the first 200; the process is stopped between.
 * Needs a current build: run `npm run build` (or `npm start` once) first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startBuiltServer } from '../test/helpers/server-process.js';
import { median } from './stats.js';

const ROUNDS = 5;
const TARGET_MS = 3000;

/** CPU seconds (user + system) a process used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return Number.NaN;
  }
}

/** Wall and CPU time from spawn to the first 200: the CPU figure does not depend on the machine's load. */
async function timeToHealthy(dataDir: string): Promise<{ wallMs: number; cpuMs: number }> {
  const start = performance.now();
  const server = await startBuiltServer({ dataDir, env: { ONY_LOG_LEVEL: 'warn' } });
  try {
    await server.healthy(120_000);
    return { wallMs: performance.now() - start, cpuMs: cpuSeconds(server.child.pid) * 1000 };
  } finally {
    await server.stop();
  }
}

export async function run(): Promise<void> {
  if (!existsSync(join(REPO_ROOT, 'dist/main.js'))) {
    console.log('skipped: no dist/main.js; run `npm run build` first');
    return;
  }
  const first: { wallMs: number; cpuMs: number }[] = [];
  const restart: { wallMs: number; cpuMs: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const dir = await mkdtemp(join(tmpdir(), 'ony-startup-'));
    try {
      first.push(await timeToHealthy(dir));
      restart.push(await timeToHealthy(dir));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const row = (name: string, xs: { wallMs: number; cpuMs: number }[]) => {
    const wall = xs.map((x) => x.wallMs);
    return `${name.padEnd(30)} wall median ${s(median(wall))} (max ${s(Math.max(...wall))})   CPU median ${s(median(xs.map((x) => x.cpuMs)))}`;
  };
  const load = loadavg()[0]!.toFixed(1);
  console.log(
    `spawn -> first 200 from /healthz, embedded, ${ROUNDS} rounds, load average ${load} (target ≤ ${TARGET_MS / 1000} s)`,
  );
  console.log(row('first start (empty data dir)', first));
  console.log(row('restart (existing data dir)', restart));
  const wall = median(restart.map((x) => x.wallMs));
  console.log(`restart within target: ${wall <= TARGET_MS ? 'yes' : 'NO'}`);
}
