import { describe, expect, it } from 'vitest';
import { defaultEscalationPolicy, parseEscalationPolicy, type EscalationPolicy } from './escalation.js';
import { durationText, previewSentence } from './preview.js';

const ALICE = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';
const names = new Map([
  [ALICE, 'Alice'],
  [BOB, 'Bob'],
]);

function policy(levels: Record<string, unknown>): EscalationPolicy {
  const parsed = parseEscalationPolicy({
    levels: { ...defaultEscalationPolicy.levels, ...levels },
    groups: { ops: [BOB] },
    timeout_s: { default: 900, min: 30, max: 3600 },
  });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.value;
}

describe('previewSentence', () => {
  it('says who is asked, how and when, in step order, with quorum, step-up and timeout', () => {
    const p = policy({
      high: {
        rule: 'approve',
        steps: [
          { after_s: 0, channel: 'slack', targets: [ALICE] },
          { after_s: 300, channel: 'phone', targets: [BOB] },
        ],
        required_approvals: 2,
        require_totp: true,
        min_assurance: 'A2',
        repeat: 0,
        repeat_every_s: 600,
      },
    });
    expect(previewSentence('high', p, names)).toBe(
      'a high-risk handoff will: ask Alice by Slack, then after 5 min call Bob; it needs 2 approvals, each with a TOTP code; unanswered, it is denied after 15 min.',
    );
  });

  it('everyone, groups, unknown ids, repeats, and steps past the timeout left out', () => {
    const p = policy({
      critical: {
        rule: 'approve',
        steps: [
          { after_s: 60, channel: 'sms', targets: ['group:ops', ALICE] },
          { after_s: 90, channel: 'telegram', targets: ['33333333-3333-4333-8333-333333333333'] },
          { after_s: 120, channel: 'email', targets: 'all' },
          { after_s: 5000, channel: 'phone', targets: [BOB] },
        ],
        required_approvals: 1,
        require_totp: false,
        min_assurance: 'A2',
        repeat: 2,
        repeat_every_s: 6000,
      },
    });
    expect(previewSentence('critical', p, names)).toBe(
      'a critical-risk handoff will: after 1 min text the ops group and Alice by SMS, then after 1 min 30 s ask an unknown member by Telegram, then after 2 min email everyone; repeat this 2 times, every 1 h 40 min, while it waits; it needs one approval; unanswered, it is denied after 15 min.',
    );
  });

  it('allow and deny decide at once', () => {
    expect(previewSentence('low', defaultEscalationPolicy, names)).toBe(
      'a low-risk handoff is allowed at once, without asking anyone.',
    );
    const p = policy({ medium: { ...defaultEscalationPolicy.levels.medium, rule: 'deny' } });
    expect(previewSentence('medium', p, names)).toBe(
      'a medium-risk handoff is refused at once, without asking anyone.',
    );
  });

  it('the default policy', () => {
    expect(previewSentence('high', defaultEscalationPolicy, names)).toBe(
      'a high-risk handoff will: show it to everyone on the server console; it needs one approval; unanswered, it is denied after 15 min.',
    );
  });
});

describe('durationText', () => {
  it('reads in the largest units', () => {
    expect(durationText(0)).toBe('0 s');
    expect(durationText(45)).toBe('45 s');
    expect(durationText(300)).toBe('5 min');
    expect(durationText(90)).toBe('1 min 30 s');
    expect(durationText(3600)).toBe('1 h');
    expect(durationText(5400)).toBe('1 h 30 min');
    expect(durationText(86_400 * 2)).toBe('2 d');
  });
});
