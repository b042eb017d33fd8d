/** `ony audit verify|export|checkpoint`: the chain from the operator's shell. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { VerifierKey } from '../core/audit-chain/checkpoint.js';
import type { Container } from '../container.js';
import { isUuid } from '../db/client.js';
import type { Command } from './command.js';
import { parseFlags, withContainer } from './operator.js';

const verifyUsage = `usage: ony audit verify --org ORG_ID [--witness DIR|URL [--pubkey VERIFIER_KEY]...]
       ony audit verify --file chain.jsonl|export.zip|export-dir [--pubkey VERIFIER_KEY]... [--witness DIR|URL]

Verifies an org's audit chain: every entry's hash, the links, gap-free seq, the chain head, and
each signed checkpoint. With --file it verifies an export offline, without a database: the JSON
lines of \`ony audit export\`, an org export zip (its audit.jsonl, read from the zip), or the folder
it was extracted to. Every checkpoint in the file is compared with the chain (a checkpoint beyond
its end, or attesting another hash, fails). --pubkey (a verifier key of /.well-known/ony-audit-key;
repeat it, or give several in one argument, for every key the server ever used) also checks the
checkpoints' signatures: a checkpoint signed by no given key fails. The audit-verifier-key.txt
inside an export is only a copy to compare.
--witness compares the chain with the checkpoints a witness outside the database kept: DIR holds
them as the witness stores them (DIR/ORG_ID/<seq>.checkpoint and latest.checkpoint, or the org's
own folder), URL is an https witness serving URL/ORG_ID/latest.checkpoint. Each must carry a valid
signature by a published key (with --org: the server's keys, or the --pubkey keys when given; with
--file, --pubkey is required) and its (seq, hash) must be in the chain: a witnessed seq beyond the
chain's end means its tail was cut, and fails naming that seq.
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
      {
        org: { type: 'string' },
        file: { type: 'string' },
        pubkey: { type: 'string', multiple: true },
        witness: { type: 'string' },
      },
      io,
      verifyUsage,
    );
    if (!v) return 2;
    const print = (report: { readonly ok: boolean; readonly [k: string]: unknown }) => {
      io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return report.ok ? 0 : 1;
    };
    const pubkeys = v.pubkey as unknown as string[] | undefined; // multiple: an array when given
    const witnessSource = typeof v.witness === 'string' ? v.witness : undefined;
    const { readWitnessed } = await import('../features/audit/witness-read.js');
    let witnessed: { source: string; checkpoints: number } | undefined;
    const loadWitnessed = async (orgId: string) => {
      const w = await readWitnessed(witnessSource!, orgId);
      witnessed = { source: w.source, checkpoints: w.notes.length };
      return w.notes;
    };
    if (typeof v.file === 'string') {
      const { verifyExport } = await import('../features/audit/offline-verify.js');
      try {
        const stream = v.file === '-' ? io.stdin : await openChainFile(v.file);
        const { reportView } = await import('../features/audit/audit.routes.js');
        const report = await verifyExport(
          stream,
          pubkeys,
          witnessSource !== undefined ? loadWitnessed : undefined,
        );
        return print({
          org_id: report.orgId,
          ...reportView(report),
          signatures_checked: pubkeys !== undefined,
          ...(witnessed !== undefined && { witness: witnessed }),
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
    let witness: { notes: string[]; keys: VerifierKey[] | undefined } | undefined;
    if (witnessSource !== undefined) {
      try {
        const { parseVerifierKey } = await import('../core/audit-chain/checkpoint.js');
        const keys = pubkeys
          ?.flatMap((t) => t.split(/[\s,]+/))
          .filter((t) => t !== '')
          .map((t) => parseVerifierKey(t));
        witness = { notes: await loadWitnessed(org), keys };
      } catch (err) {
        io.stderr.write(`ony audit verify: ${(err as Error).message}\n`);
        return 2;
      }
    }
    return withContainer(io, async (c) => {
      const { reportView } = await import('../features/audit/audit.routes.js');
      return print({
        org_id: org,
        ...reportView(await c.audit.verify(org, witness)),
        ...(witnessed !== undefined && { witness: witnessed }),
      });
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
ONY_AUDIT_WITNESS_INTERVAL_MS and every ONY_AUDIT_WITNESS_EVERY entries) and queues it for the
configured witnesses (the server's workers send it). Prints the signed note.`;

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
    // With witnesses, the queue takes the pushes each checkpoint enqueues (the server's workers send them).
    const startQueue = async (c: Container) => {
      if (c.config.audit.witness.https !== undefined || c.config.audit.witness.s3 !== undefined)
        await c.jobs.start();
    };
    if (v.all === true)
      return withContainer(io, async (c) => {
        await startQueue(c);
        io.stdout.write(`signed ${await c.audit.checkpointAll()} checkpoints\n`);
        return 0;
      });
    if (typeof v.org !== 'string' || !isUuid(v.org)) {
      io.stderr.write(`ony audit checkpoint: give --org <org uuid> or --all\n`);
      return 2;
    }
    const org = v.org;
    return withContainer(io, async (c) => {
      await startQueue(c);
      io.stdout.write((await c.audit.checkpoint(org)).note);
      return 0;
    });
  },
};
