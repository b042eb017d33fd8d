/** `ony org erase` and `ony keys rotate`: org erasure and master key rotation from the operator's shell. */
import { createInterface } from 'node:readline';
import { isUuid } from '../db/client.js';
import type { CliIo, Command } from './command.js';
import { parseFlags, withContainer } from './operator.js';

/** The first line typed on stdin (undefined at end of input). */
async function readLine(io: CliIo): Promise<string | undefined> {
  const rl = createInterface({ input: io.stdin, terminal: false });
  try {
    for await (const line of rl) return line;
    return undefined;
  } finally {
    rl.close();
  }
}

const eraseUsage = `usage: ony org erase --org ORG_ID --now

Erases an organization at once, skipping the 30-day grace period of an erasure scheduled from the
dashboard: its data keys are destroyed first (crypto-shredding), then every row of the org in every
table, the audit chain included, and its pending jobs; a tombstone (the org id's SHA-256, the
chain's last seq and hash, the time) is all that is left. Asks you to type the organization's
name to confirm. This cannot be undone; see docs/erasure.md.`;

export const orgErase: Command = {
  usage: eraseUsage,
  async run(argv, io) {
    const v = parseFlags(
      'org erase',
      argv,
      { org: { type: 'string' }, now: { type: 'boolean' } },
      io,
      eraseUsage,
    );
    if (!v) return 2;
    if (typeof v.org !== 'string' || !isUuid(v.org)) {
      io.stderr.write(`ony org erase: --org <org uuid> is required\n\n${eraseUsage}\n`);
      return 2;
    }
    if (v.now !== true) {
      io.stderr.write(
        'ony org erase: only --now is available here; an admin schedules an erasure with a grace period from the dashboard (POST /v1/admin/org/erasure)\n',
      );
      return 2;
    }
    const orgId = v.org.toLowerCase();
    return withContainer(io, async (c) => {
      const name = await c.erasure.orgName(orgId);
      if (name === undefined) {
        io.stderr.write(`ony org erase: no organization ${orgId}\n`);
        return 1;
      }
      io.stdout.write(
        `This erases the organization "${name}" (${orgId}) and all its data now. It cannot be undone.\nType the organization's name to confirm: `,
      );
      const typed = await readLine(io);
      if (typed?.trim() !== name) {
        io.stderr.write('\nony org erase: the name did not match; nothing was erased\n');
        return 1;
      }
      const r = await c.erasure.eraseNow(orgId);
      io.stdout.write(
        `\nerased ${orgId}: ${r.rows} rows, ${r.jobs} jobs; tombstone: last seq ${r.tombstone.lastSeq}, last hash ${r.tombstone.lastHash.toString('hex')}\n`,
      );
      return 0;
    });
  },
};

const rotateUsage = `usage: ony keys rotate [--data] [--batch-size N]

Re-wraps every organization's data key with the newest master key (the first of ONY_MASTER_KEYS,
newest first). Nothing else is re-encrypted, so it is quick. Afterwards the older keys can be
removed from ONY_MASTER_KEYS. A data key wrapped by a key that is not configured stops the command
before anything is rewritten, naming that key's id.

  --data          also give each organization a fresh data key and re-encrypt every secret and
                  payload under it, in batches (default 200 rows); safe to run again after a crash:
                  it resumes with the same fresh key
See docs/keys.md.`;

export const keysRotate: Command = {
  usage: rotateUsage,
  async run(argv, io) {
    const v = parseFlags(
      'keys rotate',
      argv,
      { data: { type: 'boolean' }, 'batch-size': { type: 'string' } },
      io,
      rotateUsage,
    );
    if (!v) return 2;
    let batchSize: number | undefined;
    if (typeof v['batch-size'] === 'string') {
      batchSize = Number(v['batch-size']);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
        io.stderr.write('ony keys rotate: --batch-size must be an integer from 1 to 10000\n');
        return 2;
      }
    }
    return withContainer(io, async (c) => {
      if (c.config.audit.signingSeed === undefined)
        io.stderr.write(
          'ony keys rotate: warning: ONY_AUDIT_SIGNING_KEY is not set, so the audit checkpoint signing key is derived from the newest master key and changes with it; publish the new verifier key (docs/keys.md)\n',
        );
      try {
        const r = await c.keys.rotate({
          data: v.data === true,
          ...(batchSize !== undefined && { batchSize }),
        });
        io.stdout.write(
          `${JSON.stringify({ master_key_id: r.masterKeyId, orgs: r.orgs, rewrapped: r.rewrapped, reencrypted: r.reencrypted })}\n`,
        );
        return 0;
      } catch (err) {
        io.stderr.write(`ony keys rotate: ${(err as Error).message}\n`);
        return 1;
      }
    });
  },
};
