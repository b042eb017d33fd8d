/**
 * The durable replay guard (issue #18 item 2.1, DESIGN.md §3.10) against the real database: a key
 * is claimed once until it expires, an expired claim is swept and can be claimed again, a claim
 * survives the loss of the ephemeral store, bad input is refused, and the two server-wide tables
 * are reachable by the app role only through their definer functions.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE, OWNER_ROLE, withApp } from '../../src/db/client.js';
import { createReplayGuard } from '../../src/features/replay/replay-guard.js';
import { nextSmsReplyCode } from '../../src/features/telephony/telephony.repository.js';
import { sha256 } from '../../src/lib/crypto.js';
import { createMemoryStore } from '../../src/state/store.js';
import { TestClock } from '../helpers/app.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
const clock = new TestClock(Date.parse('2026-12-07T10:00:00Z'));
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(async () => database?.close());

const rows = async () =>
  (await sql<{ n: number }>`select count(*)::int as n from replay_claims`.execute(database.db)).rows[0]!.n;

describe('replay guard', () => {
  it('claims a key once until it expires, whatever the ephemeral store lost', async () => {
    let store = createMemoryStore(() => clock.now().getTime());
    const guard = () => createReplayGuard({ db: database.db, clock, store });
    expect(await guard().claim('twilio:SM1', 60_000)).toBe(true);
    expect(await guard().claim('twilio:SM1', 60_000)).toBe(false);
    // The store is lost (a Redis restart): the durable claim still refuses the repeat.
    await store.close();
    store = createMemoryStore(() => clock.now().getTime());
    expect(await guard().claim('twilio:SM1', 60_000)).toBe(false);
    expect(await guard().claim('twilio:SM2', 60_000)).toBe(true);
    // Only hashes are stored, never the key.
    const stored = await sql<{ h: Buffer }>`select key_hash as h from replay_claims`.execute(database.db);
    expect(stored.rows.map((r) => Buffer.from(r.h).toString('hex'))).toContain(
      sha256('ony-replay:twilio:SM1').toString('hex'),
    );
    expect(JSON.stringify(stored.rows)).not.toContain('SM1');
    // Released (its handling failed): the provider's retry gets through, once.
    await guard().release('twilio:SM2');
    expect(await guard().claim('twilio:SM2', 60_000)).toBe(true);
    expect(await guard().claim('twilio:SM2', 60_000)).toBe(false);
    await store.close();
  });

  it('an expired claim is swept by later claims and the key can be claimed again', async () => {
    const store = createMemoryStore(() => clock.now().getTime());
    const guard = createReplayGuard({ db: database.db, clock, store });
    for (let i = 0; i < 5; i++) expect(await guard.claim(`plivo:nonce-${i}`, 1000)).toBe(true);
    const before = await rows();
    clock.advance(2000);
    expect(await guard.claim('telnyx:sig-new', 60_000)).toBe(true);
    expect(await rows()).toBe(before - 5 + 1);
    expect(await guard.claim('plivo:nonce-0', 1000)).toBe(true);
    await store.close();
  });

  it('refuses bad input and changes nothing', async () => {
    const store = createMemoryStore(() => clock.now().getTime());
    const guard = createReplayGuard({ db: database.db, clock, store });
    const before = await rows();
    await expect(guard.claim('k', 0)).rejects.toThrow(RangeError);
    await expect(guard.claim('k', 31 * 24 * 3600_000)).rejects.toThrow(RangeError);
    const now = clock.now();
    await expect(
      withApp(database.db, (tx) =>
        sql`select ony_claim_replay(${Buffer.from('short')}, ${new Date(now.getTime() + 1000)}, ${now})`.execute(
          tx,
        ),
      ),
    ).rejects.toThrow(/SHA-256/);
    await expect(
      withApp(database.db, (tx) =>
        sql`select ony_claim_replay(${sha256('x')}, ${new Date(now.getTime() + 40 * 24 * 3600_000)}, ${now})`.execute(
          tx,
        ),
      ),
    ).rejects.toThrow(/expiry out of range/);
    expect(await rows()).toBe(before);
    await store.close();
  });

  it('SMS reply codes count up per number and never repeat', async () => {
    const a = '+14155550171';
    const b = '+14155550172';
    expect(await nextSmsReplyCode(database.db, a)).toBe(1);
    expect(await nextSmsReplyCode(database.db, a)).toBe(2);
    expect(await nextSmsReplyCode(database.db, b)).toBe(1);
    const many = await Promise.all(Array.from({ length: 10 }, () => nextSmsReplyCode(database.db, a)));
    expect(new Set(many).size).toBe(10);
    expect(Math.min(...many)).toBe(3);
    const stored = await sql<{ t: string }>`
      select row_to_json(c)::text as t from sms_reply_code_counters c`.execute(database.db);
    expect(JSON.stringify(stored.rows)).not.toContain('4155550171');
  });

  it('the app role reaches the server-wide tables only through narrow definer functions', async () => {
    for (const table of ['replay_claims', 'sms_reply_code_counters']) {
      const rel = (
        await sql<{ rls: boolean; forced: boolean; owner: string }>`
          select relrowsecurity as rls, relforcerowsecurity as forced, pg_get_userbyid(relowner) as owner
          from pg_class where oid = ${table}::regclass`.execute(database.db)
      ).rows[0];
      expect(rel, table).toEqual({ rls: true, forced: true, owner: OWNER_ROLE });
      const grants = await sql<{ privilege_type: string }>`
        select privilege_type from information_schema.role_table_grants
        where table_name = ${table} and grantee = ${APP_ROLE}`.execute(database.db);
      expect(grants.rows, table).toEqual([]);
      await expect(
        withApp(database.db, (tx) => sql`select count(*) from ${sql.table(table)}`.execute(tx)),
      ).rejects.toThrow(/permission denied/);
    }
    const fns = await sql<{
      name: string;
      definer: boolean;
      owner: string;
      config: string[] | string | null;
    }>`
      select p.proname as name, p.prosecdef as definer, pg_get_userbyid(p.proowner) as owner,
             p.proconfig as config
      from pg_proc p where p.proname in ('ony_claim_replay', 'ony_release_replay', 'ony_next_sms_reply_code')
      order by 1`.execute(database.db);
    expect(fns.rows.map((f) => f.name)).toEqual([
      'ony_claim_replay',
      'ony_next_sms_reply_code',
      'ony_release_replay',
    ]);
    for (const f of fns.rows) {
      expect(f, f.name).toMatchObject({ definer: true, owner: OWNER_ROLE });
      expect(String(f.config), f.name).toContain('search_path=public, pg_temp');
    }
  });
});
