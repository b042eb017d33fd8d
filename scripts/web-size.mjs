/* global process, console, URL */
/**
 * Prints the dashboard's first-load JavaScript, gzipped: every script and module preload that
 * dist/web/index.html names. Fails (exit 1) above the budget of issue #8 (200 KB).
 * Usage: node scripts/web-size.mjs [webDir]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const BUDGET_BYTES = 200 * 1024;

export function firstLoadJs(webDir) {
  const html = readFileSync(join(webDir, 'index.html'), 'utf8');
  const refs = [
    ...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="([^"]+\.js)"/g),
  ].map((m) => m[1]);
  const files = refs.map((src) => {
    const raw = readFileSync(join(webDir, src.replace(/^\//, '')));
    return { src, bytes: raw.length, gzip: gzipSync(raw, { level: 9 }).length };
  });
  return { files, gzip: files.reduce((n, f) => n + f.gzip, 0) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? new URL('../dist/web', import.meta.url).pathname;
  const { files, gzip } = firstLoadJs(dir);
  for (const f of files)
    console.log(`  ${f.src}: ${(f.bytes / 1024).toFixed(1)} KB, ${(f.gzip / 1024).toFixed(1)} KB gzipped`);
  console.log(
    `dashboard first-load JavaScript: ${(gzip / 1024).toFixed(1)} KB gzipped (budget ${BUDGET_BYTES / 1024} KB)`,
  );
  if (files.length === 0 || gzip > BUDGET_BYTES) {
    console.error(files.length === 0 ? 'no script found in index.html' : 'over the first-load budget');
    process.exit(1);
  }
}
