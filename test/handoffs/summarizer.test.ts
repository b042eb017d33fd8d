/**
 * The optional payload summarizer end to end (docs/summarizer.md, issue #22 §5): the real server
 * (container, jobs, database) asks the fake OpenAI-compatible model (test/fakes/openai.ts) in the
 * first escalation step, and sends through the real Slack and Telegram clients to their fakes.
 *   - egress: the request the model receives holds none of the secrets seeded in the payload, title
 *     and summary (several kinds), only their redaction markers;
 *   - a good answer is stored with its source and shown labelled in Slack, Telegram and the API;
 *   - markup, a URL, code, five sentences, an AWS key, a GitHub token, an HTTP 500 and a model that
 *     never answers are each refused: the deterministic gist alone is sent and the source says so.
 * Each case waits for the channel message (the event after the fallback), never for a clock.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeModel, type FakeModel, type ModelReply } from '../fakes/openai.js';
import { startFakeSlack, type FakeSlack, type SlackUser } from '../fakes/slack.js';
import { startFakeTelegram, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';
import {
  addMember,
  as,
  createOrgWithAdmin,
  startTestServer,
  type Actor,
  type TestServer,
} from '../helpers/app.js';

const TEAM = 'T0FAKE001';
const SLACK_ALICE: SlackUser = { teamId: TEAM, userId: 'U0ALICE01', name: 'alice.s' };
const TG_TOKEN = '7000003:AAHfakeTokenForSummarizerTest_012345';
const TG_SECRET = 'summarizer-webhook-secret_0123456789';
const TG_ALICE: FakeUser = { id: 3001, first_name: 'Alice', username: 'alice_sum' };
const MODEL_KEY = 'sk-test-summarizer-key-0123456789';

// Secrets of several kinds, built at run time so no scanner flags this file.
const AWS_KEY = 'AKIA' + 'QWERTYUIOPASDFGH';
const GH_TOKEN = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
const SLACK_TOKEN = 'xoxb-' + '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
const GITLAB_TOKEN = 'glpat-' + 'AbCdEfGhIjKlMnOpQrSt';
const PASSWORD = 'hunter2-Very-Secret-Passw0rd';
const PEM = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
  'VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK',
  '-----END RSA PRIVATE KEY-----',
].join('\n');
const SECRETS = [
  AWS_KEY,
  GH_TOKEN,
  SLACK_TOKEN,
  GITLAB_TOKEN,
  PASSWORD,
  'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgO',
];

const GOOD =
  'Pushes two commits to the main branch of the billing repository. They change how invoices are rounded.';

/** What the fake model answers, by the case named in the handoff's title (`case:<name>`). */
const ANSWERS: Readonly<Record<string, ModelReply>> = {
  good: { content: GOOD },
  markup: { content: '**Pushes** two commits to <b>main</b>.' },
  url: { content: 'Pushes two commits; details at https://evil.example/approve now.' },
  code: { content: 'Runs `git push --force origin main` on the repository.' },
  sentences: { content: 'It pushes. It deploys. It migrates. It restarts. It notifies.' },
  aws: { content: `Uploads the build with the key ${AWS_KEY} to the bucket.` },
  github: { content: `Pushes with the token ${GH_TOKEN} to the repository.` },
  http500: { status: 500, message: 'The server had an error while processing your request.' },
  timeout: { hang: true },
};

let model: FakeModel;
let slack: FakeSlack;
let telegram: FakeTelegram;
let t: TestServer;
let admin: Actor;
let alice: Actor;
let deviceToken: string;

async function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function createHandoff(title: string, extra: Record<string, unknown> = {}) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/handoffs',
    headers: { authorization: `Bearer ${deviceToken}` },
    payload: { action: { type: 'deploy', target: 'staging' }, title, ...extra },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; short_code: string; summary_source: unknown; model_summary: unknown }>();
}

