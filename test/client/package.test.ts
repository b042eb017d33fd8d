/**
 * `ony/client` as a package consumer gets it: the exports map resolves to JS and declarations, and
 * the emitted client runs with no dependency installed (it imports nothing outside src/client but
 * `node:` built-ins; type-only imports are erased).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

interface PackageJson {
  name: string;
  type: string;
  scripts: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
}

let tmp: string;
let pkg: PackageJson;
let emitted: Map<string, string>;

beforeAll(async () => {
  pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
  tmp = await mkdtemp(join(tmpdir(), 'ony-client-'));
  const pkgDir = join(tmp, 'node_modules', 'ony');
  // Emit src/client the way tsconfig.build.json + tsconfig.client.json do, into a bare package
  // (package.json and dist only: no node_modules of its own).
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.client.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  )!;
  emitted = new Map();
  const program = ts.createProgram(parsed.fileNames, {
    ...parsed.options,
    emitDeclarationOnly: false,
    outDir: join(pkgDir, 'dist'),
  });
  const result = program.emit(undefined, (file, text) => emitted.set(file, text));
  expect(result.emitSkipped).toBe(false);
  for (const [file, text] of emitted) {
    await mkdir(resolve(file, '..'), { recursive: true });
    await writeFile(file, text);
  }
  await writeFile(
    join(pkgDir, 'package.json'),
    JSON.stringify({ name: pkg.name, type: pkg.type, exports: pkg.exports }),
  );
});
afterAll(async () => rm(tmp, { recursive: true, force: true }));

describe('ony/client as a package', () => {
  it('package.json exports ./client (JS and types), and the build emits its declarations', () => {
    expect(pkg.exports['./client']).toEqual({
      types: './dist/client/index.d.ts',
      default: './dist/client/index.js',
    });
    expect(pkg.scripts.build).toContain('tsc -p tsconfig.client.json');
    const files = [...emitted.keys()].map((f) => f.slice(join(tmp, 'node_modules/ony/').length)).sort();
    expect(files).toContain('dist/client/index.js');
    expect(files).toContain('dist/client/index.d.ts');
    expect(files).toContain('dist/client/webhook.js');
  });

  it('the emitted client JS imports nothing outside the client but node: built-ins', async () => {
    const dir = join(tmp, 'node_modules/ony/dist/client');
    for (const name of (await readdir(dir)).filter((f) => f.endsWith('.js'))) {
      const js = await readFile(join(dir, name), 'utf8');
      const specs = [...js.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
      for (const spec of specs) expect(spec, `${name}: ${spec}`).toMatch(/^(\.\/[a-z-]+\.js|node:[a-z]+)$/);
    }
  });

  it('a consumer imports it by name and it works with no dependency installed', async () => {
    const script = `
      import { createClient, verifyCallback, WebhookVerificationError } from 'ony/client';
      const c = createClient({ baseUrl: 'http://127.0.0.1:9', token: 'x' });
      let err;
      try { verifyCallback('whsec_' + Buffer.alloc(32).toString('base64'), {}, '{}'); } catch (e) { err = e; }
      const net = await c.getHandoff('00000000-0000-4000-8000-000000000000').catch((e) => e.name);
      console.log(JSON.stringify({ fns: typeof c.waitForDecision, err: err instanceof WebhookVerificationError, net }));
    `;
    await writeFile(join(tmp, 'consumer.mjs'), script);
    const { stdout } = await promisify(execFile)(process.execPath, [join(tmp, 'consumer.mjs')], { cwd: tmp });
    expect(JSON.parse(stdout)).toEqual({ fns: 'function', err: true, net: 'OnyNetworkError' });
  });

  it('TypeScript resolves its declarations through the exports map', () => {
    const consumer = join(tmp, 'consumer.ts');
    ts.sys.writeFile(
      consumer,
      `import { createClient, type Handoff } from 'ony/client';\n` +
        `const h: Handoff['status'] = 'approved';\nexport const c = createClient({ baseUrl: h, token: 't' });\n`,
    );
    const program = ts.createProgram([consumer], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2023,
      strict: true,
      noEmit: true,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules/@types')],
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  });
});
