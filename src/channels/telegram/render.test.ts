import { describe, expect, it } from 'vitest';
import { parseTelegramHtml } from '../../../test/fakes/telegram.js';
import { expectShown, TROJAN_LABEL, TROJAN_TITLE } from '../../../test/fixtures/trojan-source.js';
import { gist } from '../../core/gist/index.js';
import type { DecisionNotice, InboundRefusal, OutboundMessage } from '../channel.js';
import { decodeDecision } from './callback-data.js';
import {
  decisionAnswer,
  escapeHtml,
  REFUSAL_TEXT,
  renderNotice,
  renderRequest,
  REPLIES,
  TELEGRAM_LIMITS,
} from './render.js';

const HOSTILE = '</code></b><a href="https://evil.example">click</a> & &lt;b&gt; <tg-spoiler>x</tg-spoiler>';

function message(over: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    handoffId: '0b5a3c1e-8d2f-4c7a-9e61-3f2b1a0c9d8e',
    shortCode: 'K7QM',
    actionType: 'shell.exec',
    riskLevel: 'high',
    title: 'unused',
    summary: null,
    gist: {
      speech: 'unused',
      sms: 'unused',
      chat: `HIGH risk shell command: drop the table\n${HOSTILE}\nWhy: it deletes data (destructive)`,
    },
    options: [
      { id: 'approve', label: 'Approve' },
      { id: 'deny', label: 'Deny' },
      { id: 'staging-only', label: 'Only on <staging>' },
    ],
    link: 'https://ony.example/v1/handoffs/0b5a3c1e?x=1&y=2',
    ...over,
  };
}

describe('renderRequest', () => {
  it('shows the gist as literal text: agent text opens no tag and no entity', () => {
    const r = renderRequest(message());
    expect(r.parse_mode).toBe('HTML');
    const parsed = parseTelegramHtml(r.text);
    expect(parsed.text).toContain(HOSTILE);
    expect(parsed.text).toContain('https://ony.example/v1/handoffs/0b5a3c1e?x=1&y=2');
    // Only our own markup: one bold header and the short code.
    expect(parsed.entities.map((e) => e.type)).toEqual(['bold', 'code']);
    expect(parsed.text.slice(parsed.entities[1]!.offset).startsWith('K7QM')).toBe(true);
    expect(parsed.text.length).toBeLessThanOrEqual(TELEGRAM_LIMITS.messageChars);
  });

  it('stays within 4096 characters for the largest gist, even when escaping grows it', () => {
    const r = renderRequest(message({ gist: { speech: '', sms: '', chat: '&'.repeat(1000) } }));
    expect(r.text.length).toBeGreaterThan(TELEGRAM_LIMITS.messageChars);
    expect(parseTelegramHtml(r.text).text.length).toBeLessThanOrEqual(TELEGRAM_LIMITS.messageChars);
  });

  it('has one button per option, whose data names the handoff and the option', () => {
    const r = renderRequest(message());
    const buttons = r.reply_markup.inline_keyboard.flat();
    expect(buttons).toHaveLength(3);
    expect(r.reply_markup.inline_keyboard.map((row) => row.length)).toEqual([2, 1]);
    expect(buttons.map((b) => b.text)).toEqual(['✅ Approve', '❌ Deny', '✅ Only on <staging>']);
    for (const [i, b] of buttons.entries()) {
      const data = 'callback_data' in b ? b.callback_data : '';
      expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
      expect(decodeDecision(data)).toEqual({
        handoffId: '0b5a3c1e-8d2f-4c7a-9e61-3f2b1a0c9d8e',
        option: message().options[i]!.id,
      });
    }
  });

  it('labels a model summary and keeps the gist', () => {
    const text = renderRequest(message({ summary: 'Drops the <old> table.' })).text;
    expect(text).toContain('<b>Summary (model):</b> Drops the &lt;old&gt; table.');
    expect(text).toContain('Why: it deletes data');
    expect(renderRequest(message()).text).not.toContain('Summary (model)');
  });

  it('marks the risk level and reads neither the title nor the action type', () => {
    const r = renderRequest(message({ title: 'TITLE-SENTINEL', actionType: 'ACTION-SENTINEL' }));
    expect(r.text).not.toContain('SENTINEL');
    expect(r.text.startsWith('🟠')).toBe(true);
    expect(renderRequest(message({ riskLevel: 'critical' })).text.startsWith('🔴')).toBe(true);
  });
});

