/**
 * Small DOM builders shared by the picker and the sidebar.  Library text only
 * ever becomes text nodes (never HTML), so a title like `<img onerror=…>` is
 * shown as written.
 */
import { ISegment } from './results';

/** A new element with `className` and, when given, its text. */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** Fill `parent` with the segments, matches in `<mark>`. */
export function renderSegments(parent: HTMLElement, parts: ReadonlyArray<ISegment>): void {
  parent.replaceChildren(
    ...parts.map(part =>
      part.match ? element('mark', 'jp-PaperWidgets-match', part.text) : document.createTextNode(part.text)
    )
  );
}
