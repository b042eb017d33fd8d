import { describe, expect, it } from 'vitest';
import { blockErrors } from '../../../test/fakes/slack.js';
import { expectShown, TROJAN_LABEL, TROJAN_TITLE } from '../../../test/fixtures/trojan-source.js';
import { gist } from '../../core/gist/index.js';
import type { DecisionNotice, OutboundMessage } from '../channel.js';
import { parseInteraction } from './inbound.js';
import {
  cut,
  escapeMrkdwn,
  outcomeLine,
  renderClaim,
  renderDecided,
  renderRequest,
  renderTotpModal,
  SLACK_LIMITS,
} from './render.js';

const ID = '0b6f7c1e-8a43-4f0e-9d2a-3c5b1e7f9a10';

const message = (over: Partial<OutboundMessage> = {}): OutboundMessage => ({
  handoffId: ID,
  shortCode: 'K7QX',
  actionType: 'deploy',
  riskLevel: 'high',
  title: 'Deploy api to production',
  summary: null,
  gist: {
    speech: 's',
    sms: 's',
    chat: 'HIGH risk deploy: Deploy api to production\nWhy: targets production',
  },
  options: [
    { id: 'approve', label: 'Approve' },
    { id: 'deny', label: 'Deny' },
  ],
  link: `https://ony.example/v1/handoffs/${ID}`,
  ...over,
});

const notice = (over: Partial<DecisionNotice> = {}): DecisionNotice => ({
  handoffId: ID,
  shortCode: 'K7QX',
  actionType: 'deploy',
  riskLevel: 'high',
  title: 'Deploy api to production',
  outcome: 'approved',
  option: 'approve',
  by: 'Alice',
  via: 'phone',
  at: new Date('2026-11-23T14:02:31Z'),
  ...over,
});

type AnyBlock = { type: string; text?: { type: string; text: string }; elements?: AnyBlock[] } & Record<
  string,
  unknown
>;

describe('renderRequest', () => {
  it('carries the gist, risk, short code, link and one button per option, valid Block Kit', () => {
    const labelled = JSON.stringify(renderRequest(message({ summary: 'Deploys the api.' })).blocks);
    expect(labelled).toContain('"Summary (model): Deploys the api."');
    expect(labelled).toContain('Why: targets production');
    expect(JSON.stringify(renderRequest(message()).blocks)).not.toContain('Summary (model)');
    const r = renderRequest(message());
    expect(blockErrors(r.blocks)).toEqual([]);
    const blocks = r.blocks as AnyBlock[];
    expect(blocks[0]).toMatchObject({
      type: 'header',
      text: { text: 'Approval needed: Deploy api to production' },
    });
    expect(blocks[1]).toMatchObject({ type: 'section', text: { type: 'plain_text' } });
    expect(JSON.stringify(blocks[2])).toContain('*HIGH* risk · deploy · code *K7QX*');
    const votes = blocks[3]!.elements!;
    expect(votes.map((b) => [b.text!.text, b.style, b.value])).toEqual([
      ['Approve', 'primary', JSON.stringify({ h: ID, o: 'approve' })],
      ['Deny', 'danger', JSON.stringify({ h: ID, o: 'deny' })],
    ]);
    expect(blocks[4]!.elements![0]).toMatchObject({ url: message().link });
    expect(r.text).toBe('Approval needed [K7QX]: HIGH risk deploy: Deploy api to production');
  });

  it("cuts every text to Slack's limits, so nothing is refused for its size", () => {
    const long = 'x'.repeat(5_000);
    const r = renderRequest(
      message({
        title: long,
        gist: { speech: '', sms: '', chat: long },
        options: [
          { id: 'a', label: long },
          { id: 'deny', label: 'Deny' },
        ],
      }),
    );
    expect(blockErrors(r.blocks)).toEqual([]);
    const blocks = r.blocks as AnyBlock[];
    expect([...blocks[0]!.text!.text].length).toBe(SLACK_LIMITS.headerTextChars);
    expect([...blocks[1]!.text!.text].length).toBe(SLACK_LIMITS.sectionTextChars);
    expect([...blocks[3]!.elements![0]!.text!.text].length).toBe(SLACK_LIMITS.buttonTextChars);
    expect(r.text.length).toBeLessThanOrEqual(SLACK_LIMITS.textChars);
  });

  it('keeps what people wrote inert: plain_text, and mrkdwn escaped', () => {
    const r = renderRequest(
      message({ title: '<!channel> <https://evil.example|click>', shortCode: 'A<B', riskLevel: 'high' }),
    );
    const blocks = r.blocks as AnyBlock[];
    expect(blocks[0]!.text!.type).toBe('plain_text');
    expect(JSON.stringify(blocks[2])).toContain('A&lt;B');
    expect(escapeMrkdwn('a & <b> c')).toBe('a &amp; &lt;b&gt; c');
  });

  it('round-trips: a click on a rendered button parses back to the same handoff and option', () => {
    const r = renderRequest(message());
    const button = (r.blocks as AnyBlock[])[3]!.elements![1]!;
    const parsed = parseInteraction({
      type: 'block_actions',
      user: { id: 'U1ALICE', team_id: 'T1TEAM', username: 'alice' },
      team: { id: 'T1TEAM' },
      trigger_id: '1.2.abc',
      channel: { id: 'C1APPROVE' },
      actions: [{ action_id: button.action_id, value: button.value, type: 'button' }],
    });
    expect(parsed).toEqual({
      kind: 'vote',
      person: { identity: 'T1TEAM:U1ALICE', userId: 'U1ALICE', label: 'alice' },
      handoffId: ID,
      option: 'deny',
      triggerId: '1.2.abc',
      channelId: 'C1APPROVE',
    });
  });
});

