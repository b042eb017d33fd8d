import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  openCheckpoint,
  parseVerifierKey,
  signCheckpoint,
  signingKeyFromSeed,
  verifierKey,
} from './checkpoint.js';
import { canonicalize, chainHash, genesisHash, sealEntry, type AuditEvent } from './entry.js';
import { auditEvents, systemActor, AUDIT_ACTIONS } from './events.js';
import type { Assurance } from '../approval/assurance.js';
import { verifyChain, verifyEntries, type StoredEntry } from './verify.js';

const ORG = '0b6f1f7e-5d3c-4c1a-9e5b-2f4d6a8c0e12';
const at = new Date('2026-11-23T14:02:03.456Z');

function chain(n: number, orgId = ORG): StoredEntry[] {
  const out: StoredEntry[] = [];
  let prev = { seq: 0, hash: genesisHash(orgId) };
  for (let i = 0; i < n; i++) {
    const ev: AuditEvent = auditEvents.deviceCreated(
      { type: 'member', id: `m${i}` },
      { id: `d${i}`, name: `device ${i}` },
    );
    const s = sealEntry(orgId, prev, ev, new Date(at.getTime() + i * 1000));
    out.push({ seq: s.fields.seq, prevHash: s.fields.prev_hash, hash: s.hash, canonical: s.canonical });
    prev = { seq: s.fields.seq, hash: s.hash };
  }
  return out;
}

describe('entries', () => {
  it('canonicalizes with RFC 8785 (sorted keys, ES number form) and hashes prev || canonical', () => {
    expect(canonicalize({ b: 1, a: [true, null, 1.5e-7, 'é'], c: { z: 1, y: 2 } })).toBe(
      '{"a":[true,null,1.5e-7,"é"],"b":1,"c":{"y":2,"z":1}}',
    );
    const s = sealEntry(
      ORG,
      { seq: 0, hash: genesisHash(ORG) },
      auditEvents.orgCreated(systemActor, { id: ORG, name: 'Acme', slug: 'acme' }),
      at,
    );
    expect(s.canonical).toBe(
      `{"action":"org.created","actor_id":null,"actor_type":"system","at":"2026-11-23T14:02:03.456Z","meta":{"name":"Acme","slug":"acme"},"org_id":"${ORG}","prev_hash":"${genesisHash(ORG)}","seq":1,"subject_id":"${ORG}","subject_type":"org","v":1}`,
    );
    expect(s.hash).toBe(chainHash(genesisHash(ORG), s.canonical));
    expect(genesisHash(ORG)).toMatch(/^[0-9a-f]{64}$/);
    expect(genesisHash(ORG)).not.toBe(genesisHash('1b6f1f7e-5d3c-4c1a-9e5b-2f4d6a8c0e12'));
  });
});

describe('verification', () => {
  it('accepts an intact chain and names the first bad seq for each kind of tampering', () => {
    const good = chain(6);
    expect(verifyEntries(ORG, good, { seq: 6, hash: good[5]!.hash })).toMatchObject({
      ok: true,
      entries: 6,
      headSeq: 6,
    });

    const altered = good.map((e) =>
      e.seq === 3 ? { ...e, canonical: e.canonical.replace('device 2', 'device X') } : e,
    );
    expect(verifyEntries(ORG, altered)).toMatchObject({ ok: false, badSeq: 3, reason: 'hash_mismatch' });

    const deleted = good.filter((e) => e.seq !== 4);
    expect(verifyEntries(ORG, deleted)).toMatchObject({ ok: false, badSeq: 4, reason: 'gap' });

    const swapped = [
      good[0]!,
      good[1]!,
      { ...good[3]!, seq: 3 },
      { ...good[2]!, seq: 4 },
      good[4]!,
      good[5]!,
    ];
    expect(verifyEntries(ORG, swapped)).toMatchObject({ ok: false, badSeq: 3, reason: 'broken_link' });

    // A forged entry with a correct hash, linked to seq 2, pushes the rest down: seq 4 no longer links.
    const forged = sealEntry(
      ORG,
      { seq: 2, hash: good[1]!.hash },
      auditEvents.deviceRevoked(systemActor, { id: 'x' }),
      at,
    );
    const inserted = [
      good[0]!,
      good[1]!,
      { seq: 3, prevHash: forged.fields.prev_hash, hash: forged.hash, canonical: forged.canonical },
      ...good.slice(2).map((e) => ({ ...e, seq: e.seq + 1 })),
    ];
    expect(verifyEntries(ORG, inserted)).toMatchObject({ ok: false, badSeq: 4, reason: 'broken_link' });

    // Renumbering a column without touching the hashed text is caught too.
    const renumbered = good.map((e) =>
      e.seq === 5 ? { ...e, seq: 5, canonical: e.canonical.replace('"seq":5', '"seq":50') } : e,
    );
    expect(verifyEntries(ORG, renumbered).ok).toBe(false);

    // A cut tail is caught by the recorded head.
    expect(verifyEntries(ORG, good.slice(0, 4), { seq: 6, hash: good[5]!.hash })).toMatchObject({
      ok: false,
      reason: 'head_mismatch',
      badSeq: 5,
    });
    // Another org's chain does not verify under this org's genesis.
    expect(verifyEntries('1b6f1f7e-5d3c-4c1a-9e5b-2f4d6a8c0e12', good)).toMatchObject({
      ok: false,
      badSeq: 1,
      reason: 'broken_link',
    });
  });

  it('meta keys named seq or prev_hash cannot confuse the column checks', () => {
    const ev = {
      ...auditEvents.deviceRevoked(systemActor, { id: 'd' }),
      meta: { seq: 99, prev_hash: 'ff', nested: { seq: 1 } },
    };
    const s = sealEntry(ORG, { seq: 0, hash: genesisHash(ORG) }, ev, at);
    expect(
      verifyEntries(ORG, [{ seq: 1, prevHash: s.fields.prev_hash, hash: s.hash, canonical: s.canonical }]).ok,
    ).toBe(true);
  });
});

