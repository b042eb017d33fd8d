/**
 * `npm run bench [name-filter]`: runs every bench/*.bench.ts in turn. Each module exports
 * `run(): Promise<void>` and prints its own figures; ratios are measured side by side in one run
 * because absolute numbers on shared machines are noise.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filter = process.argv[2];
const files = (await readdir(dir))
  .filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter)))
  .sort();
for (const file of files) {
  console.log(`\n=== ${file.replace('.bench.ts', '')} ===`);
  const mod = (await import(pathToFileURL(`${dir}${file}`).href)) as { run: () => Promise<void> };
  await mod.run();
}