/** The Slack channel message and the Telegram DM of a handoff, once its escalation steps sent them. */
async function sentFor(handoffId: string): Promise<{ slack: string; telegram: string }> {
  const refs = await eventually(async () => {
    const rows = (
      await sql<{ channel: string; ref: string; member_id: string | null }>`
        select channel, ref, member_id from channel_messages where handoff_id = ${handoffId}`.execute(
        t.database.db,
      )
    ).rows;
    const s = rows.find((r) => r.channel === 'slack' && r.member_id === null);
    const tg = rows.find((r) => r.channel === 'telegram');
    return s !== undefined && tg !== undefined ? { slack: s.ref, telegram: tg.ref } : undefined;
  });
  const [chatId, messageId] = refs.telegram.split(':').map(Number) as [number, number];
  return {
    slack: JSON.stringify(slack.messages.get(refs.slack)!.blocks),
    telegram: telegram.message(chatId, messageId)!.text,
  };
}

const viewOf = async (id: string) => {
  const res = await t.app.inject({
    method: 'GET',
    url: `/v1/handoffs/${id}`,
    headers: { authorization: `Bearer ${deviceToken}` },
  });
  expect(res.statusCode).toBe(200);
  return res.json<{ summary_source: string | null; model_summary: string | null }>();
};

beforeAll(async () => {
  model = await startFakeModel({ apiKey: MODEL_KEY });
  model.reply((req) => {
    const user = req.messages.find((m) => m.role === 'user')?.content ?? '';
    const name = /case:([a-z0-9]+)/.exec(user)?.[1] ?? 'good';
    return ANSWERS[name] ?? { content: GOOD };
  });
  slack = await startFakeSlack();
  telegram = await startFakeTelegram(TG_TOKEN);
  t = await startTestServer({
    ONY_SLACK_BOT_TOKEN: slack.botToken,
    ONY_SLACK_SIGNING_SECRET: slack.signingSecret,
    ONY_SLACK_CHANNEL: '#approvals',
    ONY_SLACK_API_URL: slack.apiUrl,
    ONY_TELEGRAM_BOT_TOKEN: TG_TOKEN,
    ONY_TELEGRAM_API_ROOT: telegram.url,
    ONY_TELEGRAM_MODE: 'webhook',
    ONY_TELEGRAM_WEBHOOK_SECRET: TG_SECRET,
    ONY_SUMMARIZER_URL: model.url,
    ONY_SUMMARIZER_API_KEY: MODEL_KEY,
    ONY_SUMMARIZER_MODEL: 'test-model',
    // The hanging model is given up on after this; the test waits for the message, not the time.
    ONY_SUMMARIZER_TIMEOUT_MS: '1500',
  });
  const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  telegram.resolve('ony.test', base);
  admin = await createOrgWithAdmin(t, 'sumorg');
  alice = await addMember(t, admin, 'alice@sumorg.test', 'member');
  deviceToken = (await as(t, admin, 'POST', '/v1/admin/devices', { name: 'agent' })).json<{ token: string }>()
    .token;
  const slackCode = await as(t, alice, 'POST', '/v1/me/channel-links/codes', { channel: 'slack' });
  const linked = await t.container.channelActions.linkWithCode(
    'slack',
    slackCode.json<{ code: string }>().code,
    `${SLACK_ALICE.teamId}:${SLACK_ALICE.userId}`,
    SLACK_ALICE.name,
  );
  expect(linked.ok).toBe(true);
  const tgCode = await as(t, alice, 'POST', '/v1/me/channel-links/codes', { channel: 'telegram' });
  await telegram.say(TG_ALICE, `/start ${tgCode.json<{ code: string }>().code}`);
  // The secrets make the first handoff riskier than medium: every level asks the same way.
  const level = {
    rule: 'approve',
    steps: [
      { after_s: 0, channel: 'slack', targets: 'all' },
      { after_s: 0, channel: 'telegram', targets: 'all' },
    ],
  };
  const put = await as(t, admin, 'PUT', '/v1/admin/policies', {
    escalation_policy: { levels: { low: level, medium: level, high: level, critical: level } },
  });
  expect(put.statusCode, put.body).toBe(200);
}, 240_000);

afterAll(async () => {
  await t?.close();
  await slack?.close();
  await telegram?.close();
  await model?.close();
});

