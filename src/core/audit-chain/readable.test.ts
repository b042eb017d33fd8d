import { describe, expect, it } from 'vitest';
import { auditCsvLine, csvCell, erasedPseudonym, nameOf, type ReadableNames } from './readable.js';

const names: ReadableNames = {
  members: new Map([
    ['11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa', { name: 'Alice', erased: false }],
    ['22222222-bbbb-4bbb-8bbb-bbbbbbbbbbbb', { name: 'Erased member', erased: true }],
  ]),
  devices: new Map([['33333333-cccc-4ccc-8ccc-cccccccccccc', 'ci']]),
  handoffs: new Map([['44444444-dddd-4ddd-8ddd-dddddddddddd', { shortCode: 'K7Q2', title: 'Deploy' }]]),
};

describe('csvCell', () => {
  it('defuses formulas and quotes what RFC 4180 needs quoted', () => {
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\t=1')).toBe("'\t=1");
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('=a,b')).toBe(`"'=a,b"`);
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell(null)).toBe('');
    expect(csvCell('plain')).toBe('plain');
  });
});

describe('nameOf', () => {
  it('names members (erased ones by pseudonym), devices and handoffs; unknown ids stay unnamed', () => {
    expect(nameOf(names, 'member', '11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa').name).toBe('Alice');
    expect(nameOf(names, 'member', '22222222-bbbb-4bbb-8bbb-bbbbbbbbbbbb').name).toBe(
      erasedPseudonym('22222222-bbbb-4bbb-8bbb-bbbbbbbbbbbb'),
    );
    expect(erasedPseudonym('22222222-bbbb-4bbb-8bbb-bbbbbbbbbbbb')).toBe('Erased member 22222222');
    expect(nameOf(names, 'device', '33333333-cccc-4ccc-8ccc-cccccccccccc').name).toBe('ci');
    expect(nameOf(names, 'handoff', '44444444-dddd-4ddd-8ddd-dddddddddddd')).toEqual({
      name: 'Deploy',
      shortCode: 'K7Q2',
    });
    expect(nameOf(names, 'invite', '11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa').name).toBeNull();
    expect(nameOf(names, 'member', null).name).toBeNull();
  });

  it('one CSV line per entry', () => {
    const line = auditCsvLine(
      {
        seq: 7,
        at: new Date('2026-12-07T10:00:00Z'),
        actorType: 'device',
        actorId: '33333333-cccc-4ccc-8ccc-cccccccccccc',
        action: 'handoff.created',
        subjectType: 'handoff',
        subjectId: '44444444-dddd-4ddd-8ddd-dddddddddddd',
        meta: { risk: 'high' },
        hash: 'ab',
      },
      names,
    );
    expect(line).toBe(
      '7,2026-12-07T10:00:00.000Z,device,33333333-cccc-4ccc-8ccc-cccccccccccc,ci,handoff.created,handoff,' +
        '44444444-dddd-4ddd-8ddd-dddddddddddd,K7Q2,Deploy,"{""risk"":""high""}",ab\r\n',
    );
  });
});
