import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
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

describe('ONY_TELEGRAM_* configuration', () => {
  it('takes the bot username (with or without @) for deep links, and refuses junk', () => {
    expect(
      load({ ONY_TELEGRAM_BOT_TOKEN: TOKEN, ONY_TELEGRAM_BOT_USERNAME: '@acme_ony_bot' }).telegram
        ?.botUsername,
    ).toBe('acme_ony_bot');
    expect(problemsOf({ ONY_TELEGRAM_BOT_TOKEN: TOKEN, ONY_TELEGRAM_BOT_USERNAME: 'a b<script>' })).toEqual([
      "ONY_TELEGRAM_BOT_USERNAME must be the bot's @username, like @acme_ony_bot",
    ]);
  });

  it('is off without a bot token', () => {
    expect(load({}).telegram).toBeUndefined();
  });

  it('defaults to webhook mode behind an https public URL and to polling otherwise', () => {
    expect(
      load({ ONY_TELEGRAM_BOT_TOKEN: TOKEN, ONY_PUBLIC_URL: 'https://ony.example.com' }).telegram,
    ).toEqual({
      botToken: TOKEN,
      apiRoot: 'https://api.telegram.org',
      mode: 'webhook',
      webhookSecret: undefined,
      botUsername: undefined,
    });
    expect(load({ ONY_TELEGRAM_BOT_TOKEN: TOKEN }).telegram?.mode).toBe('polling');
    expect(
      load({
        ONY_TELEGRAM_BOT_TOKEN: TOKEN,
        ONY_PUBLIC_URL: 'https://ony.example.com',
        ONY_TELEGRAM_MODE: 'POLLING',
        ONY_TELEGRAM_API_ROOT: 'http://127.0.0.1:9999/',
        ONY_TELEGRAM_WEBHOOK_SECRET: 'a-secret_of-16-chars-or-more',
      }).telegram,
    ).toEqual({
      botToken: TOKEN,
      apiRoot: 'http://127.0.0.1:9999',
      mode: 'polling',
      webhookSecret: 'a-secret_of-16-chars-or-more',
    });
  });

  it('says what is wrong, without echoing the token', () => {
    const bad = problemsOf({ ONY_TELEGRAM_BOT_TOKEN: 'xoxb-not-a-telegram-token' });
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatch(/ONY_TELEGRAM_BOT_TOKEN must be the token @BotFather gave you/);
    expect(bad[0]).not.toContain('xoxb-not-a-telegram-token');

    expect(problemsOf({ ONY_TELEGRAM_BOT_TOKEN: TOKEN, ONY_TELEGRAM_MODE: 'webhook' })).toEqual([
      expect.stringMatching(/webhook needs an https ONY_PUBLIC_URL.*ONY_TELEGRAM_MODE=polling/),
    ]);
    expect(problemsOf({ ONY_TELEGRAM_BOT_TOKEN: TOKEN, ONY_TELEGRAM_MODE: 'push' })).toEqual([
      expect.stringMatching(/ONY_TELEGRAM_MODE must be webhook or polling/),
    ]);
    expect(problemsOf({ ONY_TELEGRAM_BOT_TOKEN: TOKEN, ONY_TELEGRAM_WEBHOOK_SECRET: 'short' })).toEqual([
      expect.stringMatching(/ONY_TELEGRAM_WEBHOOK_SECRET must be 16-256/),
    ]);
    expect(
      problemsOf({
        ONY_TELEGRAM_BOT_TOKEN: TOKEN,
        ONY_TELEGRAM_WEBHOOK_SECRET: 'has spaces in it, sixteen+',
      }),
    ).toHaveLength(1);
    expect(
      problemsOf({ ONY_TELEGRAM_BOT_TOKEN: TOKEN, ONY_TELEGRAM_API_ROOT: 'https://proxy.example/bot/' }),
    ).toEqual([expect.stringMatching(/ONY_TELEGRAM_API_ROOT must be an http\(s\) origin without a path/)]);
  });
});
