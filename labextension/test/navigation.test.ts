import { describe, expect, it } from 'vitest';

import { isMoveKey, keysToCite, move, togglePick } from '../src/navigation';

describe('move', () => {
  it('steps one row and stops at the ends', () => {
    expect(move(0, 'ArrowDown', 5, 3)).toBe(1);
    expect(move(4, 'ArrowDown', 5, 3)).toBe(4);
    expect(move(0, 'ArrowUp', 5, 3)).toBe(0);
    expect(move(3, 'ArrowUp', 5, 3)).toBe(2);
  });
  it('moves a page, clamped', () => {
    expect(move(0, 'PageDown', 10, 4)).toBe(4);
    expect(move(8, 'PageDown', 10, 4)).toBe(9);
    expect(move(5, 'PageUp', 10, 4)).toBe(1);
    expect(move(2, 'PageUp', 10, 4)).toBe(0);
    expect(move(0, 'PageDown', 10, 0)).toBe(1);
  });
  it('jumps with Home and End', () => {
    expect(move(3, 'Home', 10, 4)).toBe(0);
    expect(move(3, 'End', 10, 4)).toBe(9);
  });
  it('starts from no selection and handles empty or shrunk lists', () => {
    expect(move(-1, 'ArrowDown', 3, 3)).toBe(0);
    expect(move(-1, 'ArrowUp', 3, 3)).toBe(0);
    expect(move(0, 'ArrowDown', 0, 3)).toBe(-1);
    expect(move(7, 'ArrowUp', 3, 3)).toBe(1);
  });
  it('knows its keys', () => {
    expect(isMoveKey('PageDown')).toBe(true);
    expect(isMoveKey('Enter')).toBe(false);
  });
});

describe('picking several', () => {
  it('toggles keys in picking order', () => {
    expect(togglePick([], 'a')).toEqual(['a']);
    expect(togglePick(['a'], 'b')).toEqual(['a', 'b']);
    expect(togglePick(['a', 'b'], 'a')).toEqual(['b']);
  });
  it('cites the picked keys plus the selected row', () => {
    expect(keysToCite([], 'x')).toEqual(['x']);
    expect(keysToCite(['a', 'b'], 'x')).toEqual(['a', 'b', 'x']);
    expect(keysToCite(['a', 'x'], 'x')).toEqual(['a', 'x']);
    expect(keysToCite(['a'], null)).toEqual(['a']);
    expect(keysToCite([], null)).toEqual([]);
  });
});
