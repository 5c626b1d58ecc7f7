import { describe, expect, it } from 'vitest';

import { PaperApi, parseDetails, parseSummary, searchRoute } from '../src/paperApi';

const summary = { key: 'k', title: 'T', title_spans: [[0, 1]], authors: ['A'], year: 2020, upvotes: null };
const details = {
  ...summary,
  abstract: 'Abs',
  abstract_spans: [],
  published: '2020-01-02',
  url: null,
  arxiv_id: '2001.06782',
  note: null,
  tags: ['t'],
  status: 'unread',
  sources: ['x.txt']
};

/** A fake server: records each request and answers from a table. */
function fake(answers: Record<string, unknown>) {
  const sent: Array<{ route: string; method: string; body?: unknown }> = [];
  const api = new PaperApi(async (route, init) => {
    sent.push({ route, method: init.method, body: init.body === undefined ? undefined : JSON.parse(init.body) });
    const name = route.split('?')[0];
    if (!(name in answers)) {
      throw new Error(`no route ${name}`);
    }
    return answers[name];
  });
  return { api, sent };
}

describe('searchRoute', () => {
  it('puts the query and the set filters in the query string', () => {
    expect(searchRoute('gradient surgery')).toBe('search?q=gradient+surgery');
    const route = searchRoute('a&b', {
      limit: 5,
      sort: 'newest',
      yearFrom: 2020,
      yearTo: null,
      tags: ['x', 'y'],
      status: ''
    });
    expect(route).toBe('search?q=a%26b&limit=5&sort=newest&year_from=2020&tags=x%2Cy');
  });
});

describe('parsing answers', () => {
  it('reads summaries and details', () => {
    expect(parseSummary(summary)).toEqual(summary);
    expect(parseDetails(details)).toMatchObject({
      ...summary,
      abstract: 'Abs',
      arxiv_id: '2001.06782',
      status: 'unread'
    });
    expect(Object.keys(parseDetails(details))).not.toContain('sources');
    expect(parseDetails(details).note).toBeNull();
    expect(parseDetails(details).tags).toEqual(['t']);
  });
  it('refuses answers of another shape', () => {
    expect(() => parseSummary({ ...summary, year: '2020' })).toThrow(/cannot read/);
    expect(() => parseSummary({ ...summary, title_spans: [[0]] })).toThrow(/cannot read/);
    expect(() => parseDetails({ ...details, tags: 't' })).toThrow(/cannot read/);
  });
});

describe('PaperApi', () => {
  it('searches, reads and writes papers on their routes', async () => {
    const { api, sent } = fake({ search: { results: [summary], indexing: null }, 'papers/a%2Fb': details });
    expect(await api.search('q', { limit: 3 })).toEqual({ results: [summary], indexing: null });
    expect((await api.paper('a/b', 'q')).abstract).toBe('Abs');
    await api.annotate('a/b', { note: 'n', tags: ['x'] });
    expect(sent.map(s => [s.method, s.route])).toEqual([
      ['GET', 'search?q=q&limit=3'],
      ['GET', 'papers/a%2Fb?q=q'],
      ['PUT', 'papers/a%2Fb']
    ]);
    expect(sent[2].body).toEqual({ note: 'n', tags: ['x'] });
  });

  it('posts citations, snippets, BibTeX, cells and files', async () => {
    const { api, sent } = fake({
      cite: { text: '[@k]' },
      snippet: { text: '> s [@k]' },
      bibtex: { text: '@misc{k}' },
      cited: { keys: ['k', 'gone'], papers: [summary] },
      references: { text: '## References', bib: 'ch/references.bib' },
      files: { file: '/x/a.bib', added: 2, warnings: ['a.bib, line 3: bad'] },
      config: {
        style: 'myst',
        csl_style: null,
        library_paths: [],
        styles: ['myst'],
        sorts: ['relevance'],
        statuses: ['read']
      }
    });
    const cells = [{ cell_type: 'markdown', source: '[@k]', metadata: {} }];
    expect(await api.cite(['k'], 'pandoc')).toBe('[@k]');
    expect(await api.snippet('k', 'q')).toBe('> s [@k]');
    expect(await api.bibtex(['k'])).toBe('@misc{k}');
    expect(await api.cited(cells)).toEqual({ keys: ['k', 'gone'], papers: [summary] });
    expect(await api.references(cells, 'text', 'ch/draft.ipynb')).toEqual({
      text: '## References',
      bib: 'ch/references.bib'
    });
    expect(await api.upload('a.bib', '@misc{}')).toEqual({
      file: '/x/a.bib',
      added: 2,
      warnings: ['a.bib, line 3: bad']
    });
    expect((await api.configure({ style: 'myst' })).statuses).toEqual(['read']);
    expect(sent.map(s => s.body)).toEqual([
      { keys: ['k'], style: 'pandoc' },
      { key: 'k', query: 'q' },
      { keys: ['k'] },
      { cells },
      { cells, style: 'text', path: 'ch/draft.ipynb' },
      { name: 'a.bib', content: '@misc{}' },
      { style: 'myst' }
    ]);
  });

  it('rejects an answer without the expected field', async () => {
    const { api } = fake({
      cite: { txt: 'x' },
      search: { results: 'none' },
      config: { style: null, csl_style: null },
      references: { text: '## References' }
    });
    await expect(api.config()).rejects.toThrow(/no valid "library_paths"/);
    await expect(api.cite(['k'])).rejects.toThrow(/no valid "text"/);
    await expect(api.search('q')).rejects.toThrow(/no valid "results"/);
    await expect(api.references([], undefined, 'a.ipynb')).rejects.toThrow(/no valid "bib"/);
  });

  it('says when titles alone ranked a search: the abstracts indexed so far', async () => {
    const indexing = { done: 250, total: 1000 };
    const { api } = fake({ search: { query: 'q', results: [summary], indexing: { ...indexing, eta: 9 } } });
    expect(await api.search('q')).toEqual({ results: [summary], indexing });
    // A server of another version (no field, or the English sentence it sent before): a clear error.
    await expect(fake({ search: { results: [] } }).api.search('q')).rejects.toThrow(/no valid "indexing"/);
    const english = { results: [], indexing: 'indexing abstracts: 250 of 1,000 papers' };
    await expect(fake({ search: english }).api.search('q')).rejects.toThrow(/no valid "indexing"/);
  });

  it('reads the load status from its route', async () => {
    const loading = {
      state: 'loading',
      phase: 'Indexing papers',
      done: 10,
      total: 40,
      papers: 3,
      error: null,
      indexing: null
    };
    const { api, sent } = fake({ status: loading });
    expect(await api.status()).toEqual(loading);
    expect(sent).toEqual([{ route: 'status', method: 'GET', body: undefined }]);
    await expect(fake({ status: { state: 'loading' } }).api.status()).rejects.toThrow(/load status/);
  });
});
