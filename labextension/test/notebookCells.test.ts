import { describe, expect, it } from 'vitest';

import { cellSources, hasReferencesCell, upsertMetadata } from '../src/notebookCells';
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

describe('upsertMetadata', () => {
  it('marks a new References cell with its role and the remove-cell tag', () => {
    expect(upsertMetadata({}, 'paper_widgets', REFERENCES_ROLE)).toEqual({
      paper_widgets: { role: 'references' },
      tags: ['remove-cell']
    });
  });

  it('keeps the tags and metadata a References cell has and adds the tag once', () => {
    const current = { tags: ['hide-input', 'mine'], paper_widgets: { role: REFERENCES_ROLE, note: 'x' }, other: 1 };
    const next = upsertMetadata(current, 'paper_widgets', REFERENCES_ROLE);
    expect(next).toEqual({
      tags: ['hide-input', 'mine', 'remove-cell'],
      paper_widgets: { role: 'references', note: 'x' },
      other: 1
    });
    expect(current.tags).toEqual(['hide-input', 'mine']); // the cell's own metadata is not changed in place
    expect(upsertMetadata(next, 'paper_widgets', REFERENCES_ROLE)).toEqual(next); // already tagged: unchanged
  });

  it('replaces tags that are not a list and leaves cells of other roles untagged', () => {
    expect(upsertMetadata({ tags: 'remove-cell' }, 'paper_widgets', REFERENCES_ROLE).tags).toEqual(['remove-cell']);
    expect(upsertMetadata({ tags: ['t'] }, 'paper_widgets', 'summary')).toEqual({
      tags: ['t'],
      paper_widgets: { role: 'summary' }
    });
  });
});