describe('the payload summarizer', () => {
  it('sends the model only redacted text: no secret of the payload, title or summary leaves', async () => {
    const before = model.completions().length;
    const payload = [
      `export AWS_ACCESS_KEY_ID=${AWS_KEY}`,
      `git push https://x-access-token:${GH_TOKEN}@github.com/acme/billing.git main`,
      `curl -H "Authorization: Bearer ${SLACK_TOKEN}" https://slack.com/api/chat.postMessage`,
      `GITLAB_TOKEN=${GITLAB_TOKEN} ./release.sh`,
      `password = "${PASSWORD}"`,
      PEM,
    ].join('\n');
    const h = await createHandoff(`case:good push with ${GH_TOKEN}`, {
      summary: `uses ${AWS_KEY} and ${SLACK_TOKEN}`,
      payload: { kind: 'command', content: payload },
    });
    // Create answers before any summary exists: it never waits for the model.
    expect(h.summary_source).toBeNull();
    await sentFor(h.id);
    const requests = model.completions().slice(before);
    expect(requests.length).toBeGreaterThanOrEqual(1);
    for (const req of requests) {
      expect(req.headers.authorization).toBe(`Bearer ${MODEL_KEY}`);
      expect(req.body?.model).toBe('test-model');
      for (const secret of SECRETS) expect(req.raw).not.toContain(secret);
      expect(req.raw).toContain('[REDACTED:');
      // Only the redacted text of the request: never the target, the ids or the callback.
      expect(req.raw).not.toContain(h.id);
      expect(req.raw).not.toContain('staging');
    }
  });

  it('shows a good answer labelled in Slack, Telegram and the API, and stores it with its source', async () => {
    const h = await createHandoff('case:good rounding change');
    const sent = await sentFor(h.id);
    expect(sent.slack).toContain(`Summary (model): ${GOOD}`);
    expect(sent.telegram).toContain(`Summary (model): ${GOOD}`);
    // The gist stays beside it.
    expect(sent.slack).toContain('MEDIUM risk deploy: case:good rounding change');
    expect(sent.telegram).toContain('MEDIUM risk deploy: case:good rounding change');
    expect(await viewOf(h.id)).toMatchObject({ summary_source: 'model', model_summary: GOOD });
    const row = (
      await sql<{ summary_source: string; model_summary: string }>`
        select summary_source, model_summary from handoffs where id = ${h.id}`.execute(t.database.db)
    ).rows[0]!;
    expect(row).toEqual({ summary_source: 'model', model_summary: GOOD });
  });

  it.each(['markup', 'url', 'code', 'sentences', 'aws', 'github', 'http500', 'timeout'])(
    'refuses a model answering %s: the deterministic gist alone is sent',
    async (name) => {
      const before = model.completions().length;
      const h = await createHandoff(`case:${name} refused answer`);
      const sent = await sentFor(h.id);
      for (const text of [sent.slack, sent.telegram]) {
        expect(text).not.toContain('Summary (model)');
        expect(text).toContain(`MEDIUM risk deploy: case:${name} refused answer`);
        expect(text).not.toContain(AWS_KEY);
        expect(text).not.toContain(GH_TOKEN);
        expect(text).not.toContain('evil.example');
      }
      expect(await viewOf(h.id)).toMatchObject({ summary_source: 'deterministic', model_summary: null });
      const asked = model.completions().slice(before);
      expect(asked.length).toBeGreaterThanOrEqual(1);
      // The hanging model got no answer out: the server gave up on it.
      if (name === 'timeout') expect(asked.every((r) => r.status === 0)).toBe(true);
      expect(
        t.logs.some(
          (l) =>
            l.msg === 'summarizer fell back to the gist' &&
            typeof l.summarizer === 'object' &&
            l.summarizer !== null,
        ),
      ).toBe(true);
    },
    30_000,
  );

  it('never logs the model reply or the request', () => {
    const logged = JSON.stringify(t.logs);
    expect(logged).not.toContain(GOOD);
    for (const secret of SECRETS) expect(logged).not.toContain(secret);
  });

  it('keeps the summary on a later step instead of asking again', async () => {
    const h = await createHandoff('case:good asked once');
    await sentFor(h.id);
    const asked = model.completions().filter((r) => r.raw.includes('asked once')).length;
    const view = await viewOf(h.id);
    expect(view.summary_source).toBe('model');
    // Both steps ran at the same time, so at most both asked; the stored one is the first answer.
    expect(asked).toBeGreaterThanOrEqual(1);
    expect(asked).toBeLessThanOrEqual(2);
  });
});
