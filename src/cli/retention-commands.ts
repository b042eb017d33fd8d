/** `ony retention run`: the payload retention sweep from the operator's shell (docs/privacy.md). */
import { parseArgs } from 'node:util';
import { isUuid } from '../db/client.js';
import type { CliIo, Command } from './command.js';
import { configOrExit } from './server-commands.js';

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
    let v: { org?: string | undefined; 'dry-run'?: boolean | undefined };
    try {
      v = parseArgs({
        args: [...argv],
        options: { org: { type: 'string' }, 'dry-run': { type: 'boolean' } },
        strict: true,
      }).values;
    } catch (err) {
      io.stderr.write(`ony retention run: ${(err as Error).message}\n\n${usage}\n`);
      return 2;
    }
    if (v.org !== undefined && !isUuid(v.org)) {
      io.stderr.write(`ony retention run: --org must be an org uuid\n`);
      return 2;
    }
    const config = configOrExit(io);
    if (!config) return 2;
    const { createContainer } = await import('../container.js');
    const { createLogger } = await import('../lib/logger.js');
    const c = await createContainer(config, { logger: createLogger('warn') });
    try {
      const results = await c.retention.run({
        ...(v.org !== undefined && { orgId: v.org }),
        dryRun: v['dry-run'] === true,
      });
      for (const r of results) {
        io.stdout.write(
          `${JSON.stringify({
            org_id: r.orgId,
            retention_days: r.retentionDays,
            cutoff: r.cutoff.toISOString(),
            [v['dry-run'] === true ? 'due' : 'removed']: r.removed,
            batches: r.batches,
          })}\n`,
        );
      }
      return 0;
    } catch (err) {
      io.stderr.write(`ony retention run: ${(err as Error).message}\n`);
      return 1;
    } finally {
      await c.close();
    }
  },
};
