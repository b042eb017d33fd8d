/**
 * Seeds decided handoffs in bulk for benchmarks (export, backup): each with an encrypted payload
 * and an audit entry, by set-based SQL (unnest of prebuilt arrays) rather than the API.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { auditEvents } from '../src/core/audit-chain/events.js';
import { withTenant } from '../src/db/client.js';
import { appendAudit } from '../src/features/audit/audit.repository.js';
import type { Actor, TestServer } from '../test/helpers/app.js';

const BATCH = 5000;
const SHORT_CODE = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const code = () => Array.from(randomBytes(6), (b) => SHORT_CODE[b % SHORT_CODE.length]).join('');

export async function seedHandoffs(
  t: TestServer,
  admin: Actor,
  deviceId: string,
  count: number,
): Promise<void> {
  const { db } = t.database;
  const keyring = t.container.keyring;
  const created = new Date(Date.now() - 3600_000);
  for (let done = 0; done < count; done += BATCH) {
    const n = Math.min(BATCH, count - done);
    const ids = Array.from({ length: n }, () => randomUUID());
    await withTenant(db, admin.orgId, async (tx) => {
      const codes = ids.map(code);
      await sql`
        insert into handoffs (org_id, id, short_code, device_id, status, action_type, action_target, title,
          summary, options, risk_level, risk_reasons, required_approvals, totp_required, request_sha256,
          payload_sha256, created_at, expires_at, decided_at, decision_option, decided_by, decision_channel)
        select ${admin.orgId}::uuid, id, sc, ${deviceId}::uuid, 'denied', 'db.query', 'prod-db',
          'Run the nightly clean-up on prod-db (' || id || ')', 'Deletes rows older than 90 days from events.',
          '[{"id":"approve","label":"Approve"},{"id":"deny","label":"Deny"}]'::jsonb, 'high',
          array['destructive_delete'], 1, false, repeat('a', 64), sha256(id::text::bytea),
          ${created}, ${created}, ${created}, 'deny', ${admin.memberId}::uuid, 'web'
        from unnest(${ids}::uuid[], ${codes}::text[]) as u(id, sc)`.execute(tx.db);
      const blobs: Buffer[] = [];
      for (const id of ids)
        blobs.push(
          await keyring.encrypt(
            tx,
            Buffer.from(`DELETE FROM events WHERE created_at < now() - interval '90 days'; -- ${id}`),
            `payload:${id}`,
          ),
        );
      await sql`
        insert into handoff_payloads (org_id, handoff_id, kind, salt, content_enc)
        select ${admin.orgId}::uuid, id, 'sql', '\\x00'::bytea, enc
        from unnest(${ids}::uuid[], ${blobs}::bytea[]) as u(id, enc)`.execute(tx.db);
      for (const id of ids) await appendAudit(tx, auditEvents.handoffExpired({ id }), created);
    });
  }
  // As autovacuum would after a bulk load: without statistics the planner may scan instead of seek.
  await sql`analyze`.execute(db);
}
