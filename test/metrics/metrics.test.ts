/**
 * /metrics (docs/privacy.md): off by default, behind a bearer token or on a separate listener, and
 * every label value is one of its closed enums. The traffic below carries secrets, phone numbers
 * and ids in titles, payloads, paths and query strings; none of it may appear in the exposition.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DECISION_CHANNELS,
  DECISION_OUTCOMES,
  ESCALATION_CHANNELS,
  ESCALATION_OUTCOMES,
  HTTP_METHODS,
  RISK_LEVEL_LABELS,
  STATUS_CLASSES,
  UNMATCHED_ROUTE,
} from '../../src/core/metrics/labels.js';
import { startMetricsListener } from '../../src/features/metrics/metrics.routes.js';
import { as, createOrgWithAdmin, startTestServer, type Actor, type TestServer } from '../helpers/app.js';

const TOKEN = 'metrics-token-0123456789abcdef';
const SECRET = 'sk_live_METRICSSECRET9f8e7d6c5b4a';
const PHONE = '+15557654321';

let t: TestServer;
let admin: Actor;
let device: { token: string; id: string };

beforeAll(async () => {
  t = await startTestServer({ ONY_METRICS_TOKEN: TOKEN });
  admin = await createOrgWithAdmin(t, 'metrics-org');
  const r = (await as(t, admin, 'POST', '/v1/admin/devices', { name: `dev ${PHONE}` })).json<{
    token: string;
    device: { id: string };
  }>();
  device = { token: r.token, id: r.device.id };
});
afterAll(async () => t?.close());

const create = (body: Record<string, unknown>) =>
  t.app.inject({
    method: 'POST',
    url: `/v1/handoffs?note=${encodeURIComponent(PHONE)}`,
    headers: { authorization: `Bearer ${device.token}` },
    payload: body,
  });

const scrape = () =>
  t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });

/** Every `name{label="value",…}` sample line, parsed. */
function samples(text: string): { name: string; labels: Record<string, string> }[] {
  const out: { name: string; labels: Record<string, string> }[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (m === null) throw new Error(`unparsable sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels });
  }
  return out;
}

describe('/metrics', () => {
  it('answers 401 without the token or with a wrong one, in the Prometheus text format with it', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const wrong = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${TOKEN}x` },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toMatch(/^Bearer/);
    const ok = await scrape();
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(ok.body).toContain('# TYPE ony_http_request_duration_seconds histogram');
  });

  it('labels are closed enums: traffic full of secrets, phone numbers and ids leaves none of them', async () => {
    const ids: string[] = [admin.orgId, admin.memberId, device.id];
    const body = (title: string, content: string, type = 'deploy', kind = 'text') => ({
      action: { type, target: `host-${PHONE}` },
      title,
      summary: `call ${PHONE} with ${SECRET}`,
      payload: { kind, content },
      context: { host: `h-${PHONE}` },
    });
    // A secret in the payload (high), a routine one (low: approved by the default policy), and two
    // critical ones (pending, escalated on the console).
    const high = (await create(body(`deploy ${SECRET}`, `token=${SECRET}`))).json<{ id: string }>();
    const low = (
      await create({
        action: { type: 'shell.exec' },
        title: `list ${PHONE}`,
        payload: { kind: 'command', content: 'ls -la' },
      })
    ).json<{ id: string; status: string }>();
    expect(low.status).toBe('approved');
    const crit = (await create(body(`wipe ${PHONE}`, 'rm -rf /', 'shell.exec', 'command'))).json<{
      id: string;
      status: string;
    }>();
    expect(crit.status).toBe('pending');
    const crit2 = (await create(body(`drop ${SECRET}`, 'rm -rf /', 'shell.exec', 'command'))).json<{
      id: string;
    }>();
    ids.push(high.id, low.id, crit.id, crit2.id);
    expect(
      (await as(t, admin, 'POST', `/v1/handoffs/${crit.id}/decision`, { decision: 'deny' })).statusCode,
    ).toBe(200);
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/v1/handoffs/${crit2.id}/cancel`,
      headers: { authorization: `Bearer ${device.token}` },
    });
    expect(cancel.statusCode).toBeLessThan(500);
    // Unknown paths and foreign ids carrying secrets.
    await t.app.inject({ method: 'GET', url: `/v1/${SECRET}/${PHONE}` });
    await as(t, admin, 'GET', `/v1/handoffs/${crit.id}?q=${SECRET}`);
    await t.app.inject({ method: 'PROPFIND' as 'GET', url: `/x/${PHONE}` });
    // Escalation runs as a job: wait until the console step of the critical handoffs is counted.
    let text = '';
    for (let i = 0; i < 60; i++) {
      text = (await scrape()).body;
      if (/ony_escalation_attempts_total\{channel="console",outcome="sent"\} [1-9]/.test(text)) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    const all = samples(text);
    const enums: Record<string, readonly string[]> = {
      method: HTTP_METHODS,
      status_class: STATUS_CLASSES,
      risk_level: RISK_LEVEL_LABELS,
      outcome: [...DECISION_OUTCOMES, ...ESCALATION_OUTCOMES],
      channel: [...DECISION_CHANNELS, ...ESCALATION_CHANNELS],
    };
    const routes = new Set([...t.container.metrics.routes, UNMATCHED_ROUTE]);
    const seen = new Set<string>();
    for (const s of all.filter((x) => x.name.startsWith('ony_') && !x.name.startsWith('ony_process_'))) {
      for (const [k, v] of Object.entries(s.labels)) {
        seen.add(k);
        if (k === 'le' || k === 'quantile') expect(v).toMatch(/^(\+Inf|[0-9.e+-]+)$/);
        else if (k === 'route') expect(routes.has(v), `route ${v}`).toBe(true);
        else if (k === 'queue')
          expect(v).toMatch(
            /^(handoff-[a-z]+|mail-[a-z-]+|export-prepare|org\.erase|retention-sweep|other)$/,
          );
        else if (enums[k] !== undefined) expect(enums[k], `${s.name} ${k}=${v}`).toContain(v);
        // Node's runtime metrics (version, GC kind, heap space): fixed by the runtime, checked below too.
        else expect(['version', 'major', 'minor', 'patch', 'kind', 'space', 'type']).toContain(k);
      }
    }
    for (const k of ['route', 'method', 'status_class', 'risk_level', 'outcome', 'channel'])
      expect(seen).toContain(k);
    // What the traffic did, counted under the right enum values.
    expect(text).toMatch(/ony_handoffs_created_total\{risk_level="low"\} [1-9]/);
    expect(text).toMatch(/ony_handoffs_created_total\{risk_level="high"\} [1-9]/);
    expect(text).toMatch(/ony_handoffs_created_total\{risk_level="critical"\} [2-9]/);
    expect(text).toMatch(/ony_handoff_decisions_total\{outcome="approved",channel="policy"\} [1-9]/);
    expect(text).toMatch(/ony_handoff_decisions_total\{outcome="denied",channel="web"\} [1-9]/);
    expect(text).toMatch(/ony_handoff_decisions_total\{outcome="cancelled",channel="agent"\} [1-9]/);
    expect(text).toContain('route="/v1/handoffs/:id/decision",method="POST",status_class="2xx"');
    expect(text).toContain(`route="${UNMATCHED_ROUTE}",method="other",status_class="4xx"`);
    // And nothing of the traffic itself.
    for (const id of ids) expect(text).not.toContain(id);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('METRICSSECRET');
    expect(text).not.toContain(PHONE);
    expect(text).not.toContain('5557654321');
    expect(text).not.toContain('metrics-org');
  });
});

describe('off by default, or on a separate listener', () => {
  it('without configuration there is no /metrics (404)', async () => {
    const plain = await startTestServer();
    try {
      expect((await plain.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    } finally {
      await plain.close();
    }
  });

  it('ONY_METRICS_LISTEN serves /metrics there (token required when set), not on the main listener', async () => {
    const s = await startTestServer({ ONY_METRICS_LISTEN: '127.0.0.1:0', ONY_METRICS_TOKEN: TOKEN });
    let server: Server | undefined;
    try {
      expect(
        (
          await s.app.inject({
            method: 'GET',
            url: '/metrics',
            headers: { authorization: `Bearer ${TOKEN}` },
          })
        ).statusCode,
      ).toBe(404);
      server = await startMetricsListener(s.container.metrics, {
        ...s.container.config.metrics,
        listen: s.container.config.metrics.listen!,
      });
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      const ok = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('ony_handoffs_created_total');
      expect((await fetch(`${base}/other`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(
        404,
      );
    } finally {
      server?.close();
      await s.close();
    }
  });
});
