import { describe, expect, it } from 'vitest';
import { CLOUD_READERS } from './cloud.js';
import { DATA_READERS } from './data.js';
import { FILE_READERS } from './files.js';
import { GIT_READERS } from './git.js';
import { SYSTEM_READERS } from './system.js';

describe('shell reader tables', () => {
  it('give each program one reader, and leave the walker its own commands', () => {
    const names = [FILE_READERS, GIT_READERS, CLOUD_READERS, SYSTEM_READERS, DATA_READERS].flatMap((table) =>
      table.flatMap(([programs]) => programs),
    );
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    expect(names.filter((n) => ['cd', 'pushd', 'eval', 'source', '.'].includes(n))).toEqual([]);
    expect(names.filter((n) => n !== n.toLowerCase())).toEqual([]);
  });
});