describe('renderNotice', () => {
  const notice: DecisionNotice = {
    handoffId: '0b5a3c1e-8d2f-4c7a-9e61-3f2b1a0c9d8e',
    shortCode: 'K7QM',
    actionType: 'shell.exec',
    riskLevel: 'high',
    title: 'rotate AKIAZ7VRSQ5TJ2K3Q4MN <b>now</b>',
    outcome: 'approved',
    option: 'approve',
    by: 'Alice <script>',
    via: 'telegram',
    at: new Date('2026-11-23T14:02:59Z'),
  };

  it('says who decided, how and when, and removes the keyboard', () => {
    const r = renderNotice(notice);
    const parsed = parseTelegramHtml(r.text);
    expect(parsed.text).toContain('✅ Approved by Alice <script> via telegram at 2026-11-23 14:02 UTC');
    expect(parsed.text).toContain('K7QM · HIGH risk');
    expect(r.reply_markup).toEqual({ inline_keyboard: [] });
  });

  it('redacts a secret left in the title and escapes it', () => {
    const parsed = parseTelegramHtml(renderNotice(notice).text);
    expect(parsed.text).not.toContain('AKIAZ7VRSQ5TJ2K3Q4MN');
    expect(parsed.text).toContain('<b>now</b>');
  });

  it('words expiry and cancellation without a decider', () => {
    const expired = parseTelegramHtml(
      renderNotice({ ...notice, outcome: 'expired', by: null, via: null }).text,
    );
    expect(expired.text.split('\n')[0]).toBe('⌛ Expired without a decision at 2026-11-23 14:02 UTC');
    const denied = parseTelegramHtml(renderNotice({ ...notice, outcome: 'denied' }).text);
    expect(denied.text).toMatch(/^❌ Denied by Alice/);
  });
});

describe('replies', () => {
  const reasons: InboundRefusal[] = [
    'not_linked',
    'not_allowed',
    'not_found',
    'expired',
    'already_decided',
    'unknown_option',
    'totp_required',
    'totp_invalid',
    'totp_not_enrolled',
    'invalid_code',
    'unavailable',
    'assurance_required',
  ];

  it('has a clear answer within 200 characters for every refusal', () => {
    expect(Object.keys(REFUSAL_TEXT).sort()).toEqual([...reasons].sort());
    for (const reason of reasons) {
      const text = decisionAnswer({ ok: false, reason, message: 'service text' });
      expect(text).toBe(REFUSAL_TEXT[reason]);
      expect(text.length).toBeLessThanOrEqual(TELEGRAM_LIMITS.callbackAnswerChars);
    }
  });

  it('answers each outcome of a tap', () => {
    const ok = { ok: true, memberName: 'A' } as const;
    expect(decisionAnswer({ ...ok, outcome: 'decided', status: 'approved' })).toMatch(/^Approved/);
    expect(decisionAnswer({ ...ok, outcome: 'decided', status: 'denied' })).toMatch(/^Denied/);
    expect(decisionAnswer({ ...ok, outcome: 'recorded', status: 'pending' })).toMatch(/more approvals/);
    expect(decisionAnswer({ ...ok, outcome: 'replay', status: 'approved' })).toMatch(/already answered/);
  });

  it('escapes names in the link confirmation', () => {
    const parsed = parseTelegramHtml(REPLIES.linked('<i>Eve</i>', 'Acme & Co'));
    expect(parsed.text).toContain('<i>Eve</i>');
    expect(parsed.text).toContain('Acme & Co');
    expect(parsed.entities.map((e) => e.type)).toEqual(['bold', 'bold']);
  });

  it('escapes the four characters HTML mode cares about', () => {
    expect(escapeHtml(`<a href="x">&amp;</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;amp;&lt;/a&gt;');
  });
});

describe('hidden characters (Trojan Source)', () => {
  it('shows them as escapes in the request, its buttons and the notice, never applies them', () => {
    const r = renderRequest({
      summary: null,
      handoffId: '0b6f7c1e-8a43-4f0e-9d2a-3c5b1e7f9a10',
      shortCode: 'K7QX',
      actionType: 'shell.exec',
      riskLevel: 'high',
      title: TROJAN_TITLE,
      gist: gist(
        { action: { type: 'shell.exec' }, title: TROJAN_TITLE, summary: '' },
        { level: 'high', reasons: [] },
      ),
      options: [
        { id: 'ship', label: TROJAN_LABEL },
        { id: 'deny', label: 'Deny' },
      ],
      link: 'https://ony.example/handoffs/x',
    });
    expectShown(r.text);
    expect(r.text).toContain('invoice⟨U+202E⟩gnp.exe ⟨U+200B⟩r⟨U+043C⟩ -rf tmp');
    expectShown(r.reply_markup.inline_keyboard[0]![0]!.text);
    const n = renderNotice({
      handoffId: 'h',
      shortCode: 'K7QX',
      actionType: 'shell.exec',
      riskLevel: 'high',
      title: TROJAN_TITLE,
      outcome: 'denied',
      option: 'deny',
      by: 'Alice',
      via: 'telegram',
      at: new Date('2026-11-23T14:02:31Z'),
    });
    expectShown(n.text);
  });

  it('escapes before cutting, and never cuts an escape in half', () => {
    for (let n = 50; n < 62; n++) {
      const label = `${'x'.repeat(n)}\u202E${'y'.repeat(20)}`;
      const text = renderRequest({
        summary: null,
        handoffId: '0b6f7c1e-8a43-4f0e-9d2a-3c5b1e7f9a10',
        shortCode: 'K7QX',
        actionType: 'deploy',
        riskLevel: 'low',
        title: 't',
        gist: { speech: '', sms: '', chat: 'c' },
        options: [{ id: 'a', label }],
        link: 'https://ony.example/handoffs/x',
      }).reply_markup.inline_keyboard[0]![0]!.text;
      expect(text).not.toContain('\u202E');
      expect(text).not.toMatch(/⟨U?\+?[0-9A-F]{0,5}\.\.\.$/);
    }
  });
});