describe('renderDecided', () => {
  it('"Approved by Alice via phone at 14:02", in the reader\'s time zone, buttons removed', () => {
    const r = renderDecided(notice());
    expect(blockErrors(r.blocks)).toEqual([]);
    expect(r.blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(r.text).toBe('[K7QX] Approved by Alice via phone at 14:02 UTC: Deploy api to production');
    const epoch = Math.floor(notice().at.getTime() / 1000);
    expect(JSON.stringify(r.blocks)).toContain(`<!date^${epoch}^{time}|14:02 UTC>`);
  });

  it('names each outcome, custom options, and the dashboard', () => {
    expect(outcomeLine(notice({ outcome: 'denied', option: 'deny', via: 'web' })).text).toBe(
      'Denied by Alice via the dashboard at 14:02 UTC',
    );
    expect(outcomeLine(notice({ option: 'canary', via: 'slack' })).text).toBe(
      'Approved (canary) by Alice via Slack at 14:02 UTC',
    );
    expect(outcomeLine(notice({ outcome: 'expired', option: null, by: null, via: null })).text).toBe(
      'Expired without a decision at 14:02 UTC',
    );
    expect(outcomeLine(notice({ outcome: 'cancelled', option: null, by: null, via: 'api' })).text).toBe(
      'Cancelled by the agent via the API at 14:02 UTC',
    );
    expect(outcomeLine(notice({ by: '<@U123> *bold*' })).mrkdwn).toContain('&lt;@U123&gt;');
  });
});

describe('modal and claim', () => {
  it('the TOTP modal is a valid view carrying ids only, and its submission parses back', () => {
    const view = renderTotpModal({ handoffId: ID, option: 'approve', channelId: 'C1APPROVE' }, null);
    expect(blockErrors(view.blocks, '/view/blocks')).toEqual([]);
    expect([...view.title.text].length).toBeLessThanOrEqual(SLACK_LIMITS.modalTitleChars);
    expect(JSON.parse(view.private_metadata!)).toEqual({ h: ID, o: 'approve', c: 'C1APPROVE' });
    const parsed = parseInteraction({
      type: 'view_submission',
      user: { id: 'U1ALICE', team_id: 'T1TEAM' },
      view: { ...view, state: { values: { totp: { code: { type: 'plain_text_input', value: '123456' } } } } },
    });
    expect(parsed).toMatchObject({ kind: 'totp', handoffId: ID, option: 'approve', code: '123456' });
  });

  it('the claim message holds the link as a button', () => {
    const r = renderClaim('https://ony.example/link/abc');
    expect(blockErrors(r.blocks)).toEqual([]);
    expect(JSON.stringify(r.blocks)).toContain('"url":"https://ony.example/link/abc"');
  });

  it('cut marks the cut and counts code points', () => {
    expect(cut('abcdef', 4)).toBe('abc…');
    expect([...cut('😀'.repeat(10), 5)].length).toBe(5);
    expect(cut('abc', 3)).toBe('abc');
  });
});

describe('hidden characters (Trojan Source)', () => {
  const trojan = message({
    title: TROJAN_TITLE,
    gist: gist(
      { action: { type: 'shell.exec' }, title: TROJAN_TITLE, summary: '' },
      { level: 'high', reasons: [] },
    ),
    options: [
      { id: 'ship', label: TROJAN_LABEL },
      { id: 'deny', label: 'Deny' },
    ],
  });

  it('shows them as escapes in every text of a request, never applies them', () => {
    const r = renderRequest(trojan);
    expectShown(JSON.stringify(r));
    expectShown(r.text);
    const header = r.blocks[0] as { text: { text: string } };
    expect(header.text.text).toBe('Approval needed: invoice⟨U+202E⟩gnp.exe ⟨U+200B⟩r⟨U+043C⟩ -rf tmp');
    expect(blockErrors(r.blocks)).toEqual([]);
  });

  it('shows them in the decided message too', () => {
    const r = renderDecided(notice({ title: TROJAN_TITLE }));
    expectShown(JSON.stringify(r));
  });

  it('escapes before cutting, and never cuts an escape in half', () => {
    for (let n = 60; n < 75; n++) {
      const label = `${'x'.repeat(n)}\u202E${'y'.repeat(20)}`;
      const button = renderRequest(
        message({
          options: [
            { id: 'a', label },
            { id: 'deny', label: 'Deny' },
          ],
        }),
      ).blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []))[0] as { text: { text: string } };
      expect([...button.text.text].length).toBeLessThanOrEqual(SLACK_LIMITS.buttonTextChars);
      expect(button.text.text).not.toContain('\u202E');
      expect(button.text.text).not.toMatch(/⟨U?\+?[0-9A-F]{0,5}…$/);
    }
  });
});
