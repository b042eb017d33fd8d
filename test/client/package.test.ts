/**
 * `@ony/client` as an agent's project gets it: the package is built by its own `npm run build`,
 * packed with `npm pack`, and installed (offline) into a fresh project that cannot see this repo's
 * node_modules. There it must install nothing else, load through `import` and `require`, type-check
 * under every module resolution a consumer may use, and use nothing newer than Node 18.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const PKG = join(ROOT, 'packages/client');
const NPM_QUIET = ['--no-audit', '--no-fund', '--loglevel=error'];

interface PackageJson {
  name: string;
  version: string;
  license: string;
  type: string;
  sideEffects: boolean;
  engines: { node: string };
  main: string;
  types: string;
  dependencies?: Record<string, string>;
  exports: Record<string, unknown>;
  scripts: Record<string, string>;
}

/** Where the package is built (a copy, so a concurrent root build cannot pull dist away). */
let build: string;
/** The consumer project: a temp dir with no node_modules above it. */
let app: string;
let pkg: PackageJson;
let packed: { filename: string; files: { path: string }[]; unpackedSize: number }[];

beforeAll(async () => {
  pkg = JSON.parse(await readFile(join(PKG, 'package.json'), 'utf8')) as PackageJson;
  // The repo's node_modules is linked in, so the build finds tsc and @types/node as it does in place.
  build = await mkdtemp(join(tmpdir(), 'ony-client-build-'));
  await symlink(join(ROOT, 'node_modules'), join(build, 'node_modules'), 'dir');
  for (const entry of ['package.json', 'README.md', 'LICENSE', 'tsconfig.json', 'tsconfig.cjs.json', 'src']) {
    await cp(join(PKG, entry), join(build, entry), { recursive: true });
  }
  await run('npm', ['run', 'build', '--silent'], { cwd: build });
  // Built just above; --ignore-scripts skips prepack's second build (and keeps stdout pure JSON).
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', ...NPM_QUIET], { cwd: build });
  packed = JSON.parse(stdout) as typeof packed;

  app = await mkdtemp(join(tmpdir(), 'ony-client-app-'));
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'agent', private: true }));
  await run('npm', ['install', '--offline', ...NPM_QUIET, join(build, packed[0]!.filename)], { cwd: app });
}, 180_000);
afterAll(async () => {
  if (build) await rm(build, { recursive: true, force: true });
  if (app) await rm(app, { recursive: true, force: true });
});

