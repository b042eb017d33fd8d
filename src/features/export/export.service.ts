/**
 * Exports (docs/export.md). An admin exports the whole org; any member exports their own data.
 *
 * Where the zip is produced: at download time, from the database, inside one read-only REPEATABLE
 * READ snapshot, streamed page by page (export.archive.ts). Nothing is stored, so any replica can
 * serve the download and memory stays flat. The job only validates: it counts what the export will
 * hold and marks it ready. Then the one who asked gets a single-use link valid 15 minutes; using it
 * streams the zip. On embedded PGlite (one connection for the whole process) the zip is first
 * written to a private temporary file at database speed and then streamed from there, so a slow
 * client does not hold the only connection.
 *
 * Limits against scraping: one running export per org (admin) and per member (self-export), at
 * most 5 of each a day, every request and every download in the audit chain.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import { auditEvents } from '../../core/audit-chain/events.js';
import { isUuid, withTenant, withTenantSnapshot } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { Clock } from '../../lib/clock.js';
import { newToken, sha256 } from '../../lib/crypto.js';
import { AppError, notFound } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { appendAudit } from '../audit/audit.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Principal } from '../auth/principal.js';
import type { Keyring } from '../orgs/keyring.js';
import { buildArchive } from './export.archive.js';
import {
  claimDownload,
  countMemberData,
  countOrgData,
  countSince,
  expireStale,
  findExport,
  insertExport,
  listExports,
  markDownloaded,
  markFailed,
  markReady,
  setLink,
  type ExportRecord,
  type ExportScope,
} from './export.repository.js';

export const EXPORT_JOBS = { prepare: 'export-prepare' } as const;

/** Exports of one scope a day (per org for org exports, per member for self-exports). */
export const EXPORTS_PER_DAY = 5;
export const LINK_TTL_MS = 15 * 60_000;
/** How long after the request a link can still be issued (and the export counts as running). */
export const EXPORT_TTL_MS = 24 * 3600_000;
const DAY_MS = 24 * 3600_000;

type Member = Principal & { kind: 'member' };

export interface ExportDeps {
  readonly db: Kysely<DB>;
  readonly jobs: Pick<JobQueue, 'send'>;
  readonly keyring: Pick<Keyring, 'decrypt'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly audit: Pick<AuditService, 'publicKeys'>;
  readonly config: {
    readonly publicUrl: string;
    /** Channels this server has configured (names only), listed in channels.json. */
    readonly channels: readonly string[];
    /** Write the zip to a temporary file before streaming it (embedded PGlite). */
    readonly spool: boolean;
  };
}

export interface DownloadStream {
  readonly stream: Readable;
  readonly filename: string;
}

