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

  it('reads PORT when ONY_PORT is unset', () => {
    expect(loadConfig({ PORT: '3000' }).port).toBe(3000);
    expect(loadConfig({ PORT: '3000', ONY_PORT: '4000' }).port).toBe(4000);
  });
});

describe('.env.example', () => {
  it('documents every variable the config reads', async () => {
    const { readFile } = await import('node:fs/promises');
    const source = await readFile(new URL('../../src/config/index.ts', import.meta.url), 'utf8');
    const example = await readFile(new URL('../../.env.example', import.meta.url), 'utf8');
    const names = [...source.matchAll(/(?:str|int|bool)\('([A-Z_]+)'/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(10);
    for (const name of new Set(names)) expect(example, name).toContain(name);
  });
});
