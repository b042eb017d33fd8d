/**
 * The export zip, written entry by entry from one database snapshot. yazl writes entries in the
 * order they were added and reads each entry's stream only when its turn comes, through pipes: so
 * every file is a lazy generator that pulls one keyset page at a time, and a slow reader of the
 * zip slows the page reads down instead of filling memory (flat whatever the org's size).
 */
import { Readable } from 'node:stream';
import { ZipFile } from 'yazl';
import { genesisHash } from '../../core/audit-chain/entry.js';
import type { TenantTx } from '../../db/client.js';
import { maskPhone } from '../../lib/phone.js';
import { getHead, listCheckpoints } from '../audit/audit.repository.js';
import type { Keyring } from '../orgs/keyring.js';
import {
  approvalsPage,
  auditLinesPage,
  countMemberData,
  countOrgData,
  decisionDocsPage,
  handoffDocsPage,
  readChannelIdentities,
  readDevices,
  readInvites,
  readMembers,
  readOrg,
  readPhoneCalls,
  readSsoConfig,
  readSsoIdentities,
  type ExportScope,
} from './export.repository.js';

export const EXPORT_FORMAT = 1;

/** A call record as exported: what happened, never audio (there is none). */
const phoneCall = (c: Awaited<ReturnType<typeof readPhoneCalls>>[number]) => ({
  handoff_id: c.handoff_id,
  provider: c.provider,
  phone: c.phone_masked,
  status: c.status,
  duration_s: c.duration_s,
  outcome: c.outcome,
  ended_at: c.ended_at.toISOString(),
});
const PAGE = 100;
const AUDIT_PAGE = 250;

export interface ArchiveInput {
  readonly tx: TenantTx;
  readonly keyring: Pick<Keyring, 'decrypt'>;
  readonly exportId: string;
  readonly scope: ExportScope;
  /** The member who asked (and, for a member export, whose data it is). */
  readonly memberId: string;
  readonly now: Date;
  /** Every audit checkpoint verifier key (C2SP note format) the server used, to verify audit.jsonl with. */
  readonly verifierKeys: readonly string[];
  /** Channels this server is configured with (names only, no credentials). */
  readonly channels: readonly string[];
}

const iso = (d: Date | null | undefined): string | null => (d == null ? null : d.toISOString());

/** A JSON array written element by element: one chunk per page. */
async function* jsonArray<T>(pages: AsyncIterable<readonly T[]>): AsyncGenerator<Buffer> {
  let first = true;
  yield Buffer.from('[');
  for await (const page of pages) {
    let chunk = '';
    for (const item of page) {
      chunk += `${first ? '\n' : ',\n'}${JSON.stringify(item)}`;
      first = false;
    }
    if (chunk !== '') yield Buffer.from(chunk);
  }
  yield Buffer.from(first ? ']\n' : '\n]\n');
}

/** A JSON array of objects Postgres already serialised (`{ doc }`): one chunk per page. */
async function* docsArray(pages: AsyncIterable<readonly { readonly doc: string }[]>): AsyncGenerator<Buffer> {
  let first = true;
  yield Buffer.from('[');
  for await (const page of pages) {
    let chunk = '';
    for (const item of page) {
      chunk += `${first ? '\n' : ',\n'}${item.doc}`;
      first = false;
    }
    if (chunk !== '') yield Buffer.from(chunk);
  }
  yield Buffer.from(first ? ']\n' : '\n]\n');
}

/** One page, read when the entry's turn comes. */
async function* once<T>(read: () => Promise<readonly T[]>): AsyncGenerator<readonly T[]> {
  yield await read();
}

const json = (value: unknown): AsyncGenerator<Buffer> =>
  (async function* () {
    yield Buffer.from(`${JSON.stringify(await value, null, 2)}\n`);
  })();

/** Keyset pages: `fetch(after)` answers a page; `key(row)` is the cursor to continue after it. */
async function* keyset<R, K>(
  fetch: (after: K | null) => Promise<R[]>,
  key: (row: R) => K,
  size: number,
): AsyncGenerator<R[]> {
  let after: K | null = null;
  for (;;) {
    const page = await fetch(after);
    if (page.length > 0) yield page;
    if (page.length < size) return;
    after = key(page[page.length - 1]!);
  }
}

