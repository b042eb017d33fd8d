import { describe, expect, it } from 'vitest';
import { Findings } from '../findings.js';
import type { RiskInput } from '../types.js';
import { analyseText } from './text.js';

function read(input: Partial<RiskInput>): Findings {
  const out = new Findings();
  analyseText({ action: { type: 'other' }, title: 't', summary: '', ...input }, out);
  return out;
}

describe('text reading', () => {
  it('hidden characters are medium in prose and high in what runs', () => {
    expect(read({ title: 'png\u202Eexe' }).levels.get('hidden_characters')).toBe('medium');
    expect(read({ context: { host: 'web\u200B1' } }).levels.get('hidden_characters')).toBe('medium');
    expect(
      read({ payload: { kind: 'log', content: 'r\u043C -rf build' } }).levels.get('hidden_characters'),
    ).toBe('high');
    expect(read({ action: { type: 'other', target: 'a\u2066b' } }).levels.get('hidden_characters')).toBe(
      'high',
    );
  });

  it('ANSI colour codes alone in a payload stay medium', () => {
    expect(
      read({ payload: { kind: 'log', content: '\u001b[32mPASS\u001b[0m all' } }).levels.get(
        'hidden_characters',
      ),
    ).toBe('medium');
  });

  it('names the field and the escaped code points as evidence', () => {
    expect(read({ summary: 'x\u202Ey' }).evidence.get('hidden_characters')).toEqual(['summary: ⟨U+202E⟩']);
  });

  it('flags secrets in any field and nothing in clean text', () => {
    const key = ['ghp', '_', 'Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz2Xc4V'].join('');
    expect(read({ summary: `token ${key}` }).has('secret_in_payload')).toBe(true);
    expect(read({ title: 'Run the tests', summary: 'naïve café, Привет' }).reasons()).toEqual([]);
  });
});
