import { describe, expect, it } from 'vitest';
import {
  ruleOf,
  defaultEscalationPolicy,
  effectiveTimeout,
  parseEscalationPolicy,
  stepSchedule,
} from './escalation.js';

describe('escalation policy', () => {
  it('fills defaults, validates, and names each problem', () => {
    const ok = parseEscalationPolicy({ levels: { critical: { required_approvals: 2, require_totp: true } } });
    expect(ok.ok && ok.value.levels.critical).toMatchObject({
      required_approvals: 2,
      require_totp: true,
      steps: defaultEscalationPolicy.levels.critical.steps,
    });
    expect(ok.ok && ok.value.levels.low).toEqual(defaultEscalationPolicy.levels.low);
    const bad = parseEscalationPolicy({
      levels: {
        severe: {},
        high: {
          steps: [{ after_s: -1, channel: 'pager', targets: ['nope'] }],
          required_approvals: 11,
          repeat: 9,
        },
      },
      timeout_s: { default: 5, min: 30, max: 10 },
    });
    expect(bad.ok).toBe(false);
    const errors = bad.ok ? [] : bad.errors.join('\n');
    for (const fragment of [
      'levels.severe: not a risk level',
      'after_s',
      'channel must be one of console',
      'targets',
      'required_approvals must be 1..10',
      'repeat must be 0..5',
      'timeout_s',
    ]) {
      expect(errors).toContain(fragment);
    }
    expect(parseEscalationPolicy('nope').ok).toBe(false);
  });

  it('schedules steps and their repeats within the lifetime, and clamps timeouts', () => {
    const p = parseEscalationPolicy({
      levels: {
        high: {
          steps: [
            { after_s: 0, channel: 'console' },
            { after_s: 120, channel: 'console' },
          ],
          repeat: 2,
          repeat_every_s: 600,
        },
      },
    });
    if (!p.ok) throw new Error(p.errors.join());
    expect(stepSchedule(p.value.levels.high, 1300).map((s) => s.at_s)).toEqual([0, 120, 600, 720, 1200]);
    expect(effectiveTimeout(p.value, undefined)).toBe(900);
    expect(effectiveTimeout(p.value, 5)).toBe(30);
    expect(effectiveTimeout(p.value, 10 ** 7)).toBe(86_400);
  });

  it('on-call groups: defined once, referenced by steps as group:<name>, expanded to members', async () => {
    const { resolveTargets } = await import('./escalation.js');
    const a = '11111111-1111-4111-8111-111111111111';
    const b = '22222222-2222-4222-8222-222222222222';
    const p = parseEscalationPolicy({
      groups: { dba: [a, b] },
      levels: { critical: { steps: [{ after_s: 0, channel: 'console', targets: ['group:dba', a] }] } },
    });
    if (!p.ok) throw new Error(p.errors.join());
    expect(resolveTargets(p.value, p.value.levels.critical.steps[0]!)).toEqual([a, b]);
    expect(resolveTargets(p.value, p.value.levels.low.steps[0]!)).toBeUndefined();
    const undefinedGroup = parseEscalationPolicy({
      levels: { high: { steps: [{ after_s: 0, channel: 'console', targets: ['group:sre'] }] } },
    });
    expect(undefinedGroup.ok).toBe(false);
    expect(parseEscalationPolicy({ groups: { 'Bad Name': [a] } }).ok).toBe(false);
    expect(parseEscalationPolicy({ groups: { empty: [] } }).ok).toBe(false);
  });
});

describe('ruleOf: an MCP tool rule makes the level rule stricter, never looser', () => {
  it.each([
    ['allow', undefined, 'allow'],
    ['allow', 'allow', 'allow'],
    ['allow', 'ask', 'approve'],
    ['allow', 'deny', 'deny'],
    ['approve', 'allow', 'approve'],
    ['approve', 'ask', 'approve'],
    ['approve', 'deny', 'deny'],
    ['deny', 'allow', 'deny'],
    ['deny', 'ask', 'deny'],
  ] as const)('level %s, tool %s -> %s', (level, tool, rule) => {
    expect(ruleOf({ rule: level }, tool)).toBe(rule);
  });
});