/** The audit chain as `ony audit export` writes it: header, checkpoints, entries. */
async function* auditLines(tx: TenantTx): AsyncGenerator<Buffer> {
  const head = await getHead(tx);
  if (head === undefined) throw new Error('the org has no audit chain');
  const checkpoints = await listCheckpoints(tx);
  const header = {
    type: 'chain',
    format: 1,
    org_id: tx.orgId,
    genesis: genesisHash(tx.orgId),
    head_seq: head.seq,
    head_hash: head.hash,
  };
  let text = `${JSON.stringify(header)}\n`;
  for (const c of checkpoints)
    text += `${JSON.stringify({ type: 'checkpoint', seq: c.seq, hash: c.hash, key_name: c.keyName, note: c.note })}\n`;
  yield Buffer.from(text);
  let after = 0;
  while (after < head.seq) {
    const page = await auditLinesPage(tx, after, head.seq, AUDIT_PAGE);
    if (page.length === 0) return;
    yield Buffer.from(`${page.map((e) => e.line).join('\n')}\n`);
    after = page[page.length - 1]!.seq;
  }
}

async function* checkpointNotes(tx: TenantTx): AsyncGenerator<Buffer> {
  for (const c of await listCheckpoints(tx)) yield Buffer.from(`${c.note}\n`);
}

const member = (
  m: Awaited<ReturnType<typeof readMembers>>[number],
  own: boolean,
): Record<string, unknown> => ({
  id: m.id,
  email: m.email,
  name: m.name,
  role: m.role,
  status: m.status,
  // Masked everywhere except in a person's own export (DESIGN.md §3.7).
  phone: m.phone_e164 === null ? null : own ? m.phone_e164 : maskPhone(m.phone_e164),
  totp_enabled: m.totp_enabled_at !== null,
  created_at: iso(m.created_at),
  updated_at: iso(m.updated_at),
  deactivated_at: iso(m.deactivated_at),
});

function approvals(tx: TenantTx, memberId?: string) {
  return keyset(
    async (after: { handoffId: string; memberId: string } | null) =>
      (await approvalsPage(tx, after, PAGE, memberId)).map((a) => ({
        handoff_id: a.handoff_id,
        member_id: a.member_id,
        option: a.option,
        channel: a.channel,
        comment: a.comment,
        at: iso(a.at),
        // docs/assurance.md; null for an approval recorded before migration 0018.
        assurance: a.assurance ?? null,
        handoff: {
          short_code: a.short_code,
          title: a.title,
          action_type: a.action_type,
          risk_level: a.risk_level,
          status: a.status,
        },
      })),
    (a) => ({ handoffId: a.handoff_id, memberId: a.member_id }),
    PAGE,
  );
}

function decisions(tx: TenantTx, memberId?: string) {
  return keyset(
    (after: string | null) => decisionDocsPage(tx, after, PAGE, memberId),
    (d) => d.id,
    PAGE,
  );
}

function handoffs(tx: TenantTx, keyring: Pick<Keyring, 'decrypt'>) {
  return keyset(
    async (after: string | null) => {
      const { rows, payloads } = await handoffDocsPage(tx, after, PAGE);
      const out: { id: string; doc: string }[] = [];
      for (const h of rows) {
        const p = payloads.get(h.id);
        // null: the handoff had none, or retention removed it (then payload_removed_at says when).
        const payload =
          p === undefined
            ? null
            : {
                kind: p.kind,
                content: (await keyring.decrypt(tx, p.enc, `payload:${h.id}`)).toString('utf8'),
              };
        out.push({ id: h.id, doc: `${h.doc.slice(0, -1)}, "payload" : ${JSON.stringify(payload)}}` });
      }
      return out;
    },
    (h) => h.id,
    PAGE,
  );
}

/**
 * Builds the zip. Entries are read lazily, in order, while the caller pipes `outputStream`
 * somewhere; the snapshot transaction must stay open until that pipe has finished.
 */
export interface Archive {
  readonly zip: ZipFile;
  /**
   * Stops every entry still reading and resolves once none is inside a query: call it before the
   * snapshot transaction ends when the zip's reader went away, so no late query reaches a
   * connection that is back in the pool.
   */
  settle(): Promise<void>;
}

