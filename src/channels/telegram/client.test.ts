import { TelegramError } from 'telegraf';
import { describe, expect, it } from 'vitest';
import { classifyTelegramError, describeError } from './client.js';

describe('classifyTelegramError', () => {
  it('retries 429 after retry_after, 5xx and refused connections; nothing else', () => {
    expect(
      classifyTelegramError(
        new TelegramError({
          error_code: 429,
          description: 'Too Many Requests',
          parameters: { retry_after: 3 },
        }),
      ),
    ).toEqual({ retry: true, afterMs: 3000 });
    expect(
      classifyTelegramError(new TelegramError({ error_code: 429, description: 'Too Many Requests' })),
    ).toEqual({
      retry: true,
    });
    expect(classifyTelegramError(new TelegramError({ error_code: 502, description: 'Bad Gateway' }))).toEqual(
      {
        retry: true,
      },
    );
    expect(classifyTelegramError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toEqual({
      retry: true,
    });
    for (const code of [400, 401, 403, 404, 409])
      expect(classifyTelegramError(new TelegramError({ error_code: code, description: 'no' }))).toEqual({
        retry: false,
      });
    expect(classifyTelegramError(new DOMException('timed out', 'TimeoutError'))).toEqual({ retry: false });
  });

  it('describes errors without the bot token', () => {
    const e = new Error('request to http://x/bot123456:AAAAAAAAAAAAAAAAAAAA/getMe failed');
    expect(JSON.stringify(describeError(e))).not.toContain('AAAAAAAAAAAAAAAAAAAA');
    expect(
      describeError(
        new TelegramError({ error_code: 403, description: 'Forbidden: bot was blocked by the user' }),
      ),
    ).toEqual({
      code: 403,
      description: 'Forbidden: bot was blocked by the user',
    });
  });
});
