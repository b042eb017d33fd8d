import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from './db-unavailable.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['connection refused', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['connection reset', withCode('read ECONNRESET', 'ECONNRESET')],
    ['broken pipe', withCode('write EPIPE', 'EPIPE')],
    ['host unreachable', withCode('connect EHOSTUNREACH 10.0.0.9:5432', 'EHOSTUNREACH')],
    ['DNS not answering', withCode('getaddrinfo EAI_AGAIN db', 'EAI_AGAIN')],
    ['connection terminated', new Error('Connection terminated unexpectedly')],
    ['connection timeout', new Error('Connection terminated due to connection timeout')],
    ['pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['a broken client', new Error('Client has encountered a connection error and is not queryable')],
    ['admin shutdown 57P01', withCode('terminating connection due to administrator command', '57P01')],
    [
      'crash shutdown 57P02',
      withCode('terminating connection because of crash of another server process', '57P02'),
    ],
    ['cannot connect now 57P03', withCode('the database system is starting up', '57P03')],
    ['too many connections 53300', withCode('sorry, too many clients already', '53300')],
    ['class 08: connection failure', withCode('connection failure', '08006')],
    ['class 08: unable to connect', withCode('could not connect', '08001')],
    ['class 08: protocol violation', withCode('protocol violation', '08P01')],
    ['wrapped in a cause', new Error('query failed', { cause: withCode('x', 'ECONNREFUSED') })],
    [
      "Node's happy-eyeballs AggregateError",
      Object.assign(new AggregateError([withCode('a', 'ECONNREFUSED'), withCode('b', 'ECONNREFUSED')]), {
        code: 'ECONNREFUSED',
      }),
    ],
    ['an AggregateError without its own code', new AggregateError([withCode('a', 'ECONNREFUSED')])],
  ])('%s: unavailable', (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    ['a unique violation', withCode('duplicate key value', '23505')],
    ['a serialization failure', withCode('could not serialize access', '40001')],
    ['RLS refusal', withCode('new row violates row-level security policy', '42501')],
    ['a syntax error', withCode('syntax error at or near', '42601')],
    [
      'a statement timeout (a slow query, not an outage)',
      withCode('canceling statement due to statement timeout', '57014'),
    ],
    ['an ordinary bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a pool that was closed on purpose', new Error('Cannot use a pool after calling end on the pool')],
    ['not an error', 'ECONNREFUSED'],
    ['null', null],
    [
      'a cause cycle',
      (() => {
        const e = new Error('a') as Error & { cause?: unknown };
        e.cause = e;
        return e;
      })(),
    ],
  ])('%s: not unavailable', (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });
});
