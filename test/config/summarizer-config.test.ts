import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

const load = (env: Record<string, string>) => loadConfig({ ONY_LOG_LEVEL: 'silent', ...env }, '/tmp');

function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('ONY_SUMMARIZER_* configuration', () => {
  it('is off by default', () => {
    expect(load({}).summarizer).toBeUndefined();
  });

  it('takes an OpenAI-compatible base, its key, model and timeout', () => {
    expect(
      load({
        ONY_SUMMARIZER_URL: 'http://127.0.0.1:11434/v1/',
        ONY_SUMMARIZER_API_KEY: 'sk-local',
        ONY_SUMMARIZER_MODEL: 'llama3.2',
        ONY_SUMMARIZER_TIMEOUT_MS: '2500',
      }).summarizer,
    ).toEqual({ url: 'http://127.0.0.1:11434/v1', apiKey: 'sk-local', model: 'llama3.2', timeoutMs: 2500 });
    expect(load({ ONY_SUMMARIZER_URL: 'https://api.openai.com/v1' }).summarizer).toEqual({
      url: 'https://api.openai.com/v1',
      apiKey: undefined,
      model: 'gpt-4o-mini',
      timeoutMs: 5000,
    });
  });

  it('refuses a URL that is not http(s), a bad timeout or model, with what to do', () => {
    expect(problemsOf({ ONY_SUMMARIZER_URL: 'ftp://models.internal/v1' })).toEqual([
      'ONY_SUMMARIZER_URL must be the http(s) base of an OpenAI-compatible API, e.g. https://api.openai.com/v1 (got "ftp://models.internal/v1")',
    ]);
    expect(
      problemsOf({ ONY_SUMMARIZER_URL: 'https://api.openai.com/v1', ONY_SUMMARIZER_TIMEOUT_MS: '5' }),
    ).toEqual(['ONY_SUMMARIZER_TIMEOUT_MS must be an integer between 100 and 120000 (got "5")']);
    expect(
      problemsOf({ ONY_SUMMARIZER_URL: 'https://api.openai.com/v1', ONY_SUMMARIZER_MODEL: 'gpt 4o' }),
    ).toEqual(['ONY_SUMMARIZER_MODEL must be a model name without spaces, e.g. gpt-4o-mini']);
  });

  it('refuses its other settings without the URL instead of silently staying off', () => {
    expect(problemsOf({ ONY_SUMMARIZER_API_KEY: 'sk-x' })).toEqual([
      'ONY_SUMMARIZER_API_KEY is set but ONY_SUMMARIZER_URL is not: set ONY_SUMMARIZER_URL to the http(s) base of an OpenAI-compatible API (e.g. https://api.openai.com/v1) to turn the summarizer on, or unset ONY_SUMMARIZER_API_KEY',
    ]);
  });
});
