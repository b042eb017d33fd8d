/**
 * The org export under size (issue #10): an org with 100,000 handoffs, each with an encrypted
 * payload, and 100,000 audit entries, exported through the API over real HTTP (loopback), the zip
 * read by a client that discards it. Reports the time, the zip's size and the process's RSS growth
 * over the download (sampled every 50 ms, against a baseline after full collections). Target: under
 * 100 MB of growth, whatever the org's size, since the zip is streamed page by page.
 * Seeding is set-based SQL (unnest of prebuilt arrays), not the API. The database is the one the
 * test helpers pick: Postgres when DATABASE_URL is set (the target), PGlite otherwise (which spools
 * the zip to a temporary file first).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { as, createOrgWithAdmin, startTestServer } from '../test/helpers/app.js';
import { seedHandoffs } from './seed-handoffs.js';

const HANDOFFS = Number(process.env.ONY_BENCH_EXPORT_HANDOFFS ?? 100_000);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const mib = (n: number) => n / 1048576;

async function settledRss(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 200));
  }
  return process.memoryUsage().rss;
}

export async function run(): Promise<void> {
  const t = await startTestServer({ ONY_RATE_LIMIT_PER_MINUTE: '100000' });
  try {
    const admin = await createOrgWithAdmin(t, 'bench-export');
    const dev = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'bench' })).json<{
      device: { id: string };
    }>();
    const s0 = performance.now();
    await seedHandoffs(t, admin, dev.device.id, HANDOFFS);
    const seedMs = performance.now() - s0;
    console.log(
      `seeded ${HANDOFFS.toLocaleString('en')} handoffs with payloads and as many audit entries in ${(seedMs / 1000).toFixed(1)} s (${t.database.kind})`,
    );

    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as AddressInfo).port;
    const x = (await as(t, admin, 'POST', '/v1/admin/exports')).json<{ id: string }>();
    const p0 = performance.now();
    for (;;) {
      const s = (await as(t, admin, 'GET', `/v1/admin/exports/${x.id}`)).json<{ status: string }>();
      if (s.status === 'ready') break;
      if (s.status !== 'queued') throw new Error(`export ${s.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const prepareMs = performance.now() - p0;
    const { url } = (await as(t, admin, 'POST', `/v1/admin/exports/${x.id}/link`)).json<{ url: string }>();
    const path = url.replace('https://ony.test', '');

    const baseline = await settledRss();
    const heap0 = process.memoryUsage();
    let peak = baseline;
    let peakHeap = 0;
    let peakExternal = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakExternal = Math.max(peakExternal, m.external);
    }, 50);
    const d0 = performance.now();
    const { bytes, status } = await new Promise<{ bytes: number; status: number }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, headers: { cookie: admin.cookie } }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ bytes, status: res.statusCode ?? 0 }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    const downloadMs = performance.now() - d0;
    clearInterval(sampler);
    if (status !== 200) throw new Error(`download answered ${status}`);
    console.log(`prepare (job: count and mark ready): ${prepareMs.toFixed(0)} ms`);
    console.log(
      `download: ${(downloadMs / 1000).toFixed(1)} s, zip ${mib(bytes).toFixed(1)} MiB (${(mib(bytes) / (downloadMs / 1000)).toFixed(1)} MiB/s)`,
    );
    const after = await settledRss();
    console.log(
      `RSS: baseline ${mib(baseline).toFixed(0)} MiB, peak during the download ${mib(peak).toFixed(0)} MiB, growth ${mib(peak - baseline).toFixed(1)} MiB (target < 100); after the download and a full GC ${mib(after).toFixed(0)} MiB`,
    );
    console.log(
      `V8 heap used: ${mib(heap0.heapUsed).toFixed(0)} -> peak ${mib(peakHeap).toFixed(0)} MiB; external (Buffers, zlib): ${mib(heap0.external).toFixed(0)} -> peak ${mib(peakExternal).toFixed(0)} MiB`,
    );
  } finally {
    await t.close();
  }
}
