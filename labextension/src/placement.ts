/**
 * Where a new cell goes: pure functions over cell indices and metadata, so
 * the placement rules can be read (and reasoned about) apart from JupyterLab.
 */

/**
 * Index for a new cell: right below the cell whose execution asked for it,
 * else below the active cell (a button click has no requesting cell: the
 * clicked output's cell is active), else at the end.
 */
export function insertionIndex(requestingIndex: number, activeIndex: number, cellCount: number): number {
  if (requestingIndex >= 0) {
    return requestingIndex + 1;
  }
  if (activeIndex >= 0 && activeIndex < cellCount) {
    return activeIndex + 1;
  }
  return cellCount;
}

/** Index of the first cell whose `metadata[key].role` is `role`, or -1. */
export function indexOfRole(metadata: ReadonlyArray<Record<string, unknown>>, key: string, role: string): number {
  return metadata.findIndex(m => {
    const ours = m[key];
    return typeof ours === 'object' && ours !== null && (ours as Record<string, unknown>).role === role;
  });
}
