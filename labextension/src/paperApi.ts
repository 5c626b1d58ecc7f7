/**
 * The paper_widgets server extension's REST API, typed: routes, request
 * bodies and checked answers.  Pure: the HTTP call itself is injected, so the
 * JupyterLab side passes `ServerConnection.makeRequest` and tests a fake.
 */
import { IIndexing, ILoadStatus, indexingCounts, isIndexing, parseStatus } from './loading';
import { ICellSummary } from './protocol';

/**
 * Sends one request to `/paper-widgets/<route>`; resolves with the parsed JSON answer, rejects on
 * HTTP errors (with a `LibraryLoading` while the server loads the library).
 */
export type Send = (route: string, init: { method: string; body?: string }) => Promise<unknown>;

/** One paper as a result list shows it; `title_spans` are [start, end) characters matching the query. */
export interface IPaperSummary {
  key: string;
  title: string;
  title_spans: Array<[number, number]>;
  authors: string[];
  year: number | null;
  upvotes: number | null;
}

/** One paper in full, with the user's note, tags and read status. */
export interface IPaperDetails extends IPaperSummary {
  abstract: string;
  abstract_spans: Array<[number, number]>;
  published: string | null;
  url: string | null;
  arxiv_id: string | null;
  note: string | null;
  tags: string[];
  status: string;
}

/** A search's answer: its results, and the abstracts' indexing when titles alone ranked them (else null). */
export interface ISearchResults {
  results: IPaperSummary[];
  indexing: IIndexing | null;
}

/** Search filters, as `Library.search` takes them. */
export interface ISearchFilters {
  limit?: number;
  sort?: 'relevance' | 'newest' | 'upvotes';
  yearFrom?: number | null;
  yearTo?: number | null;
  minUpvotes?: number | null;
  tags?: string[];
  status?: string;
}

/** What the server is configured with, and the choices the Python side defines. */
export interface IServerConfig {
  style: string | null;
  csl_style: string | null;
  library_paths: string[];
  styles: string[];
  sorts: string[];
  statuses: string[];
}

export interface IUploadResult {
  file: string;
  added: number;
  warnings: string[];
}

/** The path and query string of a search. */
export function searchRoute(query: string, filters: ISearchFilters = {}): string {
  const params = new URLSearchParams({ q: query });
  const put = (name: string, value: number | string | null | undefined) => {
    if (value !== null && value !== undefined && value !== '') {
      params.set(name, String(value));
    }
  };
  put('limit', filters.limit);
  put('sort', filters.sort);
  put('year_from', filters.yearFrom);
  put('year_to', filters.yearTo);
  put('min_upvotes', filters.minUpvotes);
  put('tags', filters.tags?.join(','));
  put('status', filters.status);
  return `search?${params.toString()}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSpans(value: unknown): value is Array<[number, number]> {
  return (
    Array.isArray(value) && value.every(s => Array.isArray(s) && s.length === 2 && s.every(n => Number.isInteger(n)))
  );
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(s => typeof s === 'string');
}

function isNumberOrNull(value: unknown): value is number | null {
  return value === null || typeof value === 'number';
}

function isStringOrNull(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

/** `value` as a paper summary, or an Error saying what is wrong (a server of another version). */
export function parseSummary(value: unknown): IPaperSummary {
  if (
    !isObject(value) ||
    typeof value.key !== 'string' ||
    typeof value.title !== 'string' ||
    !isSpans(value.title_spans) ||
    !isStrings(value.authors) ||
    !isNumberOrNull(value.year) ||
    !isNumberOrNull(value.upvotes)
  ) {
    throw new Error(`The paper_widgets server sent a paper this version cannot read: ${JSON.stringify(value)}`);
  }
  const { key, title, title_spans, authors, year, upvotes } = value;
  return { key, title, title_spans, authors, year, upvotes };
}

export function parseDetails(value: unknown): IPaperDetails {
  const summary = parseSummary(value);
  const v = value as Record<string, unknown>;
  if (
    typeof v.abstract !== 'string' ||
    !isSpans(v.abstract_spans) ||
    !isStringOrNull(v.published) ||
    !isStringOrNull(v.url) ||
    !isStringOrNull(v.arxiv_id) ||
    !isStringOrNull(v.note) ||
    !isStrings(v.tags) ||
    typeof v.status !== 'string'
  ) {
    throw new Error(`The paper_widgets server sent paper details this version cannot read: ${JSON.stringify(value)}`);
  }
  return {
    ...summary,
    abstract: v.abstract,
    abstract_spans: v.abstract_spans,
    published: v.published,
    url: v.url,
    arxiv_id: v.arxiv_id,
    note: v.note,
    tags: v.tags,
    status: v.status
  };
}

function field<T>(answer: unknown, name: string, check: (v: unknown) => v is T): T {
  if (!isObject(answer) || !check(answer[name])) {
    throw new Error(`The paper_widgets server's answer has no valid "${name}": ${JSON.stringify(answer)}`);
  }
  return answer[name] as T;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);

