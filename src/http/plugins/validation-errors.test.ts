import { describe, expect, it } from 'vitest';
import { validationDetail, validationMessages, type AjvIssue } from './validation-errors.js';

const c = (v: string, path = '/kind'): AjvIssue => ({
  keyword: 'const',
  instancePath: path,
  params: { allowedValue: v },
  message: 'must be equal to constant',
});
const anyOf = (path = '/kind'): AjvIssue => ({
  keyword: 'anyOf',
  instancePath: path,
  params: {},
  message: 'must match a schema in anyOf',
});

describe('validationMessages', () => {
  it('sums up a union of literals as one list of allowed values', () => {
    const errors = validationMessages([c('a'), c('b'), c('c'), anyOf()], 'body');
    expect(errors).toEqual([{ path: 'body/kind', message: 'must be one of: "a", "b", "c"' }]);
    expect(validationDetail(errors)).toBe('body/kind must be one of: "a", "b", "c"');
  });

  it('sums up a union of types ("string or null")', () => {
    const type = (t: string): AjvIssue => ({
      keyword: 'type',
      instancePath: '/x',
      params: { type: t },
      message: `must be ${t}`,
    });
    expect(validationMessages([type('string'), type('null'), anyOf('/x')], 'querystring')).toEqual([
      { path: 'querystring/x', message: 'must be string or null' },
    ]);
  });

  it('keeps a union whose branches failed deeper as it was, said once each', () => {
    const deep: AjvIssue = {
      keyword: 'type',
      instancePath: '/x/y',
      params: { type: 'string' },
      message: 'must be string',
    };
    expect(validationMessages([deep, deep, anyOf('/x')], 'body')).toEqual([
      { path: 'body/x/y', message: 'must be string' },
      { path: 'body/x', message: 'must match a schema in anyOf' },
    ]);
  });

  it('names an unknown field and lists an enum keyword', () => {
    expect(
      validationMessages(
        [
          { keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'bogus' } },
          {
            keyword: 'enum',
            instancePath: '/level',
            params: { allowedValues: ['low', 'high'] },
            message: 'x',
          },
        ],
        'body',
      ),
    ).toEqual([
      { path: 'body/bogus', message: 'is not a known field' },
      { path: 'body/level', message: 'must be one of: "low", "high"' },
    ]);
  });
});
