import { describe, expect, it } from 'vitest';

import { cellSources, hasReferencesCell } from '../src/notebookCells';
import { REFERENCES_ROLE } from '../src/protocol';

function cell(cell_type: string, source: string, metadata: unknown = {}) {
  return { cell_type, getSource: () => source, getMetadata: () => metadata };
}

describe('cellSources', () => {
  it('sends every cell with its type, source and metadata', () => {
    const cells = [cell('markdown', '[@a]'), cell('code', 'x = 1', { tags: ['t'] }), cell('raw', '', undefined)];
    expect(cellSources(cells)).toEqual([
      { cell_type: 'markdown', source: '[@a]', metadata: {} },
      { cell_type: 'code', source: 'x = 1', metadata: { tags: ['t'] } },
      { cell_type: 'raw', source: '', metadata: {} }
    ]);
  });
});

describe('hasReferencesCell', () => {
  it('sees the cell marked with the references role', () => {
    const marked = cellSources([cell('markdown', '## References', { paper_widgets: { role: REFERENCES_ROLE } })]);
    expect(hasReferencesCell(marked, 'paper_widgets')).toBe(true);
    expect(hasReferencesCell(cellSources([cell('markdown', '## References')]), 'paper_widgets')).toBe(false);
  });
});
