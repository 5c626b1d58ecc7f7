/**
 * The search-result model of the picker and the sidebar: highlighted text
 * segments, one-line labels, the list shown before anything is typed, and
 * dropping answers that arrive after a newer query.  Pure.
 */
import { IPaperSummary } from './paperApi';

/** A run of text, marked when it matches the query; rendered as text nodes, never as HTML. */
export interface ISegment {
  text: string;
  match: boolean;
}

/** One row of a result list: the paper and whether the notebook already cites it. */
export interface IResultRow {
  paper: IPaperSummary;
  cited: boolean;
}

/** `text` cut at the `[start, end)` spans (sorted, disjoint; out-of-range parts are clipped). */
export function segments(text: string, spans: ReadonlyArray<readonly [number, number]>): ISegment[] {
  const out: ISegment[] = [];
  let at = 0;
  for (const [rawStart, rawEnd] of spans) {
    const start = Math.max(at, Math.min(rawStart, text.length));
    const end = Math.max(start, Math.min(rawEnd, text.length));
    if (start > at) {
      out.push({ text: text.slice(at, start), match: false });
    }
    if (end > start) {
      out.push({ text: text.slice(start, end), match: true });
    }
    at = end;
  }
  if (at < text.length || out.length === 0) {
    out.push({ text: text.slice(at), match: false });
  }
  return out;
}

/** "Yu, Kumar et al. · 2020 · 124 upvotes": what is known, nothing for unknowns. */
export function byline(paper: IPaperSummary, upvotesLabel: (n: number) => string = n => `${n} upvotes`): string {
  const parts: string[] = [];
  if (paper.authors.length > 0) {
    const shown = paper.authors.slice(0, 2).join(', ');
    parts.push(paper.authors.length > 2 ? `${shown} et al.` : shown);
  }
  if (paper.year !== null) {
    parts.push(String(paper.year));
  }
  if (paper.upvotes !== null) {
    parts.push(upvotesLabel(paper.upvotes));
  }
  return parts.join(' · ');
}

/** Rows for `papers`, flagged when their key is among `citedKeys`. */
export function rows(papers: ReadonlyArray<IPaperSummary>, citedKeys: ReadonlySet<string>): IResultRow[] {
  return papers.map(paper => ({ paper, cited: citedKeys.has(paper.key) }));
}

/** What the picker lists before a query is typed: the papers the notebook cites, then recent ones not among them. */
export function openingRows(
  cited: ReadonlyArray<IPaperSummary>,
  recent: ReadonlyArray<IPaperSummary>,
  limit: number
): IResultRow[] {
  const citedKeys = new Set(cited.map(p => p.key));
  const others = recent.filter(p => !citedKeys.has(p.key));
  return [...rows(cited, citedKeys), ...rows(others, citedKeys)].slice(0, Math.max(limit, cited.length));
}

/**
 * Hands out a ticket per request and tells whether an answer is still the
 * newest: results typed fast must not be overwritten by a slower older query.
 */
export class LatestOnly {
  private _issued = 0;

  next(): number {
    return ++this._issued;
  }

  isLatest(ticket: number): boolean {
    return ticket === this._issued;
  }
}
