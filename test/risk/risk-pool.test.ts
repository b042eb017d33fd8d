/**
 * The risk pool (src/features/risk/risk-pool.ts) on real worker threads: the same answers as the
 * pure engine, and when an analysis does not finish (over its budget, crashed, queue full) an answer
 * of at least high with `analysis_incomplete`, after which the pool still answers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { deriveRisk, levelRank, type RiskInput, type RiskPolicy } from '../../src/core/risk/index.js';
import { createRiskPool, type RiskAnalyser } from '../../src/features/risk/risk-pool.js';
import { RISK_CASES } from '../fixtures/risk-cases.js';

const warnings: Record<string, unknown>[] = [];
const logger = { warn: (obj: Record<string, unknown>) => void warnings.push(obj) };
const pools: RiskAnalyser[] = [];
const pool = (o: { workers?: number; timeoutMs?: number; maxQueue?: number; workerUrl?: URL } = {}) => {
  const p = createRiskPool({ workers: 1, timeoutMs: 30_000, maxQueue: 16, logger, ...o });
  pools.push(p);
  return p;
};
afterAll(() => Promise.all(pools.map((p) => p.close())));

const command = (content: string, title = 'run'): RiskInput => ({
  action: { type: 'shell.exec' },
  title,
  summary: '',
  payload: { kind: 'command', content },
});
const MISBEHAVING = new URL('../fixtures/misbehaving-risk-worker.ts', import.meta.url);
const MIB_SCRIPT = 'ls -la && echo "$(date)" | tee -a log.txt; rm -f tmp/$i.json\n'.repeat(16_384);

function expectIncomplete(r: { level: string; reasons: readonly string[] }) {
  expect(levelRank(r.level as 'high')).toBeGreaterThanOrEqual(levelRank('high'));
  expect(r.reasons).toContain('analysis_incomplete');
}

/** Asks until the pool gives the engine's own answer: a replacement thread may still be starting. */
async function answersAgain(p: RiskAnalyser, input: RiskInput): Promise<void> {
  const expected = deriveRisk(input, {});
  for (let attempt = 1; ; attempt++) {
    const got = await p.assess(input, {});
    if (JSON.stringify(got) === JSON.stringify(expected)) return;
    if (attempt === 20) expect(got).toEqual(expected);
  }
}

describe('risk pool', () => {
  it('answers what the pure engine answers, under the default and an org policy', async () => {
    const p = pool({ workers: 2, maxQueue: 100 });
    const policy: RiskPolicy = {
      raise: [{ when: { reason: 'production_target' }, level: 'critical' }],
      reason_levels: { lockfile_change: 'low' },
    };
    const inputs = [
      command('rm -rf /'),
      command('ls -la'),
      { ...command('kubectl delete ns payments'), context: { environment: 'prod' } },
      ...RISK_CASES.filter((c) => c.input.payload !== undefined)
        .filter((_, i) => i % 9 === 0)
        .map((c) => c.input),
    ];
    for (const pol of [{}, policy]) {
      const got = await Promise.all(inputs.map((i) => p.assess(i, pol)));
      expect(got).toEqual(inputs.map((i) => deriveRisk(i, pol)));
    }
    // Without a payload the input is analysed in place: still the engine's answer.
    const bare: RiskInput = { action: { type: 'deploy', target: 'api-prod' }, title: 'ship', summary: '' };
    expect(await p.assess(bare, {})).toEqual(deriveRisk(bare, {}));
  });

  it('fails closed when the budget runs out (1 ms for 1 MiB)', async () => {
    const tight = pool({ timeoutMs: 1 });
    const r = await tight.assess(command(MIB_SCRIPT), {});
    expectIncomplete(r);
    // The 1 MiB script alone is medium at most: the level comes from the failed analysis, not the content.
    expect(levelRank(deriveRisk(command(MIB_SCRIPT)).level)).toBeLessThan(levelRank('high'));
    expect(warnings).toContainEqual(expect.objectContaining({ cause: 'timeout' }));
  });

  it('terminates a worker that never answers, then answers with a fresh one', async () => {
    const p = pool({ workers: 1, timeoutMs: 1000, workerUrl: MISBEHAVING });
    await answersAgain(p, command('rm -rf /tmp/x'));
    const r = await p.assess(command('echo hi', 'spin'), {});
    expectIncomplete(r);
    expect(r.reasons).not.toContain('unverifiable_action');
    // One thread, and it was spinning forever: an answer now means it was terminated and replaced.
    await answersAgain(p, command('git push --force origin main'));
  }, 60_000);

  it('fails closed when the worker crashes, and keeps answering', async () => {
    const p = pool({ workers: 1, workerUrl: MISBEHAVING });
    expectIncomplete(await p.assess(command('ls', 'crash'), {}));
    expect(warnings).toContainEqual(expect.objectContaining({ cause: 'worker_failed', error: 'Error' }));
    expect(await p.assess(command('ls'), {})).toEqual(deriveRisk(command('ls')));
  });

  it('fails closed at once when more analyses wait than the queue allows', async () => {
    const p = pool({ workers: 1, maxQueue: 1, timeoutMs: 2_000, workerUrl: MISBEHAVING });
    await answersAgain(p, command('ls'));
    const spinning = p.assess(command('ls', 'spin'), {}); // takes the only thread
    const queued = p.assess(command('ls', 'spin'), {}); // waits for it
    const refused = await p.assess(command('rm -rf /'), {}); // nowhere to wait: answered now
    expectIncomplete(refused);
    expect(refused.level).toBe('high'); // the payload (rm -rf /, critical) was not read
    expect(warnings).toContainEqual(expect.objectContaining({ cause: 'queue_full' }));
    expectIncomplete(await spinning);
    expectIncomplete(await queued);
  }, 60_000);

  it('answers incomplete after close, without a thread', async () => {
    const p = pool();
    await p.close();
    expectIncomplete(await p.assess(command('ls'), {}));
  });
});
