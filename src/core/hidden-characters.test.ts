import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  findHiddenCharacters,
  hasHiddenCharacters,
  showHidden,
  trimPartialEscape,
} from './hidden-characters.js';
import { gsm7Length } from './gist/gsm7.js';

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

  it('has an ASCII form for SMS (GSM-7 only) and a spoken form for calls', () => {
    const text = 'invoice\u202Egnp.exe r\u043C\u200B -rf';
    const ascii = showHidden(text, 'ascii');
    expect(ascii).toBe('invoice<U+202E>gnp.exe r<U+043C><U+200B> -rf');
    expect(gsm7Length(ascii)).toBe([...ascii].length);
    expect(showHidden(ascii, 'ascii')).toBe(ascii);
    expect(showHidden(text, 'speech')).toBe(
      'invoice (hidden character) gnp.exe r (look-alike letter)  (hidden character)  -rf',
    );
    for (const form of ['ascii', 'speech'] as const)
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
          expect(hasHiddenCharacters(showHidden(s, form))).toBe(false);
        }),
        { numRuns: 200 },
      );
  });

  it('drops an escape cut in half at the end of a cut text, and nothing else', () => {
    for (const cut of ['a ⟨', 'a ⟨U', 'a ⟨U+', 'a ⟨U+20', 'a <U+202', 'a (hidden cha', 'a (look-a'])
      expect(trimPartialEscape(cut)).toBe('a ');
    for (const whole of ['a ⟨U+202E⟩', 'a <U+202E>', 'a (hidden character)', 'a (see', 'plain', ''])
      expect(trimPartialEscape(whole)).toBe(whole);
  });
});
