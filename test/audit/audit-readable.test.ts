/**
 * The readable audit API: names instead of ids (members, devices, handoffs with their short code),
 * erased members as their pseudonym, and the CSV export of the filtered view (formula-safe,
 * recorded in the chain, admin only, never another org's rows).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, as, createOrgWithAdmin, startTestServer, type TestServer } from '../helpers/app.js';
import { createHandoff } from '../helpers/chat.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.close());

interface Entry {
  seq: number;
  action: string;
  actor_type: string;
  actor_id: string | null;
  actor_name: string | null;
  subject_type: string;
  subject_id: string | null;
  subject_name: string | null;
  subject_short_code: string | null;
}

/** Parses RFC 4180 CSV (quoted cells, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe('names instead of ids', () => {
  it('names the device, the member (an erased one by pseudonym) and the handoff with its short code', async () => {
    const admin = await createOrgWithAdmin(t, 'named');
    const dev = await as(t, admin, 'POST', '/v1/admin/devices', { name: 'build-bot' });
    expect(dev.statusCode, dev.body).toBe(201);
    const { token, device } = dev.json<{ token: string; device: { id: string } }>();
    const h = await createHandoff(t, token, {
      action: { type: 'deploy', target: 'production' },
      title: '=HYPERLINK("http://evil.test","x") deploy',
    });
    const bob = await addMember(t, admin, 'bob@named.test', 'member');
    await as(t, admin, 'PATCH', `/v1/admin/members/${bob.memberId}`, { role: 'viewer' });
    const erased = await as(t, admin, 'DELETE', `/v1/admin/members/${bob.memberId}`);
    expect(erased.statusCode, erased.body).toBeLessThan(300);

    const res = await as(t, admin, 'GET', '/v1/admin/audit?limit=500');
    expect(res.statusCode, res.body).toBe(200);
    const entries = res.json<{ entries: Entry[] }>().entries;

    const created = entries.find((e) => e.action === 'handoff.created')!;
    expect(created).toMatchObject({
      actor_type: 'device',
      actor_id: device.id,
      actor_name: 'build-bot',
      subject_type: 'handoff',
      subject_id: h.id,
      subject_short_code: h.short_code,
    });
    expect(created.subject_name).toContain('deploy');

    const deviceCreated = entries.find((e) => e.action === 'device.created' && e.subject_id === device.id)!;
    expect(deviceCreated).toMatchObject({ actor_name: 'Admin of named', subject_name: 'build-bot' });

    const roleChanged = entries.find((e) => e.action === 'member.role_changed')!;
    expect(roleChanged.subject_name).toBe(`Erased member ${bob.memberId.slice(0, 8)}`);
    expect(JSON.stringify(entries)).not.toContain('bob');
  });
});

describe('CSV export of the filtered view', () => {
  it('streams every matching entry with names, formula-safe, and records the export', async () => {
    const admin = await createOrgWithAdmin(t, 'csv');
    const dev = await as(t, admin, 'POST', '/v1/admin/devices', { name: '@evil-device' });
    const { token } = dev.json<{ token: string }>();
    const h = await createHandoff(t, token, {
      action: { type: 'deploy', target: 'production' },
      title: '=cmd|calc, "quoted"',
    });

    const res = await as(t, admin, 'GET', '/v1/admin/audit/csv?action=handoff.created');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="audit.csv"');
    const [header, ...rows] = parseCsv(res.body);
    expect(header).toEqual([
      'seq',
      'at',
      'actor_type',
      'actor_id',
      'actor',
      'action',
      'subject_type',
      'subject_id',
      'subject_short_code',
      'subject',
      'details',
      'hash',
    ]);
    // Only the filtered action, and every cell a formula would start is defused.
    expect(rows).toHaveLength(1);
    const row = Object.fromEntries(header!.map((k, i) => [k, rows[0]![i]]));
    expect(row).toMatchObject({
      action: 'handoff.created',
      actor: "'@evil-device",
      subject_short_code: h.short_code,
      subject_id: h.id,
    });
    expect(row.subject!.startsWith("'=")).toBe(true);
    expect(row.subject).toContain('"quoted"');

    const all = (await as(t, admin, 'GET', '/v1/admin/audit?action=audit.exported')).json<{
      entries: (Entry & { meta: Record<string, unknown> })[];
    }>().entries;
    expect(all).toHaveLength(1);
    expect(all[0]!.meta).toEqual({ action: 'handoff.created', actor_id: null, from: null, to: null });
    expect(all[0]!.actor_id).toBe(admin.memberId);
  });

  it('exports every entry of the view, newest first, the export itself included', async () => {
    const admin = await createOrgWithAdmin(t, 'csv-pages');
    for (let i = 0; i < 6; i++) await as(t, admin, 'POST', '/v1/admin/devices', { name: `d${i}` });
    const list = (await as(t, admin, 'GET', '/v1/admin/audit?limit=500')).json<{ entries: Entry[] }>();
    const res = await as(t, admin, 'GET', '/v1/admin/audit/csv');
    const rows = parseCsv(res.body).slice(1);
    // The export's own entry is the newest row.
    expect(rows.length).toBe(list.entries.length + 1);
    expect(rows[0]![5]).toBe('audit.exported');
    expect(rows.map((r) => Number(r[0]))).toEqual([...rows.map((r) => Number(r[0]))].sort((a, b) => b - a));
  });

  it('a viewer or member gets 403, another org sees none of it, bad filters change nothing', async () => {
    const admin = await createOrgWithAdmin(t, 'csv-own');
    await as(t, admin, 'POST', '/v1/admin/devices', { name: 'secret-device-name' });
    const viewer = await addMember(t, admin, 'v@csv-own.test', 'viewer');
    const member = await addMember(t, admin, 'm@csv-own.test', 'member');
    expect((await as(t, viewer, 'GET', '/v1/admin/audit/csv')).statusCode).toBe(403);
    expect((await as(t, member, 'GET', '/v1/admin/audit/csv')).statusCode).toBe(403);

    const other = await createOrgWithAdmin(t, 'csv-other');
    const foreign = await as(t, other, 'GET', `/v1/admin/audit/csv?actor_id=${admin.memberId}`);
    expect(foreign.statusCode).toBe(200);
    expect(parseCsv(foreign.body)).toHaveLength(1); // the header only
    expect(foreign.body).not.toContain('secret-device-name');
    const list = await as(t, other, 'GET', `/v1/admin/audit?actor_id=${admin.memberId}`);
    expect(list.json<{ entries: Entry[] }>().entries).toEqual([]);

    const before = (await as(t, admin, 'GET', '/v1/admin/audit?limit=500')).json<{ entries: Entry[] }>()
      .entries.length;
    for (const q of ['action=nope', 'from=yesterday', 'limit=5', 'before_seq=3']) {
      const bad = await as(t, admin, 'GET', `/v1/admin/audit/csv?${q}`);
      expect(bad.statusCode, q).toBe(400);
      expect(bad.headers['content-type']).toContain('application/problem+json');
    }
    const after = (await as(t, admin, 'GET', '/v1/admin/audit?limit=500')).json<{ entries: Entry[] }>()
      .entries.length;
    expect(after).toBe(before);
  });
});
