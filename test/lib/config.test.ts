import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

const key = Buffer.alloc(32, 7).toString('base64');

describe('config', () => {
  it('defaults to embedded mode with no environment at all', () => {
    const c = loadConfig({}, '/srv/ony');
    expect(c).toMatchObject({
      mode: 'embedded',
      port: 8080,
      host: '127.0.0.1',
      dataDir: '/srv/ony/data',
      migrateOnStart: true,
    });
    expect(c.masterKey).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.session)).toBe(true);
  });

  it('production mode needs a master key, and says how to make one', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://x@db/ony' })).toThrow(
      /ONY_MASTER_KEY is required.*ony keygen/,
    );
    const c = loadConfig({
      DATABASE_URL: 'postgres://x@db/ony',
      ONY_MASTER_KEY: key,
      REDIS_URL: 'redis://r:6379',
    });
    expect(c).toMatchObject({ mode: 'production', migrateOnStart: false, redisUrl: 'redis://r:6379' });
  });

  it('collects every problem with an actionable message', () => {
    try {
      loadConfig({
        ONY_MASTER_KEY: 'short',
        ONY_PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        ONY_LOG_LEVEL: 'loud',
        ONY_PUBLIC_URL: 'ftp://x',
      });
      throw new Error('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain(
        'ONY_MASTER_KEY must be 32 bytes, base64-encoded; generate one with `ony keygen`',
      );
      expect(msg).toContain('ONY_PORT must be an integer between 0 and 65535 (got "eighty")');
      expect(msg).toContain('DATABASE_URL must be a postgres:// URL');
      expect(msg).toContain('ONY_LOG_LEVEL must be one of');
      expect(msg).toContain('ONY_PUBLIC_URL must be an http(s) URL');
    }
  });

  it('takes one telephony provider and names what it is missing', () => {
    expect(loadConfig({}).telephony).toBeUndefined();
    const twilio = loadConfig({
      ONY_TELEPHONY_PROVIDER: 'Twilio',
      ONY_TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
      ONY_TWILIO_AUTH_TOKEN: 'token',
      ONY_TELEPHONY_FROM: '+14155550100',
    }).telephony;
    expect(twilio).toMatchObject({
      provider: { name: 'twilio', apiUrl: 'https://api.twilio.com' },
      from: '+14155550100',
      callsPer15Min: 3,
      smsPer15Min: 5,
      machineDetection: true,
      voiceAgent: undefined,
    });
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(problems({ ONY_TELEPHONY_PROVIDER: 'nexmo' })).toContain(
      'ONY_TELEPHONY_PROVIDER must be twilio, signalwire, telnyx or plivo (got "nexmo")',
    );
    const telnyx = problems({
      ONY_TELEPHONY_PROVIDER: 'telnyx',
      ONY_TELNYX_PUBLIC_KEY: 'c2hvcnQ=',
      ONY_TELEPHONY_FROM: '4155550100',
      ONY_TELEPHONY_CALLS_PER_15MIN: '0',
    });
    expect(telnyx).toContain('ONY_TELNYX_API_KEY is required with ONY_TELEPHONY_PROVIDER=telnyx');
    expect(telnyx).toContain('ONY_TELNYX_TEXML_APP_ID is required');
    expect(telnyx).toContain('ONY_TELNYX_PUBLIC_KEY must be a 32-byte Ed25519 public key, base64-encoded');
    expect(telnyx).toContain('ONY_TELEPHONY_FROM must be your provider number in E.164 form');
    expect(telnyx).toContain('ONY_TELEPHONY_CALLS_PER_15MIN must be an integer between 1 and 100');
    expect(problems({ ONY_TELEPHONY_PROVIDER: 'twilio', ONY_TWILIO_ACCOUNT_SID: 'SK123' })).toContain(
      'ONY_TWILIO_ACCOUNT_SID must look like AC followed by 32 hex digits',
    );
    const signalwire = problems({ ONY_TELEPHONY_PROVIDER: 'signalwire', ONY_SIGNALWIRE_PROJECT_ID: 'p1' });
    expect(signalwire).toContain('ONY_SIGNALWIRE_SPACE_URL is required');
    expect(signalwire).not.toContain('ONY_SIGNALWIRE_SPACE_URL must be');
    expect(signalwire).toContain('ONY_SIGNALWIRE_PROJECT_ID must be the project id, a UUID');
    // Credentials are never echoed back.
    expect(problems({ ONY_TELEPHONY_PROVIDER: 'plivo', ONY_PLIVO_AUTH_TOKEN: 'sekrit-token' })).not.toContain(
      'sekrit-token',
    );
  });

  it('risk analysis: two threads, a 2 s budget and a queue of 64 by default; bounds checked', () => {
    expect(loadConfig({}).risk).toEqual({ workers: 2, timeoutMs: 10_000, maxQueue: 64 });
    expect(Object.isFrozen(loadConfig({}).risk)).toBe(true);
    expect(
      loadConfig({ ONY_RISK_WORKERS: '4', ONY_RISK_TIMEOUT_MS: '500', ONY_RISK_MAX_QUEUE: '0' }).risk,
    ).toEqual({ workers: 4, timeoutMs: 500, maxQueue: 0 });
    expect(() => loadConfig({ ONY_RISK_WORKERS: '0' })).toThrow(
      /ONY_RISK_WORKERS must be an integer between 1/,
    );
    expect(() => loadConfig({ ONY_RISK_TIMEOUT_MS: '2s' })).toThrow(/ONY_RISK_TIMEOUT_MS/);
  });

  it('takes a separate migrate credential and the privileged-login override', () => {
    const db = { DATABASE_URL: 'postgres://ony_runtime@db/ony', ONY_MASTER_KEY: key };
    expect(loadConfig(db)).toMatchObject({
      migrateDatabaseUrl: undefined,
      allowPrivilegedDbLogin: false,
      migrateOnStart: false,
    });
    expect(
      loadConfig({
        ...db,
        ONY_MIGRATE_DATABASE_URL: 'postgres://ony@db/ony',
        ONY_ALLOW_PRIVILEGED_DB_LOGIN: '1',
      }),
    ).toMatchObject({
      migrateDatabaseUrl: 'postgres://ony@db/ony',
      allowPrivilegedDbLogin: true,
      // With the owner credential at hand, ony serve migrates at start (unless told not to).
      migrateOnStart: true,
    });
    expect(() => loadConfig({ ...db, ONY_MIGRATE_DATABASE_URL: 'mysql://x' })).toThrow(
      /ONY_MIGRATE_DATABASE_URL must be a postgres:\/\/ URL/,
    );
    expect(() => loadConfig({ ONY_MIGRATE_DATABASE_URL: 'postgres://ony@db/ony' })).toThrow(
      /ONY_MIGRATE_DATABASE_URL needs DATABASE_URL/,
    );
    expect(() => loadConfig({ ...db, ONY_ALLOW_PRIVILEGED_DB_LOGIN: 'maybe' })).toThrow(
      /ONY_ALLOW_PRIVILEGED_DB_LOGIN must be true or false/,
    );
  });

  it('sign-in throttle: delays per (account, address) and a budget per address; no lockout setting', () => {
    expect(loadConfig({}).loginThrottle).toEqual({
      freeFailures: 3,
      delayBaseSeconds: 1,
      delayMaxSeconds: 300,
      perIp: 100,
      windowSeconds: 3600,
    });
    expect(Object.isFrozen(loadConfig({}).loginThrottle)).toBe(true);
    expect(
      loadConfig({
        ONY_LOGIN_FREE_FAILURES: '5',
        ONY_LOGIN_DELAY_BASE_SECONDS: '2',
        ONY_LOGIN_DELAY_MAX_SECONDS: '60',
      }).loginThrottle,
    ).toMatchObject({ freeFailures: 5, delayBaseSeconds: 2, delayMaxSeconds: 60 });
    expect(() =>
      loadConfig({ ONY_LOGIN_DELAY_BASE_SECONDS: '10', ONY_LOGIN_DELAY_MAX_SECONDS: '5' }),
    ).toThrow(/ONY_LOGIN_DELAY_MAX_SECONDS \(5\) must be at least ONY_LOGIN_DELAY_BASE_SECONDS \(10\)/);
    expect(() => loadConfig({ ONY_LOGIN_FREE_FAILURES: '0' })).toThrow(
      /ONY_LOGIN_FREE_FAILURES must be an integer between 1/,
    );
    // The old lockout setting is refused with a pointer, not silently ignored.
    expect(() => loadConfig({ ONY_LOGIN_MAX_FAILURES_PER_ACCOUNT: '5' })).toThrow(
      /ONY_LOGIN_MAX_FAILURES_PER_ACCOUNT is gone.*ONY_LOGIN_FREE_FAILURES/,
    );
  });

  it('reads PORT when ONY_PORT is unset', () => {
    expect(loadConfig({ PORT: '3000' }).port).toBe(3000);
    expect(loadConfig({ PORT: '3000', ONY_PORT: '4000' }).port).toBe(4000);
  });
});

describe('.env.example', () => {
  it('documents every variable the config reads', async () => {
    const { readFile } = await import('node:fs/promises');
    const source = [
      await readFile(new URL('../../src/config/index.ts', import.meta.url), 'utf8'),
      await readFile(new URL('../../src/config/telephony.ts', import.meta.url), 'utf8'),
    ].join('\n');
    const example = await readFile(new URL('../../.env.example', import.meta.url), 'utf8');
    const names = [...source.matchAll(/(?:str|int|bool|need|url)\('([A-Z_]+)'/g)].map((m) => m[1]!);
    expect(names).toContain('ONY_TELNYX_PUBLIC_KEY');
    for (const name of new Set(names)) expect(example, name).toContain(name);
  });
});
