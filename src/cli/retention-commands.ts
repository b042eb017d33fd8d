/** `ony retention run`: the payload retention sweep from the operator's shell (docs/privacy.md). */
import { isUuid } from '../db/client.js';
import type { CliIo, Command } from './command.js';
import { parseFlags, withContainer } from './operator.js';

const usage = `usage: ony retention run [--org ORG_ID] [--dry-run]

Deletes the payloads of decided, expired and cancelled handoffs older than each org's retention
window (PUT /v1/admin/retention; default 30 days), in short batches, keeping the handoffs, their
decisions and the audit chain. Pending handoffs are never swept. Appends one retention.swept entry
per org. The server runs the same sweep daily; this runs it now.
  --org ORG_ID  only this org
  --dry-run     count what is due, delete nothing, append nothing
Prints a JSON report per org.`;

export const retentionRun: Command = {
  usage,
  async run(argv, io: CliIo) {
    const v = parseFlags(
      'retention run',
      argv,
      { org: { type: 'string' }, 'dry-run': { type: 'boolean' } },
      io,
      usage,
    );
    if (v === undefined) return 2;
    const org = v.org as string | undefined;
    const dryRun = v['dry-run'] === true;
    if (org !== undefined && !isUuid(org)) {
      io.stderr.write(`ony retention run: --org must be an org uuid\n`);
      return 2;
    }
    return withContainer(io, async (c) => {
      try {
        const results = await c.retention.run({ ...(org !== undefined && { orgId: org }), dryRun });
        for (const r of results) {
          io.stdout.write(
            `${JSON.stringify({
              org_id: r.orgId,
              retention_days: r.retentionDays,
              cutoff: r.cutoff.toISOString(),
              [dryRun ? 'due' : 'removed']: r.removed,
              batches: r.batches,
            })}\n`,
          );
        }
        return 0;
      } catch (err) {
        io.stderr.write(`ony retention run: ${(err as Error).message}\n`);
        return 1;
      }
    });
  },
};
