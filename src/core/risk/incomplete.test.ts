import { describe, expect, it } from 'vitest';
import { RISK_CASES } from '../../../test/fixtures/risk-cases.js';
import { incompleteRisk } from './incomplete.js';
import { deriveRisk, levelRank, type RiskInput } from './index.js';

const withPayload = (input: Omit<RiskInput, 'payload'>, content = 'ls'): RiskInput => ({
  ...input,
  payload: { kind: 'command', content },
});

describe('incompleteRisk (the answer when the analysis did not finish)', () => {
  it('is at least high with analysis_incomplete, never reading the payload', () => {
    const r = incompleteRisk(
      withPayload({ action: { type: 'shell.exec' }, title: 'run', summary: '' }, 'rm -rf /'),
    );
    expect(r).toEqual({ level: 'high', reasons: ['analysis_incomplete'] });
  });

  it('keeps what the small fields tell, in the engine order', () => {
    const del = incompleteRisk(
      withPayload({ action: { type: 'file.delete', target: '/' }, title: 'x', summary: '' }),
    );
    expect(del).toEqual({ level: 'critical', reasons: ['recursive_delete_root', 'analysis_incomplete'] });
    const prod = incompleteRisk(
      withPayload({
        action: { type: 'deploy', target: 'api' },
        title: 'x',
        summary: '',
        context: { environment: 'prod' },
      }),
    );
    expect(prod.level).toBe('high');
    // Most severe first (production_target and analysis_incomplete are high, deploy medium).
    expect(prod.reasons).toEqual(['production_target', 'analysis_incomplete', 'deploy']);
  });

  it('does not claim the content was missing when it was there', () => {
    const sql = incompleteRisk(withPayload({ action: { type: 'db.query' }, title: 'q', summary: '' }));
    expect(sql.reasons).toEqual(['analysis_incomplete']);
    // Without a payload the engine's own reading stays.
    expect(incompleteRisk({ action: { type: 'db.query' }, title: 'q', summary: '' }).reasons).toContain(
      'unverifiable_action',
    );
  });

  it('an org policy can raise it but never lower it below high', () => {
    const input = withPayload({
      action: { type: 'shell.exec' },
      title: 'run',
      summary: '',
      context: { environment: 'prod-eu' },
    });
    expect(incompleteRisk(input, { reason_levels: { analysis_incomplete: 'low' } }).level).toBe('high');
    // (prod-eu makes production_target, high, which the small fields tell.)
    expect(incompleteRisk(input, { reason_levels: { analysis_incomplete: 'critical' } })).toEqual({
      level: 'critical',
      reasons: ['analysis_incomplete', 'production_target'],
    });
    // policy_raise carries the level it raised to, so it sorts first, as in the engine.
    expect(
      incompleteRisk(input, {
        raise: [{ when: { reason: 'analysis_incomplete', environment: 'prod*' }, level: 'critical' }],
      }),
    ).toEqual({ level: 'critical', reasons: ['policy_raise', 'production_target', 'analysis_incomplete'] });
    expect(
      incompleteRisk(input, {
        raise: [{ when: { reason: 'analysis_incomplete', environment: 'dev' }, level: 'critical' }],
      }).level,
    ).toBe('high');
  });

  it('over the labelled cases: never below high, never below what the small fields alone give', () => {
    for (const c of RISK_CASES) {
      const r = incompleteRisk(c.input);
      const { payload: _, ...bare } = c.input;
      expect(levelRank(r.level), c.name).toBeGreaterThanOrEqual(
        Math.max(levelRank('high'), levelRank(deriveRisk(bare).level)),
      );
      expect(r.reasons, c.name).toContain('analysis_incomplete');
      expect(new Set(r.reasons).size, c.name).toBe(r.reasons.length);
    }
  });
});