describe('signed checkpoints', () => {
  const key = signingKeyFromSeed('ony.test/ony-audit', randomBytes(32));

  it('sign and verify in the signed-note format; the verifier key round-trips', () => {
    const note = signCheckpoint({ orgId: ORG, seq: 6, hash: 'ab'.repeat(32), at: at.toISOString() }, key);
    expect(note).toMatch(
      new RegExp(
        `^ony/audit/${ORG}\\n6\\n[A-Za-z0-9+/=]{44}\\ntime 2026-11-23T14:02:03.456Z\\n\\n— ony.test/ony-audit [A-Za-z0-9+/=]{92}\\n$`,
      ),
    );
    const parsed = parseVerifierKey(verifierKey(key.name, key.publicKey));
    expect(openCheckpoint(note, parsed)).toEqual({
      orgId: ORG,
      seq: 6,
      hash: 'ab'.repeat(32),
      at: at.toISOString(),
    });
  });

  it('refuses a forged body, another key and a malformed verifier key', () => {
    const note = signCheckpoint({ orgId: ORG, seq: 6, hash: 'ab'.repeat(32), at: at.toISOString() }, key);
    expect(() => openCheckpoint(note.replace('\n6\n', '\n7\n'), key)).toThrow(/no valid signature/);
    const other = signingKeyFromSeed('ony.test/ony-audit', randomBytes(32));
    expect(() => openCheckpoint(note, other)).toThrow(/no valid signature/);
    const { publicKey } = generateKeyPairSync('ed25519');
    expect(() => parseVerifierKey(verifierKey('x', publicKey).replace('+', '+00'))).toThrow();
    expect(() => parseVerifierKey('garbage')).toThrow(/verifier key/);
  });

  it('a checkpoint proves a rewrite or a cut tail after it was signed', async () => {
    const good = chain(5);
    const cp = signCheckpoint({ orgId: ORG, seq: 4, hash: good[3]!.hash, at: at.toISOString() }, key);
    const pages = async function* (e: StoredEntry[]) {
      yield e;
    };
    expect(
      await verifyChain({ orgId: ORG, pages: pages(good), checkpoints: [cp], keys: [key] }),
    ).toMatchObject({
      ok: true,
      checkpointsVerified: 1,
    });
    // The owner rewrites history from seq 2 on and re-hashes everything: the chain is self-consistent, the checkpoint is not.
    let prev = { seq: 1, hash: good[0]!.hash };
    const rewritten: StoredEntry[] = [good[0]!];
    for (let i = 2; i <= 5; i++) {
      const s = sealEntry(ORG, prev, auditEvents.deviceRevoked(systemActor, { id: `r${i}` }), at);
      rewritten.push({
        seq: s.fields.seq,
        prevHash: s.fields.prev_hash,
        hash: s.hash,
        canonical: s.canonical,
      });
      prev = { seq: s.fields.seq, hash: s.hash };
    }
    expect(verifyEntries(ORG, rewritten).ok).toBe(true);
    expect(
      await verifyChain({ orgId: ORG, pages: pages(rewritten), checkpoints: [cp], keys: [key] }),
    ).toMatchObject({
      ok: false,
      badSeq: 4,
      reason: 'head_mismatch',
    });
    // Cutting the tail below the checkpoint.
    expect(
      await verifyChain({ orgId: ORG, pages: pages(good.slice(0, 2)), checkpoints: [cp], keys: [key] }),
    ).toMatchObject({ ok: false, badSeq: 3 });
  });
});

