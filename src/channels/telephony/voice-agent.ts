/**
 * The optional voice agent on approval calls (off unless ONY_VOICE_AGENT_URL is set): the approver
 * may speak ("approve", "deny", "what does it touch?") instead of pressing keys. It talks to any
 * OpenAI-compatible chat completions endpoint (OpenAI, Ollama, vLLM, llama.cpp, ...).
 *
 * - `classify(utterance)` decides what the approver wants from their words alone: the deterministic
 *   local match first (`matchIntentLocally`), and only when that cannot tell, one model call whose
 *   prompt holds the utterance and nothing from the handoff, answering a closed JSON enum. The
 *   gist, which the requesting agent writes and which may be hostile, never reaches this prompt.
 * - `answer(question, context)` answers from the redacted gist only and decides nothing.
 * - Speech and answers live in memory for the duration of the call and are never logged or stored:
 *   the log gets outcome codes only (`local`, `classified`, `answered`, `dropped`, `model_error`,
 *   `timeout`, `malformed`), an intent (closed enum) and an HTTP status.
 * - Any failure (network error, non-2xx, timeout, malformed reply) gives `unclear` / undefined, so
 *   the call falls back to the keypad menu, which is complete on its own. Neither method throws.
 *
 * Protocol (checked against the OpenAI API reference and Ollama's "OpenAI compatibility" page via
 * the search tool): `POST {base}/chat/completions` with `{model, messages: [{role, content}], ...}`,
 * `Authorization: Bearer <key>`; the reply is `{choices: [{message: {role, content}, finish_reason}]}`;
 * errors are non-2xx with `{error: {message, type, param, code}}`. JSON mode is
 * `response_format: {type: "json_object"}`, and the messages must themselves ask for JSON (the
 * classify system prompt does). `max_tokens` is sent rather than `max_completion_tokens` because
 * Ollama, vLLM and llama.cpp accept it (OpenAI's o-series reasoning models reject it; use a chat
 * model such as the default gpt-4o-mini). `store: false` is OpenAI's default for chat completions,
 * sent explicitly; servers that do not know the field ignore it.
 */
import type { VoiceAgentConfig } from '../../config/telephony.js';
import {
  buildAnswerMessages,
  buildClassifyMessages,
  matchIntentLocally,
  normaliseUtterance,
  parseClassifyReply,
  sanitiseAnswer,
  type AnswerContext,
  type ChatMessage,
  type VoiceIntent,
} from '../../core/telephony/voice-intent.js';
import type { Logger } from '../../lib/logger.js';
import { readCapped } from '../../lib/read-capped.js';

export type { AnswerContext, VoiceIntent } from '../../core/telephony/voice-intent.js';

/** The caller is waiting on the line: a model slower than this is skipped. */
export const DEFAULT_VOICE_AGENT_TIMEOUT_MS = 4_000;
/** A chat completion for a one-word intent or two sentences is far smaller than this. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface VoiceAgent {
  /** What the approver wants, from their words alone. Never throws; failures are `unclear`. */
  classify(utterance: string): Promise<VoiceIntent>;
  /** One or two plain sentences answering from the gist only; undefined when there is no answer. */
  answer(question: string, context: AnswerContext): Promise<string | undefined>;
}

export interface VoiceAgentDeps {
  readonly logger: Logger;
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** Per model call, including reading the reply. Default 4 s. */
  readonly timeoutMs?: number;
}

type Failure = 'model_error' | 'timeout' | 'malformed';
type Completion =
  | { readonly ok: true; readonly content: string }
  | { readonly ok: false; readonly outcome: Failure; readonly status?: number };

interface LogFields {
  readonly op: 'classify' | 'answer';
  readonly outcome: 'local' | 'classified' | 'answered' | 'dropped' | 'empty' | Failure;
  readonly intent?: VoiceIntent;
  readonly status?: number;
}

export function createVoiceAgent(cfg: VoiceAgentConfig, deps: VoiceAgentDeps): VoiceAgent {
  const doFetch = deps.fetch ?? globalThis.fetch;
  const timeoutMs = deps.timeoutMs ?? DEFAULT_VOICE_AGENT_TIMEOUT_MS;
  const endpoint = `${cfg.url.replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
    ...(cfg.apiKey !== undefined && { authorization: `Bearer ${cfg.apiKey}` }),
  };

  // Outcome codes only: never the utterance, the question, the gist or the model's reply.
  function log(fields: LogFields): void {
    const failed = fields.outcome === 'model_error' || fields.outcome === 'timeout';
    deps.logger[failed ? 'warn' : 'info']({ voiceAgent: fields }, 'voice agent');
  }

  async function complete(messages: ChatMessage[], extra: Record<string, unknown>): Promise<Completion> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const res = await doFetch(endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: cfg.model, messages, stream: false, store: false, ...extra }),
        signal,
        redirect: 'error',
      });
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        return { ok: false, outcome: 'model_error', status: res.status };
      }
      const text = await readCapped(res, MAX_RESPONSE_BYTES);
      if (text === undefined) return { ok: false, outcome: 'malformed', status: res.status };
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return { ok: false, outcome: 'malformed', status: res.status };
      }
      const choices = (body as { choices?: unknown } | null)?.choices;
      const message = Array.isArray(choices)
        ? (choices[0] as { message?: { content?: unknown } } | undefined)?.message
        : undefined;
      if (typeof message?.content !== 'string')
        return { ok: false, outcome: 'malformed', status: res.status };
      return { ok: true, content: message.content };
    } catch {
      return { ok: false, outcome: signal.aborted ? 'timeout' : 'model_error' };
    }
  }

  return {
    async classify(utterance) {
      const local = matchIntentLocally(utterance);
      if (local !== undefined) {
        log({ op: 'classify', outcome: 'local', intent: local });
        return local;
      }
      const reply = await complete(buildClassifyMessages(utterance), {
        temperature: 0,
        max_tokens: 32,
        response_format: { type: 'json_object' },
      });
      if (!reply.ok) {
        log({ op: 'classify', outcome: reply.outcome, intent: 'unclear', status: reply.status });
        return 'unclear';
      }
      const intent = parseClassifyReply(reply.content, utterance);
      log({ op: 'classify', outcome: 'classified', intent });
      return intent;
    },

    async answer(question, context) {
      if (normaliseUtterance(question) === '') {
        log({ op: 'answer', outcome: 'empty' });
        return undefined;
      }
      const reply = await complete(buildAnswerMessages(question, context), {
        temperature: 0.2,
        max_tokens: 150,
      });
      if (!reply.ok) {
        log({ op: 'answer', outcome: reply.outcome, status: reply.status });
        return undefined;
      }
      const text = sanitiseAnswer(reply.content);
      log({ op: 'answer', outcome: text === undefined ? 'dropped' : 'answered' });
      return text;
    },
  };
}
