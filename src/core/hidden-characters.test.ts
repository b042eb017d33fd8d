import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findHiddenCharacters, hasHiddenCharacters, showHidden } from './hidden-characters.js';

describe('hidden characters', () => {
  it('finds bidi controls, invisible characters, controls and look-alike letters', () => {
    expect(findHiddenCharacters('png.\u202Eexe')).toEqual([{ kind: 'bidi', codePoint: 0x202e, index: 4 }]);
    expect(findHiddenCharacters('a\u200Bb')[0]).toMatchObject({ kind: 'invisible', codePoint: 0x200b });
    expect(findHiddenCharacters('a\u0000b')[0]).toMatchObject({ kind: 'control', codePoint: 0 });
    expect(findHiddenCharacters('\u001b[31mred')[0]).toMatchObject({ kind: 'control', codePoint: 0x1b });
    expect(findHiddenCharacters('x\u{E0041}')[0]).toMatchObject({ kind: 'invisible', codePoint: 0xe0041 });
    // Cyrillic м inside a Latin command word
    expect(findHiddenCharacters('r\u043C -rf /')).toEqual([
      { kind: 'confusable', codePoint: 0x43c, index: 1 },
    ]);
  });

  it('leaves ordinary text alone: tabs, newlines, accents, whole words in other scripts, emoji', () => {
    for (const text of [
      'a\tb\r\nc',
      'naïve café Straße',
      'Привет мир and hello',
      'Ελληνικά',
      'ok 👍🏽 ❤️',
      '日本語のテキスト',
    ])
      expect(hasHiddenCharacters(text)).toBe(false);
  });

  it('shows hidden characters as visible escapes and never applies them', () => {
    expect(showHidden('png.\u202Eexe')).toBe('png.⟨U+202E⟩exe');
    expect(showHidden('r\u043C -rf /')).toBe('r⟨U+043C⟩ -rf /');
    expect(showHidden('a\u0000b\tc\n')).toBe('a⟨U+0000⟩b\tc\n');
    expect(showHidden('x\u{E0041}')).toBe('x⟨U+E0041⟩');
  });

  it('leaves nothing hidden, whatever the input, and is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
        const shown = showHidden(s);
        expect(hasHiddenCharacters(shown)).toBe(false);
        expect(showHidden(shown)).toBe(shown);
      }),
      { numRuns: 500 },
    );
  });
});
