/**
 * Risk analysis off the event loop, within a budget, failing closed (DESIGN.md §3.2).
 *
 * The pure engine (`deriveRisk`) is linear but not free: a 1 MiB payload takes about half a second,
 * and on the request path that would stall every other request of the process. The pool runs it on
 * worker threads (piscina) and gives each analysis a time budget. When the budget runs out, the
 * worker crashes or too many analyses are already waiting, the answer is `incompleteRisk`: what
 * the small fields tell, at least high, with `analysis_incomplete`. Never low.
 *
 * A timed-out analysis is aborted through its AbortSignal: piscina drops it from the queue if it has
 * not started, and if it is running it terminates that worker thread (V8 stops the JavaScript where
 * it is, even in a tight loop) and starts a fresh one, so a runaway analysis cannot pin a core.
 *
 * Loading the worker: the entry is `risk-worker` next to this module, with this module's own
 * extension. Built (`dist/features/risk/risk-pool.js`) it is plain JavaScript and loads as is.
 * From source (`.ts`, under vitest or tsx) a worker thread does not inherit the parent's module
 * loader hooks, so the threads start with `--import <tsx>` (resolved from this file, so the working
 * directory does not matter) and load the `.ts` entry through tsx. tsx is a development dependency:
 * only source runs need it.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { incompleteRisk } from '../../core/risk/incomplete.js';
import { deriveRisk, type RiskAssessment, type RiskInput, type RiskPolicy } from '../../core/risk/index.js';
import type { Logger } from '../../lib/logger.js';
import type { RiskTask } from './risk-worker.js';

export interface RiskPoolOptions {
  /** Worker threads (ONY_RISK_WORKERS). */
  readonly workers: number;
  /** Budget of one analysis in ms, from the request to the answer, queueing included (ONY_RISK_TIMEOUT_MS). */
  readonly timeoutMs: number;
  /** Analyses allowed to wait for a thread; beyond that one fails closed at once (ONY_RISK_MAX_QUEUE). */
  readonly maxQueue: number;
  readonly logger: Pick<Logger, 'warn'>;
  /** The worker module; default `risk-worker` next to this file. Tests give a worker that misbehaves. */
  readonly workerUrl?: URL;
}

/** Why an analysis ended without the engine's answer (a closed set: it is logged). */
export type IncompleteCause = 'timeout' | 'queue_full' | 'worker_failed';

export interface RiskAnalyser {
  /** The engine's `{level, reasons}`, or, when it cannot answer within the budget, `incompleteRisk`. */
  assess(input: RiskInput, policy: RiskPolicy): Promise<RiskAssessment>;
  close(): Promise<void>;
}

const fromSource = import.meta.url.endsWith('.ts');

function workerExecArgv(): string[] | undefined {
  if (!fromSource) return undefined; // inherit the process's own flags (e.g. --enable-source-maps)
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return ['--import', tsx];
}

export function createRiskPool(options: RiskPoolOptions): RiskAnalyser {
  const { timeoutMs, logger } = options;
  const workerUrl =
    options.workerUrl ?? new URL(`./risk-worker${fromSource ? '.ts' : '.js'}`, import.meta.url);
  const execArgv = workerExecArgv();
  const pool = new Piscina<RiskTask, RiskAssessment>({
    filename: workerUrl.href,
    minThreads: options.workers,
    maxThreads: options.workers,
    ...(execArgv !== undefined && { execArgv }),
  });
  // Piscina's own maxQueue does not count tasks that carry an AbortSignal (they wait in a separate
  // queue), so the limit is kept here: analyses running or waiting, at most workers + maxQueue.
  const capacity = options.workers + options.maxQueue;
  let inFlight = 0;
  let closed = false;

  function failClosed(input: RiskInput, policy: RiskPolicy, cause: IncompleteCause, err?: unknown) {
    logger.warn(
      // The error's name and code only: a message could quote the content.
      {
        cause,
        timeoutMs,
        ...(err !== undefined && {
          error: (err as { name?: unknown }).name,
          code: (err as { code?: unknown }).code,
        }),
      },
      'risk analysis did not finish: treated as at least high (analysis_incomplete)',
    );
    return incompleteRisk(input, policy);
  }

  return {
    async assess(input, policy) {
      // Without a payload the input is a few bounded strings (title, summary, target, context):
      // analysing it here costs less than the trip to a thread.
      if (input.payload === undefined) return deriveRisk(input, policy);
      if (closed) return incompleteRisk(input, policy);
      if (inFlight >= capacity) return failClosed(input, policy, 'queue_full');
      inFlight++;
      try {
        return await pool.run({ input, policy }, { signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        const timedOut = (err as { name?: unknown }).name === 'AbortError';
        return timedOut
          ? failClosed(input, policy, 'timeout')
          : failClosed(input, policy, 'worker_failed', err);
      } finally {
        inFlight--;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.close({ force: true });
    },
  };
}
