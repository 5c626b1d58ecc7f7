/**
 * What the server is told about a notebook: its cells' types, sources and
 * metadata.  The Python side decides which of them cite what and writes the
 * References cell, so both sides agree on one definition.  Pure.
 */
import { ICellSummary, REFERENCES_ROLE } from './protocol';
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