describe('event builders', () => {
  it('cover every action and copy only allow-listed fields', () => {
    const secret = 'sk_live_' + '4eC39HqLyjWDarjtT1zdp7dc';
    const junk = {
      token: secret,
      password: 'hunter2hunter2',
      totp_secret: 'JBSWY3DPEHPK3PXP',
      phone: '+14155550123',
      payload: 'rm -rf /',
    };
    const assurance: Assurance = {
      level: 'A2',
      channel: 'web',
      session_age_s: 30,
      step_up: 'totp',
      identity: 'sso',
      amr: ['pwd', 'otp'],
      acr: null,
    };
    const actor = { type: 'member' as const, id: 'm1' };
    const events = [
      auditEvents.orgCreated(actor, { id: 'o', name: `Acme ${secret}`, slug: 'acme', ...junk }),
      auditEvents.orgErasureScheduled(actor, { id: 'e', eraseAt: new Date(0), ...junk }),
      auditEvents.orgErasureCancelled(actor, { id: 'e', ...junk }),
      auditEvents.orgDataKeyRotated({ id: 'k', ...junk }, 3),
      auditEvents.memberCreated(actor, { id: 'm', role: 'admin', ...junk }),
      auditEvents.memberInvited(actor, { id: 'i', role: 'member', ...junk }),
      auditEvents.inviteRevoked(actor, { id: 'i', ...junk }),
      auditEvents.inviteAccepted(actor, { id: 'i', ...junk }, { id: 'm', role: 'member', ...junk }),
      auditEvents.memberRoleChanged(actor, { id: 'm', ...junk }, 'viewer', 'admin'),
      auditEvents.memberDeactivated(actor, { id: 'm', ...junk }),
      auditEvents.memberReactivated(actor, { id: 'm', ...junk }),
      auditEvents.memberChannelLinked(actor, { id: 'm', ...junk }, 'slack'),
      auditEvents.memberChannelUnlinked(actor, { id: 'm', ...junk }, 'telegram'),
      auditEvents.memberPhoneVerified(actor, { id: 'm', ...junk }, 'sms'),
      auditEvents.memberProfileUpdated(actor, { id: 'm', ...junk }, { name: 'Bob', phone: '+14155550123' }),
      auditEvents.memberPasswordChanged(actor, { id: 'm', ...junk }),
      auditEvents.memberTotpEnrolled(actor, { id: 'm', ...junk }),
      auditEvents.memberTotpDisabled(actor, { id: 'm', ...junk }),
      auditEvents.memberTotpReset(actor, { id: 'm', ...junk }),
      auditEvents.memberPasswordReset(actor, { id: 'm', ...junk }),
      auditEvents.memberEmailChanged(actor, { id: 'm', ...junk }),
      auditEvents.memberSsoLinked(actor, { id: 'm', ...junk }, 'https://login.example.com'),
      auditEvents.memberProvisioned(systemActor, { id: 'm', role: 'member', ...junk }, 'sso'),
      auditEvents.memberErased(actor, { id: 'm', ...junk }, false),
      auditEvents.ssoConfigured(actor, 'o', {
        issuer: 'https://login.example.com',
        created: true,
        secretChanged: true,
        requireSso: false,
        jitProvisioning: true,
        mappedGroups: 2,
        breakGlassAdmins: 0,
        ...junk,
      }),
      auditEvents.ssoRemoved(actor, 'o'),
      auditEvents.deviceCreated(actor, { id: 'd', name: `laptop ${secret}`, ...junk }),
      auditEvents.deviceRenamed(actor, { id: 'd', name: `Authorization: Bearer ${secret}`, ...junk }),
      auditEvents.deviceRevoked(actor, { id: 'd', ...junk }),
      auditEvents.policyUpdated(actor, 'o', ['risk_policy']),
      auditEvents.retentionUpdated(actor, 'o', 30, 7),
      auditEvents.retentionSwept('o', {
        retentionDays: 7,
        cutoff: new Date(0),
        removed: 3,
        batches: 1,
        ...junk,
      }),
      auditEvents.handoffCreated(
        actor,
        {
          id: 'h',
          shortCode: 'ABC234',
          actionType: 'shell.exec',
          riskLevel: 'high',
          riskReasons: ['destructive_delete'],
          requiredApprovals: 1,
          ...junk,
        },
        'ab'.repeat(32),
      ),
      auditEvents.handoffEscalated({ id: 'h', ...junk }, 0, 'sms', 3, {
        outcome: 'skipped',
        skipped: 3,
        skipReason: 'rate_limited',
      }),
      auditEvents.handoffApprovalRecorded(
        actor,
        { id: 'h', ...junk },
        { option: 'approve', channel: 'web', received: 1, required: 2, assurance: { ...assurance, ...junk } },
      ),
      auditEvents.handoffDecided(
        actor,
        { id: 'h', ...junk },
        { option: 'approve', outcome: 'approved', channel: 'web', assurance: { ...assurance, ...junk } },
      ),
      auditEvents.handoffDecidedByPolicy(
        { id: 'h', riskLevel: 'low', ...junk },
        { option: 'approve', outcome: 'approved', rule: 'allow' },
      ),
      auditEvents.handoffStepUpFailed(actor, { id: 'h', ...junk }, { channel: 'phone', attempts: 3 }),
      auditEvents.handoffExpired({ id: 'h', ...junk }),
      auditEvents.handoffCancelled(actor, { id: 'h', ...junk }),
      auditEvents.handoffExtended(
        actor,
        { id: 'h', ...junk },
        { from: new Date('2026-12-07T10:15:00Z'), to: new Date('2026-12-07T10:45:00Z') },
      ),
      auditEvents.channelTested(actor, 'slack', 'sent'),
      auditEvents.exportRequested(actor, { id: 'x', scope: 'org', ...junk }),
      auditEvents.exportDownloaded(actor, { id: 'x', scope: 'member', ...junk }),
      auditEvents.auditExported(actor, {
        action: 'handoff.decided',
        actorId: null,
        from: null,
        to: null,
        ...junk,
      }),
      auditEvents.memberPasskeyAdded(actor, { id: 'm', ...junk }, { id: 'pk', name: 'YubiKey 5', ...junk }),
      auditEvents.memberPasskeyRemoved(actor, { id: 'm', ...junk }, { id: 'pk', ...junk }),
      auditEvents.memberPasskeysReset(actor, { id: 'm', ...junk }, 2),
      auditEvents.channelCredentialsSet(actor, 'o', {
        kind: 'telephony',
        provider: 'twilio',
        created: true,
        ...junk,
      }),
      auditEvents.channelCredentialsRemoved(actor, 'o', 'telegram'),
      auditEvents.slackInstalled(actor, { id: 'T0123', ...junk }, false),
      auditEvents.slackUninstalled(actor, { id: 'T0123', ...junk }, 'tokens_revoked'),
    ];
    expect(new Set(events.map((e) => e.action))).toEqual(new Set(AUDIT_ACTIONS));
    for (const e of events) {
      const text = canonicalize(e);
      for (const value of [secret, ...Object.values(junk)])
        expect(text, `${e.action} leaks ${value}`).not.toContain(value);
    }
    expect(events.find((e) => e.action === 'member.profile_updated')!.meta).toEqual({
      fields: ['name', 'phone'],
    });
  });
});

