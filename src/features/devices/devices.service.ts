/**
 * Devices are agent credentials: an admin creates one and sees its `ony_dev_…` token once; the
 * database keeps only its SHA-256. Bearer auth resolves token -> (org, device).
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { newWebhookSecret } from '../../lib/webhook-signature.js';
import type { Keyring } from '../orgs/keyring.js';
import { withApp, withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { newToken, sha256 } from '../../lib/crypto.js';
import { AppError, notFound } from '../../lib/errors.js';
import { actorOf, type Principal } from '../auth/principal.js';
import { auditEvents } from '../../core/audit-chain/events.js';
import { appendAudit } from '../audit/audit.repository.js';
import type { Revocation } from '../auth/revocation.js';
import { findDevice, insertDevice, listDevices, updateDevice, type Device } from './devices.repository.js';

export const DEVICE_PREFIX = 'ony_dev_';

export interface DevicesDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly keyring: Keyring;
  /** Closes the revoked device's open streams and long-polls on every replica. */
  readonly revocation: Pick<Revocation, 'publish'>;
}

/** The secret that signs this device's callbacks, bound to the device by the ciphertext's AAD. */
export const webhookSecretAad = (deviceId: string): string => `webhook:${deviceId}`;

type MemberPrincipal = Principal & { kind: 'member' };

export function createDevicesService({ db, clock, keyring, revocation }: DevicesDeps) {
  return {
    /** Creates a device; its token and webhook secret are answered this once. */
    async create(
      p: MemberPrincipal,
      name: string,
    ): Promise<{ device: Device; token: string; webhookSecret: string }> {
      const token = newToken(DEVICE_PREFIX);
      const webhookSecret = newWebhookSecret();
      const device = await withTenant(db, p.orgId, async (tx) => {
        const now = clock.now();
        const id = randomUUID();
        const d = await insertDevice(tx, {
          id,
          webhookSecretEnc: await keyring.encrypt(
            tx,
            Buffer.from(webhookSecret, 'utf8'),
            webhookSecretAad(id),
          ),
          name,
          tokenHash: sha256(token),
          tokenHint: token.slice(0, DEVICE_PREFIX.length + 4),
          createdBy: p.memberId,
          now,
        });
        await appendAudit(tx, auditEvents.deviceCreated(actorOf(p), d), now);
        return d;
      });
      return { device, token, webhookSecret };
    },

    /** Replaces the device's webhook secret; the new one is answered this once. */
    async rotateWebhookSecret(p: MemberPrincipal, id: string): Promise<string> {
      const secret = newWebhookSecret();
      await withTenant(db, p.orgId, async (tx) => {
        const d = await findDevice(tx, id);
        if (d === undefined) throw notFound('device');
        if (d.revokedAt !== null) throw new AppError('conflict', 'device is revoked');
        await updateDevice(tx, id, {
          webhookSecretEnc: await keyring.encrypt(tx, Buffer.from(secret, 'utf8'), webhookSecretAad(id)),
        });
      });
      return secret;
    },

    list(p: MemberPrincipal): Promise<Device[]> {
      return withTenant(db, p.orgId, (tx) => listDevices(tx));
    },

    async get(p: Principal, id: string): Promise<Device> {
      const d = await withTenant(db, p.orgId, (tx) => findDevice(tx, id));
      if (d === undefined) throw notFound('device');
      return d;
    },

    async rename(p: MemberPrincipal, id: string, name: string): Promise<Device> {
      return withTenant(db, p.orgId, async (tx) => {
        const d = await findDevice(tx, id);
        if (d === undefined) throw notFound('device');
        if (d.revokedAt !== null) throw new AppError('conflict', 'device is revoked');
        await updateDevice(tx, id, { name });
        await appendAudit(tx, auditEvents.deviceRenamed(actorOf(p), { id, name }), clock.now());
        return { ...d, name };
      });
    },

    async revoke(p: MemberPrincipal, id: string): Promise<Device> {
      const device = await withTenant(db, p.orgId, async (tx) => {
        const d = await findDevice(tx, id);
        if (d === undefined) throw notFound('device');
        if (d.revokedAt !== null) return d;
        const now = clock.now();
        await updateDevice(tx, id, { revokedAt: now });
        await appendAudit(tx, auditEvents.deviceRevoked(actorOf(p), d), now);
        return { ...d, revokedAt: now };
      });
      // After the commit; again on a repeated revoke, in case the first announcement was lost.
      await revocation.publish({ kind: 'device', orgId: p.orgId, deviceId: id });
      return device;
    },

    /** Resolves a bearer token to a device principal, or throws 401. Notes "last seen" once a minute. */
    async authenticate(token: string): Promise<Principal & { kind: 'device' }> {
      const unauthenticated = new AppError('unauthenticated', 'device token is missing, unknown or revoked');
      if (!token.startsWith(DEVICE_PREFIX)) throw unauthenticated;
      const hit = await withApp(db, async (tx) =>
        (
          await sql<{
            org_id: string;
            device_id: string;
            last_seen_at: Date | null;
            settings_version: string;
          }>`
            select org_id, device_id, last_seen_at, settings_version::text
            from ony_resolve_device(${sha256(token)})`.execute(tx)
        ).rows.at(0),
      );
      if (hit === undefined) throw unauthenticated;
      // The look-up only answers live (unrevoked) devices; write "last seen" at most once a minute.
      const now = clock.now();
      if (hit.last_seen_at === null || now.getTime() - hit.last_seen_at.getTime() > 60_000) {
        await withTenant(db, hit.org_id, (tx) => updateDevice(tx, hit.device_id, { lastSeenAt: now }));
      }
      return {
        kind: 'device',
        orgId: hit.org_id,
        deviceId: hit.device_id,
        settingsVersion: hit.settings_version,
      };
    },
  };
}

export type DevicesService = ReturnType<typeof createDevicesService>;