export function createExportService(deps: ExportDeps) {
  const { db, jobs, keyring, clock, logger, config } = deps;

  /** The export as the caller may see it: their own self-exports, or (admins) the org's exports. */
  function visible(p: Member, x: ExportRecord | undefined, scope: ExportScope): ExportRecord {
    if (x === undefined || x.scope !== scope) throw notFound('export');
    if (scope === 'member' && x.requestedBy !== p.memberId) throw notFound('export');
    return x;
  }

  function requireAdminFor(p: Member, scope: ExportScope) {
    if (scope === 'org' && p.role !== 'admin') throw new AppError('forbidden', 'this needs the admin role');
  }

  async function settleFailure(orgId: string, id: string, err: unknown) {
    logger.warn({ err, export_id: id }, 'export stream failed');
    await withTenant(db, orgId, (tx) => markFailed(tx, id, 'stream_failed')).catch((e: unknown) =>
      logger.error({ err: e, export_id: id }, 'could not mark the export failed'),
    );
  }

  return {
    async request(p: Member, scope: ExportScope): Promise<ExportRecord> {
      requireAdminFor(p, scope);
      const now = clock.now();
      const id = randomUUID();
      try {
        return await withTenant(db, p.orgId, async (tx) => {
          await expireStale(tx, now);
          const recent = await countSince(
            tx,
            scope,
            new Date(now.getTime() - DAY_MS),
            scope === 'member' ? p.memberId : undefined,
          );
          if (recent >= EXPORTS_PER_DAY)
            throw new AppError(
              'rate_limited',
              `at most ${EXPORTS_PER_DAY} ${scope === 'org' ? 'org exports' : 'exports of your data'} a day`,
            );
          await insertExport(tx, {
            id,
            scope,
            requestedBy: p.memberId,
            createdAt: now,
            expiresAt: new Date(now.getTime() + EXPORT_TTL_MS),
          });
          await jobs.send(
            EXPORT_JOBS.prepare,
            { org_id: p.orgId, export_id: id },
            { retryLimit: 2, retryDelaySeconds: 5 },
            tx.db,
          );
          await appendAudit(
            tx,
            auditEvents.exportRequested({ type: 'member', id: p.memberId }, { id, scope }),
            now,
          );
          return (await findExport(tx, id))!;
        });
      } catch (err) {
        if ((err as { code?: string }).code === '23505')
          throw new AppError(
            'conflict',
            scope === 'org'
              ? 'an export of this organization is already running; download it or wait until it expires'
              : 'an export of your data is already running; download it or wait until it expires',
          );
        throw err;
      }
    },

    /** The job: checks the export can be read (counts its rows) and marks it ready. */
    async prepareJob(data: Record<string, unknown>): Promise<void> {
      const orgId = data.org_id;
      const id = data.export_id;
      if (typeof orgId !== 'string' || typeof id !== 'string' || !isUuid(orgId) || !isUuid(id))
        throw new Error('export job data lacks org_id or export_id');
      try {
        await withTenant(db, orgId, async (tx) => {
          const x = await findExport(tx, id);
          if (x === undefined || x.status !== 'queued') return;
          const counts =
            x.scope === 'org' ? await countOrgData(tx) : await countMemberData(tx, x.requestedBy);
          await markReady(tx, id, counts, clock.now());
        });
      } catch (err) {
        // Failed for good (a retry would read the same data): the slot is freed for a new request.
        logger.error({ err, export_id: id }, 'export could not be prepared');
        await withTenant(db, orgId, (tx) => markFailed(tx, id, 'prepare_failed'));
      }
    },

    async get(p: Member, id: string, scope: ExportScope): Promise<ExportRecord> {
      requireAdminFor(p, scope);
      return withTenant(db, p.orgId, async (tx) => {
        await expireStale(tx, clock.now());
        return visible(p, await findExport(tx, id), scope);
      });
    },

    async list(p: Member, scope: ExportScope): Promise<ExportRecord[]> {
      requireAdminFor(p, scope);
      return withTenant(db, p.orgId, async (tx) => {
        await expireStale(tx, clock.now());
        const all = await listExports(tx, scope, 20);
        return scope === 'member' ? all.filter((x) => x.requestedBy === p.memberId) : all;
      });
    },

    /** A fresh single-use link (valid 15 minutes) for a ready export; an older unused link stops working. */
    async issueLink(p: Member, id: string, scope: ExportScope): Promise<{ url: string; expiresAt: Date }> {
      requireAdminFor(p, scope);
      const now = clock.now();
      const token = newToken('ony_exp_');
      const expiresAt = new Date(now.getTime() + LINK_TTL_MS);
      await withTenant(db, p.orgId, async (tx) => {
        await expireStale(tx, now);
        const x = visible(p, await findExport(tx, id), scope);
        if (x.requestedBy !== p.memberId)
          throw new AppError('forbidden', 'only the admin who asked for this export can download it');
        if (x.status === 'queued') throw new AppError('conflict', 'the export is not ready yet');
        if (x.status !== 'ready') throw new AppError('gone', `the export is ${x.status}; ask for a new one`);
        if (!(await setLink(tx, id, sha256(token), expiresAt)))
          throw new AppError('conflict', 'the export changed; try again');
      });
      return {
        url: `${config.publicUrl}/v1/exports/${id}/download?token=${encodeURIComponent(token)}`,
        expiresAt,
      };
    },

    /**
     * Uses a link: the token is spent and the download audited in one transaction, then the zip is
     * streamed. Only the member who asked may use it (an org export: while still an admin).
     */
    async download(p: Member, id: string, token: string): Promise<DownloadStream> {
      const now = clock.now();
      const x = await withTenant(db, p.orgId, async (tx) => {
        const found = await findExport(tx, id);
        if (found === undefined || found.requestedBy !== p.memberId) throw notFound('export');
        requireAdminFor(p, found.scope);
        if (!(await claimDownload(tx, id, sha256(token), now)))
          throw new AppError('gone', 'this download link was already used or has expired');
        await appendAudit(
          tx,
          auditEvents.exportDownloaded({ type: 'member', id: p.memberId }, { id, scope: found.scope }),
          now,
        );
        return found;
      });
      const filename = `ony-${x.scope === 'org' ? 'org' : 'my-data'}-export-${now.toISOString().slice(0, 10)}.zip`;
      // Read before the snapshot opens (embedded mode has one connection).
      const verifierKeys = (await deps.audit.publicKeys()).all.map((k) => k.verifierKey);
      const write = (sink: NodeJS.WritableStream) =>
        withTenantSnapshot(db, p.orgId, async (tx) => {
          const archive = await buildArchive({
            tx,
            keyring,
            exportId: id,
            scope: x.scope,
            memberId: p.memberId,
            now,
            verifierKeys,
            channels: config.channels,
          });
          try {
            await pipeline(archive.zip.outputStream, sink);
          } finally {
            await archive.settle();
          }
        });
      const done = (stream: Readable) => {
        finished(stream).then(
          () =>
            withTenant(db, p.orgId, (tx) => markDownloaded(tx, id, clock.now())).catch((err: unknown) =>
              logger.error({ err, export_id: id }, 'could not mark the export downloaded'),
            ),
          (err: unknown) => settleFailure(p.orgId, id, err),
        );
      };

      if (!config.spool) {
        const out = new PassThrough();
        write(out).catch((err: unknown) => {
          out.destroy(err as Error);
        });
        done(out);
        return { stream: out, filename };
      }
      const dir = await mkdtemp(join(tmpdir(), 'ony-export-'));
      const file = join(dir, 'export.zip');
      try {
        await write(createWriteStream(file, { mode: 0o600 }));
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        await settleFailure(p.orgId, id, err);
        throw err;
      }
      const stream = createReadStream(file);
      stream.once('close', () => void rm(dir, { recursive: true, force: true }));
      done(stream);
      return { stream, filename };
    },
  };
}

export type ExportService = ReturnType<typeof createExportService>;