describe('entry templates (the database fills seq and prev_hash in)', () => {
  it('reassemble to exactly the canonical text sealEntry makes, whatever meta holds', async () => {
    const { entryTemplate } = await import('./entry.js');
    const prev = { seq: 41, hash: 'cd'.repeat(32) };
    const ev = {
      ...auditEvents.deviceRevoked(systemActor, { id: 'd' }),
      meta: { seq: '@@seq-x@@', prev_hash: '"quoted"', n: 1.5 },
    };
    const t = entryTemplate(ORG, ev, at, 'x');
    const sealed = sealEntry(ORG, prev, ev, at);
    expect(`${t.before}${prev.hash}${t.middle}${prev.seq + 1}${t.after}`).toBe(sealed.canonical);
  });
});

describe('the worked example in docs/audit.md', () => {
  it('has the genesis, canonical text and hashes the page shows', () => {
    const org = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
    expect(genesisHash(org)).toBe('99808ea2fe9a2c4be424adad5ed3e0a6036cbe387ad454382679b0d8866e7079');
    const e1 = sealEntry(
      org,
      { seq: 0, hash: genesisHash(org) },
      auditEvents.orgCreated(systemActor, { id: org, name: 'Acme', slug: 'acme' }),
      at,
    );
    expect(Buffer.byteLength(e1.canonical)).toBe(345);
    expect(e1.hash).toBe('993731db95acc2af781f05b77f222c2deaa11f267712dc8304be4b2c86dffdf6');
    const e2 = sealEntry(
      org,
      { seq: 1, hash: e1.hash },
      auditEvents.deviceCreated(
        { type: 'member', id: 'f47ac10b-58cc-4372-a567-0e02b2c3d479' },
        { id: '9b2e4c1a-0d3f-4a5b-8c6d-7e8f9a0b1c2d', name: 'ci-runner' },
      ),
      new Date('2026-11-23T14:05:00.000Z'),
    );
    expect(e2.hash).toBe('cf307260551fd53860d292e54ad8df0389f97d0526cdbc9ebd7df31606e910a3');
    const key = signingKeyFromSeed('ony.example.com/ony-audit', Buffer.alloc(32, 1));
    expect(verifierKey(key.name, key.publicKey)).toBe(
      'ony.example.com/ony-audit+fbc01508+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c',
    );
  });
});
