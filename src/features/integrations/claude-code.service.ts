/**
 * Claude Code `PreToolUse` hooks (docs/integrations.md): one implementation for the command hook
 * (`ony hook claude-code` posts here) and the http hook. A tool call becomes a handoff (created
 * through the handoffs service, so the risk, policy, escalation and audit are the usual ones) and the
 * hook waits for the decision within its budget.
 *
 * A human often needs longer than a hook may wait, so the approval outlives the hook: a call still
 * pending when the budget runs out is denied with its short code, and the same call retried later in
 * the same session (same fingerprint) joins that handoff and gets its decision. A decision is used by
 * one tool call: the next identical call asks again. The same tool_use_id again (a retried request)
 * answers the decision it already got.
 */
import type { Kysely } from 'kysely';
import {
  answerFor,
  fingerprintOf,
  hookAnswer,
  localPromptAnswer,
  toHandoffInput,
  type HookAnswer,
  type OnPending,
  type PreToolUseInput,
} from '../../core/integrations/claude-code.js';
import { AGENT_NAMES, type Agent } from '../../core/integrations/agent-hooks-io.js';
import { withTenant } from '../../db/client.js';
import type { DB } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import type { Principal } from '../auth/principal.js';
import type { Handoff } from '../handoffs/handoffs.repository.js';
import { CANCEL_REASON_TEXT, type HandoffsService } from '../handoffs/handoffs.service.js';
import { consumeDecision, findForToolCall, memberName } from './claude-code.repository.js';

export interface ClaudeCodeDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly handoffs: Pick<HandoffsService, 'create' | 'wait' | 'cancel'>;
}

export interface PreToolUseOptions {
  /** How long to wait for a decision, in seconds (real time). */
  readonly budgetS: number;
  readonly onPending: OnPending;
  /** Which agent's hook asks (its name goes in the summary approvers read); default Claude Code. */
  readonly agent?: Agent;
}

/** How many times a call that lost a used-once decision to another call looks again. */
const MAX_ROUNDS = 3;

export function createClaudeCodeService(deps: ClaudeCodeDeps) {
  const { db, clock, handoffs } = deps;

  async function answerDecided(
    p: Principal & { kind: 'device' },
    h: Handoff,
    toolUseId: string,
  ): Promise<{ answer: HookAnswer } | { usedBy: string | null }> {
    const result = await withTenant(
      db,
      p.orgId,
      async (tx): Promise<{ usedBy: string | null } | { name: string | null }> => {
        const consumed = await consumeDecision(tx, h.id, toolUseId, clock.now());
        const mine = consumed.used || consumed.by === toolUseId;
        if (!mine) return { usedBy: consumed.by };
        const name = h.decidedBy !== null ? await memberName(tx, h.decidedBy) : null;
        return { name };
      },
    );
    if ('usedBy' in result) return result;
    return {
      answer: answerFor(
        {
          status: h.status,
          shortCode: h.shortCode,
          riskLevel: h.riskLevel,
          riskReasons: h.riskReasons,
          decisionOption: h.decisionOption,
          decisionLabel: h.options.find((o) => o.id === h.decisionOption)?.label ?? null,
          decisionChannel: h.decisionChannel,
          deciderName: result.name,
          decisionComment: h.decisionComment,
          decisionReason: h.decisionReason,
        },
        'deny',
      ),
    };
  }

  const outcomeOf = (h: Handoff) => ({
    status: h.status,
    shortCode: h.shortCode,
    riskLevel: h.riskLevel,
    riskReasons: h.riskReasons,
    decisionOption: h.decisionOption,
    decisionLabel: null,
    decisionChannel: h.decisionChannel,
    deciderName: null,
    decisionComment: h.decisionComment,
    decisionReason: h.decisionReason,
  });

  /** Cancels `h` because the hook answers `ask`; answers it as it is now (cancelled, or decided meanwhile). */
  async function withdrawForLocalPrompt(p: Principal & { kind: 'device' }, h: Handoff): Promise<Handoff> {
    try {
      return await handoffs.cancel(p, h.id, { reason: 'local_prompt' });
    } catch (err) {
      // Decided or expired between the wait and the cancel: the handoff as it stands.
      if (err instanceof AppError && err.code === 'conflict') return handoffs.wait(p, h.id, 0);
      throw err;
    }
  }

  const movedToLocalPrompt = (h: Handoff) => h.decisionComment === CANCEL_REASON_TEXT.local_prompt;

  return {
    /** Answers a PreToolUse hook input (already validated) for a device, within `budgetS`. */
    async preToolUse(
      p: Principal & { kind: 'device' },
      input: PreToolUseInput,
      opts: PreToolUseOptions,
    ): Promise<HookAnswer> {
      const deadline = performance.now() + opts.budgetS * 1000;
      const fingerprint = fingerprintOf(input);
      const toolUseId = input.tool_use_id;
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const found = await withTenant(db, p.orgId, (tx) =>
          findForToolCall(tx, p.deviceId, toolUseId, fingerprint, clock.now()),
        );
        let h: Handoff;
        let own = true;
        if (found === undefined) {
          h = (
            await handoffs.create(
              p,
              toHandoffInput(input, AGENT_NAMES[opts.agent ?? 'claude-code']),
              toolUseId,
              { fingerprint },
            )
          ).handoff;
        } else if ('own' in found) h = found.own;
        else {
          h = found.live;
          own = false;
        }
        if (h.fingerprint !== fingerprint) {
          throw new AppError('unprocessable', 'this tool_use_id was already used for another tool call');
        }
        if (h.status === 'pending') {
          h = await handoffs.wait(p, h.id, Math.max(0, (deadline - performance.now()) / 1000));
        }
        if (h.status === 'pending' && opts.onPending === 'ask') {
          // The person at the agent's prompt decides now: withdraw the handoff first, so no approver
          // later decides what was already decided here (and a later identical call cannot use that
          // approval), and the audit says where the decision went. An approver who decided meanwhile
          // wins: the cancel refuses, and that decision is answered below.
          h = await withdrawForLocalPrompt(p, h);
        }
        if (h.status === 'cancelled' && opts.onPending === 'ask' && movedToLocalPrompt(h)) {
          return localPromptAnswer(outcomeOf(h));
        }
        if (h.status === 'pending' || h.status === 'expired' || h.status === 'cancelled') {
          return answerFor(outcomeOf(h), opts.onPending);
        }
        const decided = await answerDecided(p, h, toolUseId);
        if ('answer' in decided) return decided.answer;
        // Another tool call used this decision first. A call that joined looks again (and asks
        // again); the call that created the handoff cannot make another under its own tool_use_id.
        if (own) {
          return hookAnswer(
            'deny',
            `The decision on ony ${h.shortCode} was already used by another tool call. It was not run; trying the same action again asks again.`,
          );
        }
      }
      return hookAnswer('deny', 'Other identical tool calls keep using the decisions first; try again.');
    },
  };
}

export type ClaudeCodeService = ReturnType<typeof createClaudeCodeService>;
