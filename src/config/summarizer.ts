/**
 * The optional payload summarizer (docs/summarizer.md): an OpenAI-compatible chat completions API
 * that the operator configures, like the voice agent. Off unless ONY_SUMMARIZER_URL is set; it is a
 * provider the operator chose (DESIGN.md §3.8: ony connects out to nothing else). Parsed by `loadConfig`.
 */
export interface SummarizerConfig {
  /** An OpenAI-compatible API base, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1. */
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly model: string;
  /** One model call, reading the reply included; past it the deterministic gist is used. */
  readonly timeoutMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const URL_RE = /^https?:\/\/[^\s?#]+$/;

/** Parses the summarizer variables; undefined (off) when ONY_SUMMARIZER_URL is unset. Problems are pushed. */
export function parseSummarizerConfig(
  env: Env,
  problems: string[],
  int: (name: string, fallback: number, min: number, max: number) => number,
): SummarizerConfig | undefined {
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const url = str('ONY_SUMMARIZER_URL');
  if (url === undefined) {
    for (const name of ['ONY_SUMMARIZER_API_KEY', 'ONY_SUMMARIZER_MODEL', 'ONY_SUMMARIZER_TIMEOUT_MS'])
      if (str(name) !== undefined)
        problems.push(
          `${name} is set but ONY_SUMMARIZER_URL is not: set ONY_SUMMARIZER_URL to the http(s) base of an OpenAI-compatible API (e.g. https://api.openai.com/v1) to turn the summarizer on, or unset ${name}`,
        );
    return undefined;
  }
  if (!URL_RE.test(url))
    problems.push(
      `ONY_SUMMARIZER_URL must be the http(s) base of an OpenAI-compatible API, e.g. https://api.openai.com/v1 (got "${url}")`,
    );
  const model = str('ONY_SUMMARIZER_MODEL') ?? 'gpt-4o-mini';
  if (model.length > 200 || /\s/.test(model))
    problems.push('ONY_SUMMARIZER_MODEL must be a model name without spaces, e.g. gpt-4o-mini');
  return Object.freeze({
    url: url.replace(/\/+$/, ''),
    apiKey: str('ONY_SUMMARIZER_API_KEY'),
    model,
    timeoutMs: int('ONY_SUMMARIZER_TIMEOUT_MS', 5_000, 100, 120_000),
  });
}
