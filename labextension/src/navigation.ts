/**
 * Keyboard navigation of a result list and picking several results: pure
 * functions over indices and key sets, so the rules are read (and tested)
 * apart from the DOM.
 */

/** The keys that move the selection. */
export const MOVE_KEYS = ['ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', 'Home', 'End'] as const;
export type MoveKey = (typeof MOVE_KEYS)[number];

export function isMoveKey(key: string): key is MoveKey {
  return (MOVE_KEYS as ReadonlyArray<string>).includes(key);
}

/**
 * The selected index after `key` in a list of `count` rows showing `page`
 * rows at once.  Up/Down move one and stop at the ends; PageUp/PageDown move a
 * page; Home/End jump.  An empty list has no selection (-1).
 */
export function move(index: number, key: MoveKey, count: number, page: number): number {
  if (count <= 0) {
    return -1;
  }
  const last = count - 1;
  const step = Math.max(1, page);
  const from = Math.min(Math.max(index, -1), last);
  let to: number;
  switch (key) {
    case 'ArrowUp':
      to = from - 1;
      break;
    case 'ArrowDown':
      to = from + 1;
      break;
    case 'PageUp':
      to = from - step;
      break;
    case 'PageDown':
      to = from + step;
      break;
    case 'Home':
      to = 0;
      break;
    case 'End':
      to = last;
      break;
  }
  return Math.min(Math.max(to, 0), last);
}

/** `picked` with `key` added, or removed when it was there (order of picking kept). */
export function togglePick(picked: ReadonlyArray<string>, key: string): string[] {
  return picked.includes(key) ? picked.filter(k => k !== key) : [...picked, key];
}

/**
 * The keys Enter cites: the picked ones in picking order, plus the selected
 * row when it was not picked; just the selected row when nothing was picked.
 */
export function keysToCite(picked: ReadonlyArray<string>, selected: string | null): string[] {
  if (selected === null || picked.includes(selected)) {
    return [...picked];
  }
  return [...picked, selected];
}
