/**
 * The checkpoint key's name does not follow the listen address (issue #18, item 1.2): a server
 * restarted on another port publishes the same key id, a renamed key is added without dropping the
 * old one (each with its validity period), and every key stays listed for verifiers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { signCheckpoint, signingKeyFromSeed, verifierKey } from '../../src/core/audit-chain/checkpoint.js';
import { withTenant } from '../../src/db/client.js';
import { getHead, initAuditHead, insertCheckpoint } from '../../src/features/audit/audit.repository.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createContainer, type Container } from '../../src/container.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/lib/logger.js';
import { createMemoryStore } from '../../src/state/store.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

interface PublishedKeys {
  key_name: string;
  verifier_key: string;
  keys: {
    key_name: string;
    key_id: string;
    verifier_key: string;
    valid_from: string;
    valid_until: string | null;
  }[];
}

let database: TestDatabase;
const masterKey = randomBytes(32).toString('base64');
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(async () => database?.close());

/** Starts a server process on the shared database with this environment, reads its key list, stops it. */
async function publishedBy(
  env: Record<string, string>,
  on: TestDatabase = database,
  check?: (c: Container) => Promise<void>,
): Promise<PublishedKeys> {
  const config = loadConfig({
    ONY_MASTER_KEY: masterKey,
    ONY_LOG_LEVEL: 'silent',
    ONY_MIGRATE_ON_START: 'false',
    ...env,
  });
  // The database outlives each "process": only the container's own resources close.
  const shared = { kind: on.runtime.kind, db: on.runtime.db, close: async () => undefined };
  const container = await createContainer(config, {
    database: shared,
    store: createMemoryStore(() => Date.now()),
    logger: createLogger('silent'),
  });
  const app = await buildApp(container);
  try {
    await app.ready();
    const res = await app.inject({ url: '/.well-known/ony-audit-key' });
    expect(res.statusCode).toBe(200);
    await check?.(container);
    return res.json<PublishedKeys>();
  } finally {
    await app.close();
    await container.close();
  }
}

describe('the checkpoint key has a stable name', () => {
  it('a server restarted on another port publishes the same key id; a new name adds a key and keeps the old', async () => {
    const first = await publishedBy({ PORT: '8081' });
    expect(first.key_name).toBe('ony-audit');
    expect(first.keys).toHaveLength(1);
    expect(first.keys[0]).toMatchObject({ verifier_key: first.verifier_key, valid_until: null });

    const restarted = await publishedBy({ PORT: '8082' });
    expect(restarted.verifier_key).toBe(first.verifier_key);
    expect(restarted.keys.map((k) => k.key_id)).toEqual([first.keys[0]!.key_id]);

    // ONY_PUBLIC_URL no longer renames a key already in use.
    const behindProxy = await publishedBy({ ONY_PORT: '9000', ONY_PUBLIC_URL: 'https://ony.acme.example' });
    expect(behindProxy.verifier_key).toBe(first.verifier_key);

    // An explicit name is a new key id; the old one stays published, its period closed.
    const renamed = await publishedBy({ ONY_AUDIT_KEY_NAME: 'audit.acme.example' });
    expect(renamed.key_name).toBe('audit.acme.example');
    expect(renamed.keys.map((k) => k.verifier_key)).toEqual([first.verifier_key, renamed.verifier_key]);
    expect(renamed.keys[0]!.valid_until).toBe(renamed.keys[1]!.valid_from);
    expect(renamed.keys[1]!.valid_until).toBeNull();

    // And it keeps that name once stored, whatever the next process's address.
    const again = await publishedBy({ PORT: '8083' });
    expect(again.verifier_key).toBe(renamed.verifier_key);
    expect(again.keys).toHaveLength(2);
  });
});

describe('upgrading from keys named after the address', () => {
  it('keeps the names older checkpoints were signed under, so they still verify', async () => {
    const old = await freshDatabase();
    try {
      const seed = Buffer.alloc(32, 5);
      const env = { ONY_AUDIT_SIGNING_KEY: seed.toString('base64'), PORT: '9090' };
      // Before the upgrade: an org whose checkpoint is signed under the PORT-derived name.
      const orgId = randomUUID();
      const legacy = signingKeyFromSeed('localhost:8080/ony-audit', seed);
      await withTenant(old.db, orgId, async (tx) => {
        await tx.db.insertInto('orgs').values({ id: orgId, name: 'Old', slug: 'old' }).execute();
        await initAuditHead(tx);
        const head = (await getHead(tx))!;
        const at = new Date('2026-10-01T00:00:00.000Z');
        const note = signCheckpoint({ orgId, seq: head.seq, hash: head.hash, at: at.toISOString() }, legacy);
        await insertCheckpoint(tx, { ...head, at, keyName: legacy.name, note });
      });
      const published = await publishedBy(env, old, async (c) => {
        expect(await c.audit.verify(orgId)).toMatchObject({ ok: true, checkpointsVerified: 1 });
      });
      expect(published.key_name).toBe('localhost:8080/ony-audit');
      expect(published.keys).toEqual([
        expect.objectContaining({
          verifier_key: verifierKey(legacy.name, legacy.publicKey),
          valid_from: '2026-10-01T00:00:00.000Z',
          valid_until: null,
        }),
      ]);
    } finally {
      await old.close();
    }
  });
});
