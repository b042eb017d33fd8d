import { describe, expect, it } from 'vitest';
import { defaultEscalationPolicy, parseEscalationPolicy } from '../../src/core/policy/escalation.js';
import { auditQuery, fromForm, toForm } from '../../src/web/src/pages/admin/policy-form.js';

describe('policy form', () => {
  it('round-trips the default policy unchanged, and the server accepts it', () => {
    const r = fromForm(toForm(defaultEscalationPolicy));
    expect(r).toEqual({ ok: true, value: defaultEscalationPolicy });
    expect(parseEscalationPolicy(r.ok && r.value).ok).toBe(true);
  });

  it('keeps groups and target lists; an edit changes only what was edited', () => {
    const id = '11111111-1111-4111-8111-111111111111';
    const stored = {
      ...defaultEscalationPolicy,
      groups: { oncall: [id] },
      levels: {
        ...defaultEscalationPolicy.levels,
        high: {
          ...defaultEscalationPolicy.levels.high,
          steps: [{ after_s: 0, channel: 'slack', targets: ['group:oncall', id] }],
        },
      },
    };
    const form = toForm(stored);
    expect(form.levels.high.steps[0]!.targets).toBe(`group:oncall, ${id}`);
    form.levels.critical.rule = 'deny';
    form.levels.high.require_totp = true;
    form.levels.high.steps.push({ channel: 'telegram', after_s: ' 120 ', targets: 'all' });
    const r = fromForm(form);
    if (!r.ok) throw new Error(r.errors.join('; '));
    const parsed = parseEscalationPolicy(r.value);
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    expect(parsed.value.groups).toEqual({ oncall: [id] });
    expect(parsed.value.levels.critical.rule).toBe('deny');
    expect(parsed.value.levels.high.require_totp).toBe(true);
    expect(parsed.value.levels.high.steps).toEqual([
      { after_s: 0, channel: 'slack', targets: ['group:oncall', id] },
      { after_s: 120, channel: 'telegram', targets: 'all' },
    ]);
    expect(parsed.value.levels.low).toEqual(defaultEscalationPolicy.levels.low);
  });

  it('names every field that is not a whole number, and an empty target list', () => {
    const form = toForm(defaultEscalationPolicy);
    form.levels.medium.required_approvals = 'two';
    form.levels.low.steps[0]!.after_s = '-1';
    form.levels.high.steps[0]!.targets = ' , ';
    form.timeout_max = '1e9';
    const r = fromForm(form);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors).toEqual([
      'low step 1 after (s) must be a whole number',
      'medium approvals needed must be a whole number',
      'high step 1: targets must be "all" or a list',
      'maximum timeout must be a whole number',
    ]);
  });

  it('builds the audit query from the filters it was given', () => {
    expect(auditQuery({})).toBe('limit=50');
    const q = new URLSearchParams(
      auditQuery({
        action: 'device.created',
        actor_id: ' abc ',
        from: '2026-01-02T03:04:00Z',
        before_seq: 7,
      }),
    );
    expect(Object.fromEntries(q)).toEqual({
      action: 'device.created',
      actor_id: 'abc',
      from: '2026-01-02T03:04:00.000Z',
      before_seq: '7',
      limit: '50',
    });
  });
});

describe('audit action suggestions', () => {
  it('are all actions the server knows (the filter would be refused otherwise)', async () => {
    const { AUDIT_ACTIONS } = await import('../../src/core/audit-chain/events.js');
    const { AUDIT_ACTION_SUGGESTIONS } = await import('../../src/web/src/pages/admin/audit-actions.js');
    const unknown = AUDIT_ACTION_SUGGESTIONS.filter((a) => !(AUDIT_ACTIONS as readonly string[]).includes(a));
    expect(unknown).toEqual([]);
  });
});