describe('@ony/client as a package', () => {
  it('is its own zero-dependency package for Node >= 18, with ESM, CJS and types', () => {
    expect(pkg).toMatchObject({
      name: '@ony/client',
      version: '0.1.0',
      type: 'module',
      sideEffects: false,
      engines: { node: '>=18' },
      main: './dist/cjs/index.js',
      types: './dist/cjs/index.d.ts',
      exports: {
        '.': {
          import: { types: './dist/esm/index.d.ts', default: './dist/esm/index.js' },
          require: { types: './dist/cjs/index.d.ts', default: './dist/cjs/index.js' },
        },
      },
    });
    expect(pkg.dependencies).toBeUndefined();
  });

  it('packs the builds, their declarations, the README and the licence, and nothing else', () => {
    const files = packed[0]!.files.map((f) => f.path).sort();
    const built = (dir: string) =>
      ['index', 'retry', 'webhook'].flatMap((m) => [`dist/${dir}/${m}.d.ts`, `dist/${dir}/${m}.js`]);
    expect(files).toEqual(
      [
        'LICENSE',
        'README.md',
        'package.json',
        ...built('cjs'),
        'dist/cjs/package.json',
        ...built('esm'),
      ].sort(),
    );
  });

  it('installs nothing but itself', async () => {
    expect((await readdir(join(app, 'node_modules'))).filter((f) => f !== '.package-lock.json')).toEqual([
      '@ony',
    ]);
    expect(await readdir(join(app, 'node_modules/@ony'))).toEqual(['client']);
    const lock = JSON.parse(await readFile(join(app, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, unknown>;
    };
    expect(Object.keys(lock.packages).sort()).toEqual(['', 'node_modules/@ony/client']);
  });

  // A consumer that talks to a real HTTP server and verifies a callback signed with node:crypto
  // directly (not with the package's own signer). `load` is how it gets the package as `client`.
  const consumer = (load: string): string => `
    ${load}
    const handoff = {
      id: 'h1', short_code: 'ABC123', status: 'approved', action: { type: 'deploy', target: null },
      title: 't', summary: '', risk: { level: 'low', reasons: [] }, options: [],
      approvals: { required: 1, received: 1 }, totp_required: false, decision: null,
      payload: { status: 'none', removed_at: null, note: null },
      expires_at: '2030-01-01T00:00:00Z', created_at: '2030-01-01T00:00:00Z', links: { self: '', events: '' },
    };
    (async () => {
      const { createHmac } = await import('node:crypto');
      const http = await import('node:http');
      const server = http.createServer((req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ...handoff, id: req.url, auth: req.headers.authorization }));
      });
      await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
      const ony = client.createClient({ baseUrl: 'http://127.0.0.1:' + server.address().port, token: 'tok' });
      const got = await ony.getHandoff('h1', { signal: new AbortController().signal });
      server.close();
      const dead = client.createClient({ baseUrl: 'http://127.0.0.1:9', token: 'x' });
      const net = await dead.getHandoff('h1').catch((e) => e instanceof client.OnyNetworkError && e.transient);

      const key = Buffer.alloc(32, 7);
      const secret = 'whsec_' + key.toString('base64');
      const body = JSON.stringify({ type: 'handoff.decided', data: handoff });
      const ts = Math.floor(Date.now() / 1000);
      const sig = createHmac('sha256', key).update('msg_1.' + ts + '.' + body).digest('base64');
      const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': 'v1,' + sig };
      const verified = client.verifyCallback(secret, headers, body);
      const forgedSig = 'v1,' + (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
      let forged;
      try { client.verifyCallback(secret, { ...headers, 'webhook-signature': forgedSig }, body); }
      catch (e) { forged = e instanceof client.WebhookVerificationError; }
      console.log(JSON.stringify({ got: [got.id, got.auth], net, verified: [verified.id, verified.data.status], forged }));
    })();
  `;
  const expected = {
    got: ['/v1/handoffs/h1', 'Bearer tok'],
    net: true,
    verified: ['msg_1', 'approved'],
    forged: true,
  };

  it('works through require() (CommonJS)', async () => {
    await writeFile(join(app, 'consumer.cjs'), consumer(`const client = require('@ony/client');`));
    const { stdout } = await run(process.execPath, ['consumer.cjs'], { cwd: app });
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  it('works through import (ESM)', async () => {
    await writeFile(join(app, 'consumer.mjs'), consumer(`import * as client from '@ony/client';`));
    const { stdout } = await run(process.execPath, ['consumer.mjs'], { cwd: app });
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  /** Strict tsc over consumer files; answers the diagnostics and where `@ony/client` resolved. */
  function typecheck(files: Record<string, string>, options: ts.CompilerOptions) {
    const names = Object.keys(files).map((f) => join(app, f));
    for (const [f, text] of Object.entries(files)) ts.sys.writeFile(join(app, f), text);
    const program = ts.createProgram(names, {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: ts.ScriptTarget.ES2022,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules/@types')],
      ...options,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file ? `${relative(app, d.file.fileName)}: ` : '';
      return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
    // Resolved as the compiler does for that file (an .mts imports, a .cts requires).
    const resolved = names.map((n) => {
      const mode = program.getSourceFile(n)!.impliedNodeFormat;
      const options = program.getCompilerOptions();
      const r = ts.resolveModuleName('@ony/client', n, options, ts.sys, undefined, undefined, mode);
      return relative(join(app, 'node_modules/@ony/client'), r.resolvedModule!.resolvedFileName);
    });
    return { diagnostics, resolved };
  }

  const USE = `
    import { createClient, verifyCallback, OnyApiError, ACTION_TYPES, type Handoff } from '@ony/client';
    const status: Handoff['status'] = 'approved';
    const ony = createClient({ baseUrl: 'https://ony.example.com', token: 't' });
    export const wait = (id: string): Promise<Handoff> => ony.waitForDecision(id, { timeoutMs: 1000 });
    export const isApi = (e: unknown): boolean => e instanceof OnyApiError && status === 'approved';
    export const verify = (body: string) => verifyCallback('whsec_x', {}, body).data.status;
    export const first: string = ACTION_TYPES[0];
  `;

  it('type-checks under moduleResolution node10 (module commonjs)', () => {
    const r = typecheck(
      { 'node10.ts': USE },
      { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 },
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.resolved).toEqual(['dist/cjs/index.d.ts']);
  });

  it('type-checks under moduleResolution node16, from an ES module (.mts) and a CommonJS one (.cts)', () => {
    const r = typecheck(
      { 'esm.mts': USE, 'cjs.cts': USE },
      { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 },
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.resolved).toEqual(['dist/esm/index.d.ts', 'dist/cjs/index.d.ts']);
  });

  it('type-checks under moduleResolution bundler', () => {
    const r = typecheck(
      { 'bundler.ts': USE },
      { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler },
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.resolved).toEqual(['dist/esm/index.d.ts']);
  });

  it('its declarations need no @types/node (the DOM lib is enough, as in Deno or a browser build)', () => {
    const r = typecheck(
      { 'dom.ts': USE },
      {
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
        types: [],
      },
    );
    expect(r.diagnostics).toEqual([]);
  });

  it('the built JS imports only its own files and node: built-ins, and uses nothing newer than Node 18', async () => {
    // Language built-ins are held to ES2022 by the package's tsconfig (lib ES2022); these are the
    // runtime APIs a Node 18 lacks that TypeScript's lib or @types/node would let through.
    const NEWER_THAN_NODE_18 = [
      /AbortSignal\.any\b/, // Node 18.17 and 20.3
      /Promise\.withResolvers\b/, // Node 22
      /\b(?:Object|Map)\.groupBy\b/, // Node 21
      /Array\.fromAsync\b/, // Node 22
      /\.(?:toSorted|toReversed|toSpliced|isWellFormed|toWellFormed)\(/, // Node 20
      /import\.meta\.(?:dirname|filename)\b/, // Node 20.11
      /process\.getBuiltinModule\b/, // Node 22.3
      /\bnavigator\b/, // Node 21
      /\bWebSocket\b/, // Node 22
      /URL\.canParse\b/, // Node 18.17 and 19.9
      /\bcrypto\.hash\(/, // Node 21.7
      /\.(?:union|intersection|symmetricDifference|isSubsetOf|isSupersetOf|isDisjointFrom)\(/, // Node 22
      /\bIterator\.from\b/, // Node 22
    ];
    let checked = 0;
    for (const dir of ['esm', 'cjs']) {
      const root = join(app, 'node_modules/@ony/client/dist', dir);
      for (const name of (await readdir(root)).filter((f) => f.endsWith('.js'))) {
        // Comments may name what the code avoids: only the code is scanned.
        const js = ts
          .createPrinter({ removeComments: true })
          .printFile(
            ts.createSourceFile(name, await readFile(join(root, name), 'utf8'), ts.ScriptTarget.ES2022),
          );
        const specs = [...js.matchAll(/\b(?:from|import|require)\s*\(?\s*['"]([^'"]+)['"]/g)].map(
          (m) => m[1]!,
        );
        for (const spec of specs)
          expect(spec, `${dir}/${name}: ${spec}`).toMatch(/^(\.\/[a-z-]+\.js|node:[a-z]+)$/);
        for (const api of NEWER_THAN_NODE_18) expect(js, `${dir}/${name}`).not.toMatch(api);
        checked++;
      }
    }
    expect(checked).toBe(6);
  });
});
