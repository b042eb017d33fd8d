import { describe, expect, it } from 'vitest';
import { shown, shownParts } from './shown';

describe('shown', () => {
  it('shows a right-to-left override, a zero-width space and a look-alike letter, never applies them', () => {
    const title = 'invoice\u202Egnp.exe \u200Br\u043C -rf';
    expect(shown(title)).toBe('invoice⟨U+202E⟩gnp.exe ⟨U+200B⟩r⟨U+043C⟩ -rf');
    expect(shownParts(title)).toEqual([
      { text: 'invoice', escape: false },
      { text: '⟨U+202E⟩', escape: true },
      { text: 'gnp.exe ', escape: false },
      { text: '⟨U+200B⟩', escape: true },
      { text: 'r', escape: false },
      { text: '⟨U+043C⟩', escape: true },
      { text: ' -rf', escape: false },
    ]);
  });

  it('leaves ordinary text as one plain part', () => {
    expect(shownParts('Deploy api to production')).toEqual([
      { text: 'Deploy api to production', escape: false },
    ]);
    expect(shownParts('')).toEqual([]);
  });
});
