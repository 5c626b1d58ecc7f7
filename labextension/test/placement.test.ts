import { describe, expect, it } from 'vitest';

import { indexOfRole, insertionIndex } from '../src/placement';

describe('insertionIndex', () => {
  it('goes right below the requesting cell first', () => {
    expect(insertionIndex(2, 5, 8)).toBe(3);
  });
  it('else below the active cell', () => {
    expect(insertionIndex(-1, 5, 8)).toBe(6);
  });
  it('else at the end', () => {
    expect(insertionIndex(-1, -1, 8)).toBe(8);
    expect(insertionIndex(-1, 8, 8)).toBe(8);
    expect(insertionIndex(-1, -1, 0)).toBe(0);
  });
});

describe('indexOfRole', () => {
  const key = 'paper_widgets';
  it('finds the first cell with the role under the key', () => {
    const cells = [
      {},
      { [key]: { inserted: true } },
      { [key]: { role: 'references' } },
      { [key]: { role: 'references' } }
    ];
    expect(indexOfRole(cells, key, 'references')).toBe(2);
  });
  it('ignores other keys, other roles and malformed metadata', () => {
    const cells = [
      { other: { role: 'references' } },
      { [key]: { role: 'toc' } },
      { [key]: 'references' },
      { [key]: null }
    ];
    expect(indexOfRole(cells, key, 'references')).toBe(-1);
  });
});
