/**
 * Prometheus metrics (prom-client) on a registry of our own (never the library's global one).
 * Every label goes through the closed enums of core/metrics/labels.ts, so the exposition can hold
 * no id and no free text. Off unless the operator sets ONY_METRICS_TOKEN or ONY_METRICS_LISTEN
 * (docs/privacy.md); counting is cheap and always on, only the exposition is gated.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  closed,
  DECISION_CHANNELS,
  DECISION_OUTCOMES,
  ESCALATION_CHANNELS,
  ESCALATION_OUTCOMES,
  HTTP_METHODS,
  OTHER,
  RISK_LEVEL_LABELS,
  routeLabel,
  statusClass,
  WITNESS_LABELS,
  WITNESS_OUTCOMES,
} from '../../core/metrics/labels.js';

export interface MetricsDeps {
  /** The job queue names the server runs; a failure in any other is counted as `other`. */
  readonly queues: readonly string[];
  /** Process metrics (CPU, memory, event loop lag): label-free, on by default. */
  readonly processMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The route templates the HTTP server registered (a request's route label must be one of them). */
  readonly routes: Set<string>;
  httpRequest(method: string, template: string | undefined, status: number, seconds: number): void;
  handoffCreated(riskLevel: string): void;
  handoffDecided(outcome: string, channel: string | null): void;
  escalationAttempt(channel: string, outcome: string): void;
  jobFailed(queue: string): void;
  /** One push of a signed checkpoint to a witness, by witness kind and outcome. */
  witnessPush(witness: string, outcome: 'ok' | 'failed'): void;
  /** The exposition text. */
  render(): Promise<string>;
}

export function createMetrics(deps: MetricsDeps): Metrics {
  const registry = new Registry();
  const queues = [...new Set(deps.queues), OTHER];
  if (deps.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'ony_' });
  const routes = new Set<string>();

  const http = new Histogram({
    name: 'ony_http_request_duration_seconds',
    help: 'HTTP requests by route template, method and status class',
    labelNames: ['route', 'method', 'status_class'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
    registers: [registry],
  });
  const created = new Counter({
    name: 'ony_handoffs_created_total',
    help: 'Handoffs created, by derived risk level',
    labelNames: ['risk_level'] as const,
    registers: [registry],
  });
  const decided = new Counter({
    name: 'ony_handoff_decisions_total',
    help: 'Handoffs that left pending, by outcome and the channel that decided',
    labelNames: ['outcome', 'channel'] as const,
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'ony_escalation_attempts_total',
    help: 'Escalation steps run, by channel and outcome',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  });
  const jobFailures = new Counter({
    name: 'ony_job_failures_total',
    help: 'Failed job attempts, by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const witnessPushes = new Counter({
    name: 'ony_audit_witness_pushes_total',
    help: 'Signed audit checkpoints pushed to a witness, by witness and outcome (failed attempts are retried)',
    labelNames: ['witness', 'outcome'] as const,
    registers: [registry],
  });

  return {
    registry,
    contentType: registry.contentType,
    routes,
    httpRequest(method, template, status, seconds) {
      http.observe(
        {
          route: routeLabel(template, routes),
          method: closed(HTTP_METHODS, method.toUpperCase()),
          status_class: statusClass(status),
        },
        seconds,
      );
    },
    handoffCreated: (riskLevel) => created.inc({ risk_level: closed(RISK_LEVEL_LABELS, riskLevel) }),
    handoffDecided: (outcome, channel) =>
      decided.inc({
        outcome: closed(DECISION_OUTCOMES, outcome),
        channel: closed(DECISION_CHANNELS, channel ?? 'none'),
      }),
    escalationAttempt: (channel, outcome) =>
      attempts.inc({
        channel: closed(ESCALATION_CHANNELS, channel),
        outcome: closed(ESCALATION_OUTCOMES, outcome),
      }),
    jobFailed: (queue) => jobFailures.inc({ queue: closed(queues, queue) }),
    witnessPush: (witness, outcome) =>
      witnessPushes.inc({
        witness: closed(WITNESS_LABELS, witness),
        outcome: closed(WITNESS_OUTCOMES, outcome),
      }),
    render: () => registry.metrics(),
  };
}

/** For services built without metrics (CLI commands, unit tests): counts nothing. */
export const noMetrics: Pick<
  Metrics,
  'handoffCreated' | 'handoffDecided' | 'escalationAttempt' | 'jobFailed' | 'witnessPush'
> = {
  handoffCreated: () => undefined,
  handoffDecided: () => undefined,
  escalationAttempt: () => undefined,
  jobFailed: () => undefined,
  witnessPush: () => undefined,
};
