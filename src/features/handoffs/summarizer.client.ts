/**
 * The optional payload summarizer's model call (docs/summarizer.md): one chat completion on the
 * operator's OpenAI-compatible API (OpenAI, Ollama, vLLM, llama.cpp...), off unless
 * ONY_SUMMARIZER_URL is set. Same protocol as the voice agent (channels/telephony/voice-agent.ts):
 * `POST {base}/chat/completions`, `Authorization: Bearer <key>`, `{choices: [{message: {content}}]}`.
 *
 * What leaves is `buildSummaryMessages` (core/summary): the redacted, bounded request, nothing else.
 * What comes back is accepted only through `checkSummary`. Any failure (network error, non-2xx,
 * timeout, a reply too large or of the wrong shape, a refused answer) answers `deterministic` with a
 * closed-enum reason; it never throws. The log gets the outcome code and an HTTP status, never the
 * request or the reply.
 */
import type { SummarizerConfig } from '../../config/summarizer.js';
import {
  buildSummaryMessages,
  checkSummary,
  SUMMARY_LIMITS,
  type SummaryInput,
  type SummaryRefusal,
} from '../../core/summary/index.js';
import type { Logger } from '../../lib/logger.js';
import { readCapped } from '../../lib/read-capped.js';

/** A chat completion with a 300-character answer is far smaller than this. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export type SummaryFailure = 'timeout' | 'http_error' | 'network_error' | 'malformed' | SummaryRefusal;

export type SummaryOutcome =
  | { readonly source: 'model'; readonly text: string }
  | { readonly source: 'deterministic'; readonly reason: SummaryFailure };

export interface Summarizer {
  /** Never throws: any failure is `deterministic` with its reason. */
  summarize(input: SummaryInput): Promise<SummaryOutcome>;
}

export interface SummarizerDeps {
  readonly logger: Logger;
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

export function createSummarizer(cfg: SummarizerConfig, deps: SummarizerDeps): Summarizer {
  const doFetch = deps.fetch ?? globalThis.fetch;
  const endpoint = `${cfg.url.replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
    ...(cfg.apiKey !== undefined && { authorization: `Bearer ${cfg.apiKey}` }),
  };

  async function complete(input: SummaryInput): Promise<SummaryOutcome> {
    const signal = AbortSignal.timeout(cfg.timeoutMs);
    const fail = (reason: SummaryFailure): SummaryOutcome => ({ source: 'deterministic', reason });
    try {
      const res = await doFetch(endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          model: cfg.model,
          messages: buildSummaryMessages(input),
          temperature: 0,
          max_tokens: SUMMARY_LIMITS.maxTokens,
          stream: false,
          store: false,
        }),
        signal,
        redirect: 'error',
      });
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        return fail('http_error');
      }
      const text = await readCapped(res, MAX_RESPONSE_BYTES);
      if (text === undefined) return fail('malformed');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return fail('malformed');
      }
      const choices = (body as { choices?: unknown } | null)?.choices;
      const choice = Array.isArray(choices)
        ? (choices[0] as { message?: { content?: unknown }; finish_reason?: unknown } | undefined)
        : undefined;
      if (typeof choice?.message?.content !== 'string') return fail('malformed');
      // A reply cut at max_tokens is not the answer the model meant.
      if (choice.finish_reason === 'length') return fail('too_long');
      const checked = checkSummary(choice.message.content);
      return checked.ok ? { source: 'model', text: checked.text } : fail(checked.reason);
    } catch {
      return fail(signal.aborted ? 'timeout' : 'network_error');
    }
  }

  return {
    async summarize(input) {
      const outcome = await complete(input);
      // Outcome codes only: never the request, the payload or the model's reply.
      if (outcome.source === 'model') deps.logger.info({ summarizer: { outcome: 'model' } }, 'summarizer');
      else deps.logger.warn({ summarizer: { outcome: outcome.reason } }, 'summarizer fell back to the gist');
      return outcome;
    },
  };
}