export async function buildArchive(input: ArchiveInput): Promise<Archive> {
  const { tx, scope, memberId, now } = input;
  const zip = new ZipFile();
  const opened = new Set<Readable>();
  // yazl does not listen for errors on the entry streams: a failed page read ends the whole zip.
  // @types/yazl says NodeJS.ReadableStream; at run time it is a stream.PassThrough.
  const fail = (err: Error) => (zip.outputStream as Readable).destroy(err);
  zip.on('error', fail);
  // Lazy: the generator starts only when yazl reaches its entry, so one query runs at a time.
  const add = (name: string, body: AsyncGenerator<Buffer>) =>
    zip.addReadStreamLazy(name, { mtime: now }, (cb) => {
      const stream = Readable.from(body, { objectMode: false });
      stream.on('error', fail);
      opened.add(stream);
      cb(null, stream);
    });
  const settle = async () => {
    await Promise.all(
      [...opened].map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.closed) return resolve();
            s.once('close', () => resolve());
            s.destroy();
          }),
      ),
    );
  };
  const counts = scope === 'org' ? await countOrgData(tx) : await countMemberData(tx, memberId);
  const files =
    scope === 'org'
      ? [
          'org.json',
          'members.json',
          'invites.json',
          'devices.json',
          'policies.json',
          'channels.json',
          'handoffs.json',
          'decisions.json',
          'approvals.json',
          'audit.jsonl',
          'audit-checkpoints.txt',
          'audit-verifier-key.txt',
        ]
      : ['profile.json', 'identities.json', 'decisions.json', 'approvals.json'];
  add(
    'manifest.json',
    json({
      format: EXPORT_FORMAT,
      export_id: input.exportId,
      scope,
      org_id: tx.orgId,
      member_id: scope === 'member' ? memberId : undefined,
      exported_at: now.toISOString(),
      counts,
      files,
      verify:
        scope === 'org'
          ? 'ony audit verify --file <this zip> --pubkey "$(cat audit-verifier-key.txt)"; compare the key with /.well-known/ony-audit-key of your server'
          : undefined,
    }),
  );
  if (scope === 'member') {
    const [me] = await readMembers(tx, memberId);
    if (me === undefined) throw new Error('member not found');
    add('profile.json', json(member(me, true)));
    add(
      'identities.json',
      json({
        channels: (await readChannelIdentities(tx, memberId)).map((c) => ({
          channel: c.channel,
          external_id: c.external_id,
          label: c.label,
          created_at: iso(c.created_at),
        })),
        sso: (await readSsoIdentities(tx, memberId)).map((s) => ({
          issuer: s.issuer,
          subject: s.subject,
          created_at: iso(s.created_at),
          last_login_at: iso(s.last_login_at),
        })),
        phone_calls: (await readPhoneCalls(tx, memberId)).map(phoneCall),
      }),
    );
    add('decisions.json', docsArray(decisions(tx, memberId)));
    add('approvals.json', jsonArray(approvals(tx, memberId)));
    zip.end();
    return { zip, settle };
  }
  const { org, settings } = await readOrg(tx);
  add('org.json', json({ id: org.id, name: org.name, slug: org.slug, created_at: iso(org.created_at) }));
  add(
    'members.json',
    jsonArray(once(() => readMembers(tx).then((ms) => ms.map((m) => member(m, m.id === memberId))))),
  );
  add(
    'invites.json',
    jsonArray(
      once(() =>
        readInvites(tx).then((is) =>
          is.map((i) => ({
            id: i.id,
            email: i.email,
            role: i.role,
            invited_by: i.invited_by,
            created_at: iso(i.created_at),
            expires_at: iso(i.expires_at),
            accepted_at: iso(i.accepted_at),
            revoked_at: iso(i.revoked_at),
          })),
        ),
      ),
    ),
  );
  add(
    'devices.json',
    jsonArray(
      once(() =>
        readDevices(tx).then((ds) =>
          ds.map((d) => ({
            id: d.id,
            name: d.name,
            created_by: d.created_by,
            created_at: iso(d.created_at),
            last_seen_at: iso(d.last_seen_at),
            revoked_at: iso(d.revoked_at),
          })),
        ),
      ),
    ),
  );
  add(
    'policies.json',
    json({
      risk_policy: settings?.risk_policy ?? {},
      escalation_policy: settings?.escalation_policy ?? {},
      updated_at: iso(settings?.updated_at),
    }),
  );
  const sso = await readSsoConfig(tx);
  add(
    'channels.json',
    json({
      configured_channels: input.channels,
      sso:
        sso === undefined
          ? null
          : { ...sso, created_at: iso(sso.created_at), updated_at: iso(sso.updated_at) },
      linked_identities: (await readChannelIdentities(tx)).map((c) => ({
        member_id: c.member_id,
        channel: c.channel,
        external_id: c.external_id,
        label: c.label,
        created_at: iso(c.created_at),
      })),
      phone_calls: (await readPhoneCalls(tx)).map((c) => ({ member_id: c.member_id, ...phoneCall(c) })),
    }),
  );
  add('handoffs.json', docsArray(handoffs(tx, input.keyring)));
  add('decisions.json', docsArray(decisions(tx)));
  add('approvals.json', jsonArray(approvals(tx)));
  add('audit.jsonl', auditLines(tx));
  add('audit-checkpoints.txt', checkpointNotes(tx));
  add(
    'audit-verifier-key.txt',
    (async function* () {
      yield Buffer.from(`${input.verifierKeys.join('\n')}\n`);
    })(),
  );
  zip.end();
  return { zip, settle };
}
