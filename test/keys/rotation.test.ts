/**
 * Master key rotation (docs/keys.md): a server that only has the new key reads everything back after
 * `rotate` (re-wrap) and after `rotate --data` (fresh data key, every blob re-encrypted), the data
 * rotation resumes after a crash with the same fresh key, and a key that is not configured is a
 * clear error naming its id with nothing rewritten.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { createContainer, type Container } from '../../src/container.js';
import { withOwner, withTenant } from '../../src/db/client.js';
import { ENCRYPTED_COLUMNS } from '../../src/features/keys/keys.repository.js';
import { dataKeyIdOf, masterKeyFrom } from '../../src/lib/crypto.js';
import { createLogger } from '../../src/lib/logger.js';
import { createMemoryStore } from '../../src/state/store.js';
import { as, createOrgWithAdmin, startTestServer, type Actor, type TestServer } from '../helpers/app.js';

const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');
const keyC = randomBytes(32).toString('base64');
const idOf = (k: string) => masterKeyFrom(Buffer.from(k, 'base64')).id;

let t: TestServer;
let admin: Actor;
const opened: Container[] = [];

/** Another server process on the same database, with its own master key configuration. */
async function restartWith(env: Record<string, string>): Promise<Container> {
  const config = loadConfig({ ONY_PUBLIC_URL: 'https://ony.test', ONY_MIGRATE_ON_START: 'false', ...env });
  const c = await createContainer(config, {
    database: { ...t.database.runtime, close: async () => undefined },
    ownerDatabase: t.database,
    store: createMemoryStore(),
    logger: createLogger('silent'),
    skipMigrations: true,
  });
  opened.push(c);
  return c;
}

/** Every encrypted blob of the org, decrypted by a container's keyring: `table:key` -> plaintext. */
async function readAll(c: Container, orgId: string): Promise<Record<string, string>> {
  return withTenant(t.database.db, orgId, async (tx) => {
    const out: Record<string, string> = {};
    for (const col of ENCRYPTED_COLUMNS) {
      const rows = await sql<{ k: string; blob: Buffer | null }>`
        select ${sql.ref(col.key)}::text as k, ${sql.ref(col.column)} as blob from ${sql.table(col.table)}`.execute(
        tx.db,
      );
      for (const r of rows.rows) {
        if (r.blob === null) continue;
        const plain = await c.keyring.decrypt(tx, Buffer.from(r.blob), col.aad(r.k));
        out[`${col.table}:${r.k}`] = plain.toString('utf8');
      }
    }
    return out;
  });
}

const blobKeyIds = async (orgId: string) =>
  withOwner(t.database.db, async (tx) => {
    const ids = new Set<string>();
    for (const col of ENCRYPTED_COLUMNS) {
      const rows = await sql<{ blob: Buffer | null }>`
        select ${sql.ref(col.column)} as blob from ${sql.table(col.table)} where org_id = ${orgId}`.execute(
        tx,
      );
      for (const r of rows.rows) if (r.blob !== null) ids.add(dataKeyIdOf(Buffer.from(r.blob)));
    }
    return ids;
  });

const orgKeyRows = async (orgId: string) =>
  withOwner(t.database.db, (tx) =>
    tx
      .selectFrom('org_keys')
      .select(['id', 'master_key_id', 'wrapped_key', 'active'])
      .where('org_id', '=', orgId)
      .orderBy('created_at')
      .execute(),
  );

let before: Record<string, string>;

beforeAll(async () => {
  t = await startTestServer({ ONY_MASTER_KEY: keyA });
  admin = await createOrgWithAdmin(t, 'rot');
  const start = await as(t, admin, 'POST', '/v1/me/totp');
  const secret = start.json<{ secret: string }>().secret;
  const code = generateSync({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) });
  expect((await as(t, admin, 'POST', '/v1/me/totp/confirm', { code })).statusCode).toBe(200);
  const dev = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>();
  for (let i = 0; i < 5; i++) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/handoffs',
      headers: { authorization: `Bearer ${dev.token}` },
      payload: {
        action: { type: 'deploy', target: 'prod' },
        title: `deploy ${i}`,
        summary: 'routine',
        payload: { kind: 'text', content: `payload number ${i}` },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
  }
  before = await readAll(t.container, admin.orgId);
});
afterAll(async () => {
  for (const c of opened) await c.close();
  await t?.close();
});

