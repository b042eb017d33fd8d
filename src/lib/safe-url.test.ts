import { describe, expect, it } from 'vitest';
import { connectErrorMessage, safeUrl } from './safe-url.js';

describe('safeUrl', () => {
  it('keeps scheme, user, host, port and path; drops the password and the query', () => {
    expect(safeUrl('postgres://ony:s3cret@db.internal:5432/ony?sslpassword=s3cret2')).toBe(
      'postgres://ony@db.internal:5432/ony',
    );
    expect(safeUrl('redis://:s3cret@127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(safeUrl('rediss://default:s3cret@cache:6380/2')).toBe('rediss://default@cache:6380/2');
  });

  it('never echoes what it cannot parse', () => {
    expect(safeUrl('postgres://ony:s3cret@[bad')).toBe('(an unparseable URL)');
  });
});

describe('connectErrorMessage', () => {
  it('spells out an AggregateError with an empty message', () => {
    const refused = (addr: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${addr}`), { code: 'ECONNREFUSED' });
    const err = new AggregateError([refused('::1:5432'), refused('127.0.0.1:5432')], '');
    expect(connectErrorMessage(err)).toBe(
      'connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432',
    );
  });

  it('falls back to the code, then the name', () => {
    expect(connectErrorMessage(Object.assign(new Error(''), { code: 'ETIMEDOUT' }))).toBe('ETIMEDOUT');
    expect(connectErrorMessage(new Error('connect ECONNREFUSED 127.0.0.1:1'))).toBe(
      'connect ECONNREFUSED 127.0.0.1:1',
    );
  });
});
