/**
 * `POST /v1/integrations/claude-code/pre-tool-use`: a Claude Code PreToolUse hook over HTTP (hooks of
 * type "http", and `ony hook claude-code`, which posts here). The body is the hook input, the answer
 * the hook's JSON.
 *
 * Errors: Claude Code treats a non-2xx answer, a timeout or a refused connection as a non-blocking
 * error and lets the tool run (unless the hook sets `onFailure: "block"`). So once the caller is
 * authenticated and the body is a PreToolUse input, every outcome, failures included, is a 200 with a
 * hook answer, and a failure answers deny. A bad token (401) and a body that is not a PreToolUse
 * input (400) stay problem+json: no hook answer fits them (a PostToolUse event cannot take a
 * PreToolUse answer); `ony init claude-code --http` sets `onFailure: "block"` for them, and the
 * command hook turns them into a deny itself.
 */
import { Type } from '@sinclair/typebox';
import {
  failureAnswer,
  HOOK_LIMITS,
  parsePreToolUse,
  type OnPending,
} from '../../core/integrations/claude-code.js';
import { AGENTS } from '../../core/integrations/agent-hooks-io.js';
import type { AppInstance } from '../../http/app-types.js';
import { deviceOf } from '../../http/plugins/auth.js';
import { problemResponses } from '../../http/schemas.js';
import { AppError } from '../../lib/errors.js';
import type { ClaudeCodeService } from './claude-code.service.js';

/** The longest budget a request may ask for: Claude Code's default hook timeout is 600 s. */
export const MAX_BUDGET_S = 590;

const HookInput = Type.Object(
  {
    session_id: Type.String({ minLength: 1, maxLength: HOOK_LIMITS.idMaxChars }),
    cwd: Type.String({ maxLength: HOOK_LIMITS.cwdMaxChars }),
    hook_event_name: Type.Literal('PreToolUse'),
    tool_name: Type.String({ minLength: 1, maxLength: HOOK_LIMITS.toolNameMaxChars }),
    tool_input: Type.Record(Type.String(), Type.Unknown()),
    tool_use_id: Type.String({ minLength: 1, maxLength: HOOK_LIMITS.idMaxChars }),
  },
  {
    additionalProperties: true,
    description:
      'The Claude Code PreToolUse hook input; other fields (transcript_path, permission_mode…) are ignored',
  },
);

const HookAnswer = Type.Object(
  {
    hookSpecificOutput: Type.Object(
      {
        hookEventName: Type.Literal('PreToolUse'),
        permissionDecision: Type.Union([Type.Literal('allow'), Type.Literal('deny'), Type.Literal('ask')]),
        permissionDecisionReason: Type.String(),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'ClaudeCodeHookAnswer' },
);

export function claudeCodeRoutes(
  app: AppInstance,
  deps: {
    claudeCode: ClaudeCodeService;
    hooks: { readonly budgetSeconds: number; readonly onPending: OnPending };
  },
) {
  const { claudeCode, hooks } = deps;
  app.addSchema(HookAnswer);

  app.post(
    '/v1/integrations/claude-code/pre-tool-use',
    {
      config: { auth: 'device' },
      schema: {
        tags: ['integrations'],
        summary:
          'A Claude Code PreToolUse hook: asks for approval of the tool call and answers allow or deny within the budget',
        security: [{ deviceToken: [] }],
        querystring: Type.Object(
          {
            budget_s: Type.Optional(
              Type.String({
                pattern: '^[0-9]{1,3}(\\.[0-9]{1,3})?$',
                description: `seconds to wait for a decision, 0..${MAX_BUDGET_S}; default ONY_HOOK_BUDGET_S`,
              }),
            ),
            on_pending: Type.Optional(
              Type.Union([Type.Literal('deny'), Type.Literal('ask')], {
                description: 'the answer when still pending after the budget; default ONY_HOOK_ON_PENDING',
              }),
            ),
            agent: Type.Optional(
              Type.Union(
                AGENTS.map((a) => Type.Literal(a)),
                {
                  description:
                    "which agent's hook asks (`ony hook codex|cursor|gemini` map their input to this shape); its name goes in the summary. Default claude-code",
                },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        body: HookInput,
        response: { 200: Type.Ref('ClaudeCodeHookAnswer'), ...problemResponses },
      },
    },
    async (req) => {
      const p = deviceOf(req);
      const budgetS = req.query.budget_s !== undefined ? Number(req.query.budget_s) : hooks.budgetSeconds;
      if (budgetS > MAX_BUDGET_S) {
        throw new AppError('validation_failed', `budget_s must be at most ${MAX_BUDGET_S} seconds`);
      }
      const parsed = parsePreToolUse(req.body);
      if (!parsed.ok) throw new AppError('validation_failed', parsed.errors.join('; '));
      try {
        return await claudeCode.preToolUse(p, parsed.value, {
          budgetS,
          onPending: req.query.on_pending ?? hooks.onPending,
          agent: req.query.agent ?? 'claude-code',
        });
      } catch (err) {
        // Fail closed: a hook input we could not handle is denied, with a reason the agent can act on.
        if (err instanceof AppError && err.status < 500) return failureAnswer(err.message);
        req.log.error({ err }, 'claude-code hook failed');
        return failureAnswer(`the ony server failed (request ${req.id})`);
      }
    },
  );
}