describe('master key configuration', () => {
  it('parses ONY_MASTER_KEYS newest first and refuses malformed lists, naming the entry', () => {
    const c = loadConfig({ ONY_MASTER_KEYS: `${keyB}, ${keyA}` });
    expect(c.masterKeys.map((k) => k.toString('base64'))).toEqual([keyB, keyA]);
    expect(c.masterKey?.toString('base64')).toBe(keyB);
    expect(loadConfig({ ONY_MASTER_KEY: keyA }).masterKeys).toHaveLength(1);
    for (const [env, msg] of [
      [{ ONY_MASTER_KEYS: `${keyB},not-a-key` }, /ONY_MASTER_KEYS entry 2 of 2 is not a 32-byte/],
      [{ ONY_MASTER_KEYS: `${keyB},${keyB}` }, /entry 2 repeats/],
      [{ ONY_MASTER_KEYS: `${keyB},` }, /entry 2 of 2/],
      [{ ONY_MASTER_KEY: keyA, ONY_MASTER_KEYS: keyB }, /not both/],
      [{ ONY_MASTER_KEY: `${keyA},${keyB}` }, /holds one key/],
    ] as const) {
      let err: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).not.toContain(keyB);
    }
  });
});

describe('ony keys rotate', () => {
  it('a server without the wrapping key fails with an error naming the key id', async () => {
    const onlyB = await restartWith({ ONY_MASTER_KEY: keyB });
    await expect(readAll(onlyB, admin.orgId)).rejects.toThrow(
      new RegExp(`master key ${idOf(keyA)} is not configured`),
    );
  });

  it('refuses to run, rewriting nothing, when a data key is wrapped by a key not configured', async () => {
    const keysBefore = await orgKeyRows(admin.orgId);
    const c = await restartWith({ ONY_MASTER_KEYS: `${keyC},${keyB}` });
    await expect(c.keys.rotate()).rejects.toThrow(new RegExp(`master key ${idOf(keyA)} is not configured`));
    await expect(c.keys.rotate({ data: true })).rejects.toThrow(idOf(keyA));
    expect(await orgKeyRows(admin.orgId)).toEqual(keysBefore);
  });

  it('re-wraps with the newest key; a restart with the old key removed reads everything back', async () => {
    const both = await restartWith({ ONY_MASTER_KEYS: `${keyB},${keyA}` });
    const r = await both.keys.rotate();
    expect(r).toEqual({ orgs: 1, rewrapped: 1, reencrypted: 0, masterKeyId: idOf(keyB) });
    expect((await orgKeyRows(admin.orgId)).map((k) => k.master_key_id)).toEqual([idOf(keyB)]);
    expect(await both.keys.rotate()).toMatchObject({ rewrapped: 0 });
    const onlyB = await restartWith({ ONY_MASTER_KEY: keyB });
    expect(Object.keys(before).length).toBeGreaterThanOrEqual(7); // 5 payloads, a TOTP secret, a webhook secret
    expect(await readAll(onlyB, admin.orgId)).toEqual(before);
  });

  it('--data re-encrypts under a fresh data key, resumes after a crash, and the chain still verifies', async () => {
    const c = await restartWith({ ONY_MASTER_KEYS: `${keyC},${keyB}` });
    const oldKeyId = (await orgKeyRows(admin.orgId))[0]!.id;
    let batches = 0;
    await expect(
      c.keys.rotate({
        data: true,
        batchSize: 2,
        onBatch: () => {
          if (++batches === 2) throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    const marker = await withOwner(t.database.db, (tx) =>
      tx
        .selectFrom('org_key_rotations')
        .select('to_key_id')
        .where('org_id', '=', admin.orgId)
        .executeTakeFirst(),
    );
    expect(marker).toBeDefined();
    const mid = await blobKeyIds(admin.orgId);
    expect(mid).toEqual(new Set([oldKeyId, marker!.to_key_id])); // half done

    const r = await c.keys.rotate({ data: true, batchSize: 2 });
    expect(r.reencrypted).toBeGreaterThan(0);
    expect(r.reencrypted).toBeLessThan(Object.keys(before).length); // resumed, not restarted
    expect(await blobKeyIds(admin.orgId)).toEqual(new Set([marker!.to_key_id]));
    const keys = await orgKeyRows(admin.orgId);
    expect(keys.filter((k) => k.active).map((k) => k.id)).toEqual([marker!.to_key_id]);
    expect(new Set(keys.map((k) => k.master_key_id))).toEqual(new Set([idOf(keyC)]));
    expect(
      await withOwner(t.database.db, (tx) =>
        tx.selectFrom('org_key_rotations').selectAll().where('org_id', '=', admin.orgId).execute(),
      ),
    ).toEqual([]);

    const onlyC = await restartWith({ ONY_MASTER_KEY: keyC });
    expect(await readAll(onlyC, admin.orgId)).toEqual(before);
    const audit = await onlyC.audit.verify(admin.orgId);
    expect(audit.ok).toBe(true);
    const actions = await withTenant(t.database.db, admin.orgId, async (tx) =>
      (await tx.db.selectFrom('audit_events').select('action').execute()).map((x) => x.action),
    );
    expect(actions).toContain('org.data_key_rotated');
  });
});
