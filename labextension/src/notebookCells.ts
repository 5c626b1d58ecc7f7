/**
 * What the server is told about a notebook: its cells' types, sources and
 * metadata.  The Python side decides which of them cite what and writes the
 * References cell, so both sides agree on one definition.  Also the metadata
 * the plugin gives the cell it upserts.  Pure.
 */
import { PartialJSONObject } from '@lumino/coreutils';

import { ICellSummary, REFERENCES_ROLE, REMOVE_TAG } from './protocol';
import { indexOfRole } from './placement';

/** A cell as the shared model holds it (the few members used here). */
export interface ISharedCellLike {
  cell_type: string;
  getSource(): string;
  getMetadata(): unknown;
}

/** The cells as the server's `cited` and `references` routes take them. */
export function cellSources(cells: Iterable<ISharedCellLike>): ICellSummary[] {
  return Array.from(cells, cell => ({
    cell_type: cell.cell_type,
    source: cell.getSource(),
    metadata: (cell.getMetadata() ?? {}) as Record<string, unknown>
  }));
}

/** Whether the notebook has a References cell (marked under `metadataKey`). */
export function hasReferencesCell(cells: ReadonlyArray<ICellSummary>, metadataKey: string): boolean {
  return (
    indexOfRole(
      cells.map(c => c.metadata),
      metadataKey,
      REFERENCES_ROLE
    ) >= 0
  );
}

/**
 * The metadata of the cell upserted with `role`, from its `current` metadata:
 * the role marker under `metadataKey` (other fields there kept) and, for the
 * References cell, the `remove-cell` tag added to the tags it already has, so
 * Jupyter Book 1 and mystmd leave the cell out and print their own
 * bibliography from references.bib.  `tags` that are not a list (invalid
 * nbformat) cannot be kept and are replaced.
 */
export function upsertMetadata(current: PartialJSONObject, metadataKey: string, role: string): PartialJSONObject {
  const marker = current[metadataKey];
  const ours = typeof marker === 'object' && marker !== null && !Array.isArray(marker) ? marker : {};
  const next: PartialJSONObject = { ...current, [metadataKey]: { ...ours, role } };
  if (role === REFERENCES_ROLE) {
    const tags = Array.isArray(current.tags) ? current.tags : [];
    next.tags = tags.includes(REMOVE_TAG) ? tags : [...tags, REMOVE_TAG];
  }
  return next;
}