function parseConfig(answer: unknown): IServerConfig {
  return {
    style: field(answer, 'style', isStringOrNull),
    csl_style: field(answer, 'csl_style', isStringOrNull),
    library_paths: field(answer, 'library_paths', isStrings),
    styles: field(answer, 'styles', isStrings),
    sorts: field(answer, 'sorts', isStrings),
    statuses: field(answer, 'statuses', isStrings)
  };
}

/** What the references route answers: the cell's text and the .bib written, relative to the server root. */
export interface IReferences {
  text: string;
  bib: string | null;
}

/** The REST API of the server extension over an injected `send`. */
export class PaperApi {
  constructor(private readonly _send: Send) {}

  async search(query: string, filters: ISearchFilters = {}): Promise<ISearchResults> {
    const answer = await this._send(searchRoute(query, filters), { method: 'GET' });
    return {
      results: field(answer, 'results', isArray).map(parseSummary),
      indexing: indexingCounts(field(answer, 'indexing', isIndexing))
    };
  }

  async paper(key: string, query = ''): Promise<IPaperDetails> {
    const route = `papers/${encodeURIComponent(key)}?${new URLSearchParams({ q: query }).toString()}`;
    return parseDetails(await this._send(route, { method: 'GET' }));
  }

  async annotate(key: string, changes: { note?: string; tags?: string[]; status?: string }): Promise<IPaperDetails> {
    return parseDetails(
      await this._send(`papers/${encodeURIComponent(key)}`, { method: 'PUT', body: JSON.stringify(changes) })
    );
  }

  async cite(keys: string[], style?: string): Promise<string> {
    return field(await this._post('cite', { keys, style }), 'text', isString);
  }

  async snippet(key: string, query: string, style?: string): Promise<string> {
    return field(await this._post('snippet', { key, query, style }), 'text', isString);
  }

  async bibtex(keys: string[]): Promise<string> {
    return field(await this._post('bibtex', { keys }), 'text', isString);
  }

  /** The keys `cells` cite (in order) and the papers of those the library knows. */
  async cited(cells: ICellSummary[]): Promise<{ keys: string[]; papers: IPaperSummary[] }> {
    const answer = await this._post('cited', { cells });
    return { keys: field(answer, 'keys', isStrings), papers: field(answer, 'papers', isArray).map(parseSummary) };
  }

  /**
   * The References cell's text for `cells`, formatted by the Python side; with the notebook's
   * contents `path`, the server also writes references.bib beside it (`bib`: its path, else null).
   */
  async references(cells: ICellSummary[], style?: string, path?: string): Promise<IReferences> {
    const answer = await this._post('references', { cells, style, path });
    return { text: field(answer, 'text', isString), bib: field(answer, 'bib', isStringOrNull) };
  }

  async upload(name: string, content: string): Promise<IUploadResult> {
    const answer = await this._post('files', { name, content });
    return {
      file: field(answer, 'file', isString),
      added: field(answer, 'added', (v): v is number => typeof v === 'number'),
      warnings: field(answer, 'warnings', isStrings)
    };
  }

  async config(): Promise<IServerConfig> {
    return parseConfig(await this._send('config', { method: 'GET' }));
  }

  /** How the server's (re)load of the library stands: polled while a request answered "loading". */
  async status(): Promise<ILoadStatus> {
    return parseStatus(await this._send('status', { method: 'GET' }));
  }

  async configure(settings: { style?: string; csl_style?: string; library_paths?: string[] }): Promise<IServerConfig> {
    return parseConfig(await this._send('config', { method: 'PUT', body: JSON.stringify(settings) }));
  }

  private _post(route: string, body: Record<string, unknown>): Promise<unknown> {
    return this._send(route, { method: 'POST', body: JSON.stringify(body) });
  }
}
