/**
 * Inserting a citation at a cursor: the text to insert so that it reads well
 * next to what is already there.  Pure.
 */

/** Characters after which a citation needs no space in front: start of line, space, an opening bracket. */
const OPENS = /[\s([{"'“‘-]$/u;

/**
 * The text to insert at `offset` of `source`: the citation, with a space in
 * front when it would otherwise stick to the previous word.
 */
export function citationText(source: string, offset: number, citation: string): string {
  const before = source.slice(0, Math.max(0, Math.min(offset, source.length)));
  return before === '' || OPENS.test(before) ? citation : ` ${citation}`;
}
