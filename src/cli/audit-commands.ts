/** `ony audit verify|export|checkpoint`: the chain from the operator's shell. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { isUuid } from '../db/client.js';
import type { Command } from './command.js';
import { parseFlags, withContainer } from './operator.js';

const verifyUsage = `usage: ony audit verify --org ORG_ID
       ony audit verify --file chain.jsonl|export.zip|export-dir [--pubkey VERIFIER_KEY]...

Verifies an org's audit chain: every entry's hash, the links, gap-free seq, the chain head, and
each signed checkpoint. With --file it verifies an export offline, without a database: the JSON
lines of \`ony audit export\`, an org export zip (its audit.jsonl, read from the zip), or the folder
it was extracted to. Every checkpoint in the file is compared with the chain (a checkpoint beyond
its end, or attesting another hash, fails). --pubkey (a verifier key of /.well-known/ony-audit-key;
repeat it, or give several in one argument, for every key the server ever used) also checks the
checkpoints' signatures: a checkpoint signed by no given key fails. The audit-verifier-key.txt
inside an export is only a copy to compare.
Prints a JSON report; exits 0 when the chain is intact, 1 when it is not (naming the first bad seq).`;

/** The chain's JSON lines from a file, from an export zip's audit.jsonl, or from an extracted export. */
async function openChainFile(path: string): Promise<Readable> {
  if ((await stat(path)).isDirectory()) return createReadStream(join(path, 'audit.jsonl'));
  const { isZipFile, openZipEntry } = await import('../features/export/zip-read.js');
  return (await isZipFile(path)) ? openZipEntry(path, 'audit.jsonl') : createReadStream(path);
}

export const auditVerify: Command = {
  usage: verifyUsage,
  async run(argv, io) {
    const v = parseFlags(
      'audit',
      argv,
      { org: { type: 'string' }, file: { type: 'string' }, pubkey: { type: 'string', multiple: true } },
      io,
      verifyUsage,
    );
    if (!v) return 2;
    const print = (report: { readonly ok: boolean; readonly [k: string]: unknown }) => {
      io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return report.ok ? 0 : 1;
    };
    if (typeof v.file === 'string') {
      const { verifyExport } = await import('../features/audit/offline-verify.js');
      try {
        const stream = v.file === '-' ? io.stdin : await openChainFile(v.file);
        const { reportView } = await import('../features/audit/audit.routes.js');
        const pubkeys = v.pubkey as unknown as string[] | undefined; // multiple: an array when given
        const report = await verifyExport(stream, pubkeys);
        return print({
          org_id: report.orgId,
          ...reportView(report),
          signatures_checked: pubkeys !== undefined,
        });
      } catch (err) {
        io.stderr.write(`ony audit verify: ${(err as Error).message}\n`);
        return 2;
      }
    }
    if (typeof v.org !== 'string' || !isUuid(v.org)) {
      io.stderr.write(`ony audit verify: give --org <org uuid> or --file <export>\n\n${verifyUsage}\n`);
      return 2;
    }
    const org = v.org;
    return withContainer(io, async (c) => {
      const { reportView } = await import('../features/audit/audit.routes.js');
      return print({ org_id: org, ...reportView(await c.audit.verify(org)) });
    });
  },
};

const exportUsage = `usage: ony audit export --org ORG_ID > chain.jsonl

Writes the org's audit chain as JSON lines: a header, the signed checkpoints, then every entry
with the exact canonical text that was hashed. Verify it anywhere with \`ony audit verify --file\`.`;

export const auditExport: Command = {
  usage: exportUsage,
  async run(argv, io) {
    const v = parseFlags('audit', argv, { org: { type: 'string' } }, io, exportUsage);
    if (!v) return 2;
    if (typeof v.org !== 'string' || !isUuid(v.org)) {
      io.stderr.write(`ony audit export: --org <org uuid> is required\n`);
      return 2;
    }
    const org = v.org;
    return withContainer(io, async (c) => {
      for await (const line of c.audit.exportLines(org)) {
        if (!io.stdout.write(`${line}\n`)) await new Promise((r) => io.stdout.once('drain', r));
      }
      return 0;
    });
  },
};

const checkpointUsage = `usage: ony audit checkpoint --org ORG_ID
       ony audit checkpoint --all

Signs a checkpoint of the chain head now (the server also does this every
ONY_AUDIT_CHECKPOINT_SECONDS). Prints the signed note.`;

export const auditCheckpoint: Command = {
  usage: checkpointUsage,
  async run(argv, io) {
    const v = parseFlags(
      'audit',
      argv,
      { org: { type: 'string' }, all: { type: 'boolean' } },
      io,
      checkpointUsage,
    );
    if (!v) return 2;
    if (v.all === true)
      return withContainer(
        io,
        async (c) => (io.stdout.write(`signed ${await c.audit.checkpointAll()} checkpoints\n`), 0),
      );
    if (typeof v.org !== 'string' || !isUuid(v.org)) {
      io.stderr.write(`ony audit checkpoint: give --org <org uuid> or --all\n`);
      return 2;
    }
    const org = v.org;
    return withContainer(io, async (c) => (io.stdout.write((await c.audit.checkpoint(org)).note), 0));
  },
};
