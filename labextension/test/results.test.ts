import { describe, expect, it } from 'vitest';

import { IPaperSummary } from '../src/paperApi';
import { LatestOnly, byline, openingRows, rows, segments } from '../src/results';

function paper(key: string, extra: Partial<IPaperSummary> = {}): IPaperSummary {
  return { key, title: key, title_spans: [], authors: [], year: null, upvotes: null, ...extra };
}

describe('segments', () => {
  it('cuts the text at the spans, marking the matches', () => {
    expect(
      segments('Gradient Surgery for MTL', [
        [0, 8],
        [9, 16]
      ])
    ).toEqual([
      { text: 'Gradient', match: true },
      { text: ' ', match: false },
      { text: 'Surgery', match: true },
      { text: ' for MTL', match: false }
    ]);
  });
  it('keeps markup-looking text as plain text', () => {
    expect(segments('<img src=x onerror=alert(1)>', [])).toEqual([
      { text: '<img src=x onerror=alert(1)>', match: false }
    ]);
  });
  it('clips spans beyond the text and skips overlaps', () => {
    expect(segments('abc', [[1, 10]])).toEqual([
      { text: 'a', match: false },
      { text: 'bc', match: true }
    ]);
    expect(
      segments('abcdef', [
        [0, 3],
        [2, 4]
      ])
    ).toEqual([
      { text: 'abc', match: true },
      { text: 'd', match: true },
      { text: 'ef', match: false }
    ]);
    expect(segments('', [])).toEqual([{ text: '', match: false }]);
  });
});

describe('byline', () => {
  it('shows what is known', () => {
    expect(byline(paper('k', { authors: ['Yu', 'Kumar', 'Gupta'], year: 2020, upvotes: 12 }))).toBe(
      'Yu, Kumar et al. · 2020 · 12 upvotes'
    );
    expect(byline(paper('k', { authors: ['Yu', 'Kumar'] }))).toBe('Yu, Kumar');
    expect(byline(paper('k', { year: 2024 }), n => `▲${n}`)).toBe('2024');
    expect(byline(paper('k', { upvotes: 3 }), n => `▲${n}`)).toBe('▲3');
    expect(byline(paper('k'))).toBe('');
  });
});

describe('rows and the opening list', () => {
  it('flags what the notebook cites', () => {
    expect(rows([paper('a'), paper('b')], new Set(['b'])).map(r => r.cited)).toEqual([false, true]);
  });
  it('lists cited papers first, then recent ones not cited, up to the limit', () => {
    const opening = openingRows([paper('c1'), paper('c2')], [paper('r1'), paper('c1'), paper('r2'), paper('r3')], 4);
    expect(opening.map(r => [r.paper.key, r.cited])).toEqual([
      ['c1', true],
      ['c2', true],
      ['r1', false],
      ['r2', false]
    ]);
    expect(openingRows([paper('c1'), paper('c2')], [paper('r1')], 1).map(r => r.paper.key)).toEqual(['c1', 'c2']);
  });
});

describe('LatestOnly', () => {
  it('accepts only the newest ticket', () => {
    const latest = new LatestOnly();
    const first = latest.next();
    const second = latest.next();
    expect(latest.isLatest(first)).toBe(false);
    expect(latest.isLatest(second)).toBe(true);
  });
});
