/** ONY_METRICS_TOKEN / ONY_METRICS_LISTEN: off by default; a bad value is a clear start-up error. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

const problemsOf = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  return '';
};

describe('metrics config', () => {
  it('is off unless set', () => {
    expect(loadConfig({}).metrics).toEqual({ token: undefined, listen: undefined });
  });

  it('parses a token and host:port (IPv4, name, bracketed IPv6)', () => {
    const c = loadConfig({ ONY_METRICS_TOKEN: 'a'.repeat(32), ONY_METRICS_LISTEN: '127.0.0.1:9464' });
    expect(c.metrics).toEqual({ token: 'a'.repeat(32), listen: { host: '127.0.0.1', port: 9464 } });
    expect(loadConfig({ ONY_METRICS_LISTEN: 'metrics.internal:9100' }).metrics.listen).toEqual({
      host: 'metrics.internal',
      port: 9100,
    });
    expect(loadConfig({ ONY_METRICS_LISTEN: '[::1]:9464' }).metrics.listen).toEqual({
      host: '::1',
      port: 9464,
    });
  });

  it.each([
    [{ ONY_METRICS_TOKEN: 'short' }, /ONY_METRICS_TOKEN must be 16-256 printable characters/],
    [{ ONY_METRICS_TOKEN: 'has a space in it, sixteen+' }, /ONY_METRICS_TOKEN must be/],
    [{ ONY_METRICS_LISTEN: '9464' }, /ONY_METRICS_LISTEN must be host:port/],
    [{ ONY_METRICS_LISTEN: '127.0.0.1:99999' }, /ONY_METRICS_LISTEN must be host:port/],
    [{ ONY_METRICS_LISTEN: 'http://127.0.0.1:9464' }, /ONY_METRICS_LISTEN must be host:port/],
  ])('refuses %j', (env, message) => {
    expect(problemsOf(env)).toMatch(message);
  });

  it('never echoes a refused token', () => {
    expect(problemsOf({ ONY_METRICS_TOKEN: 'tiny-secret' })).not.toContain('tiny-secret');
  });
});
