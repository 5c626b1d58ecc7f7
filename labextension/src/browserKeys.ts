/**
 * Keyboard and mouse for the PaperBrowser widget (kernel side: paper_widgets/widget/browser.py).
 *
 * The widget is built from core ipywidgets, which cannot listen to arrow keys or clicks on HTML.
 * This module does, for every element inside a `.paper-widgets` panel:
 * - marks the element a key is pressed on with `data-lm-suppress-shortcuts`, which Lumino's command
 *   registry honours, so no key pressed inside the widget reaches JupyterLab's notebook shortcuts;
 * - turns the navigation keys in the search box or the result list, Enter or Tab in the tag box,
 *   and clicks on a result row into short messages on the widget's hidden text channel (`.pw-keys input`): typing into that
 *   input is what makes ipywidgets send the value to the kernel.
 */

const PANEL = '.paper-widgets';
const NAVIGABLE = '.pw-search, .pw-rows';
const ROW = '.pw-row[data-key]';
/** The keys the kernel acts on (mirrors `KEYS` in browser.py; Enter goes through the Text widget's own submit). */
const KEYS = new Set(['ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', 'Home', 'End', 'Escape']);
const SUPPRESS = 'data-lm-suppress-shortcuts';

/** Every message differs from the last, so ipywidgets always syncs it (a repeated key is a new value). */
let messageNumber = 0;

function send(panel: Element, message: string): void {
  const channel = panel.querySelector<HTMLInputElement>('.pw-keys input');
  if (!channel) {
    return;
  }
  messageNumber += 1;
  channel.value = `${messageNumber} ${message}`;
  channel.dispatchEvent(new Event('input', { bubbles: true }));
}

function panelOf(target: EventTarget | null): Element | null {
  return target instanceof Element ? target.closest(PANEL) : null;
}

function onKeydown(event: KeyboardEvent): void {
  const panel = panelOf(event.target);
  if (!panel) {
    return;
  }
  // Lumino stops looking at the first element a binding's selector matches, and `… :focus` matches
  // the focused element itself: the attribute must be on the event's target, not only on the panel.
  (event.target as Element).setAttribute(SUPPRESS, '');
  const modified = event.altKey || event.ctrlKey || event.metaKey || event.shiftKey;
  const tagBox = (event.target as Element).closest('.pw-add-tag') ? (event.target as HTMLInputElement) : null;
  if (tagBox && !modified && (event.key === 'Enter' || event.key === 'Tab')) {
    // Committed and emptied here, at once: the next tag can be typed before the kernel has answered.
    if (tagBox.value.trim()) {
      send(panel, `tag ${tagBox.value}`);
      tagBox.value = '';
    }
    if (event.key === 'Enter') {
      event.preventDefault();
    }
    return;
  }
  if (!modified && KEYS.has(event.key) && (event.target as Element).closest(NAVIGABLE)) {
    event.preventDefault(); // the cursor stays put in the search box; the list does not scroll by itself
    send(panel, `key ${event.key}`);
  }
}

function onClick(event: MouseEvent): void {
  const panel = panelOf(event.target);
  const row = panel && (event.target as Element).closest(ROW);
  if (panel && row) {
    send(panel, `pick ${row.getAttribute('data-key') ?? ''}`);
  }
}

/** The panel whose result list had the focus: re-rendering the list must not drop it to the page. */
let listFocusedIn: Element | null = null;

function onFocusin(event: FocusEvent): void {
  const target = event.target instanceof Element ? event.target : null;
  listFocusedIn = target?.matches('.pw-rows') ? panelOf(target) : null;
}

/** After the kernel re-renders a result list: keep its selected row in view, and its focus. */
function onListRendered(records: MutationRecord[]): void {
  for (const record of records) {
    const results = record.target instanceof Element ? record.target.closest('.pw-results') : null;
    const rows = results?.querySelector<HTMLElement>('.pw-rows');
    if (!rows) {
      continue;
    }
    rows.querySelector('.pw-row[aria-selected="true"]')?.scrollIntoView({ block: 'nearest' });
    if (listFocusedIn === panelOf(rows) && (!document.activeElement || document.activeElement === document.body)) {
      rows.focus({ preventScroll: true });
    }
  }
}

/**
 * Listen on the window in the capture phase: before Lumino's document listener sees the key, and
 * before ipywidgets' Text view stops it from propagating.
 */
export function installBrowserKeys(target: Window): void {
  target.addEventListener('keydown', onKeydown, true);
  target.addEventListener('click', onClick, true);
  target.addEventListener('focusin', onFocusin, true);
  new MutationObserver(onListRendered).observe(target.document.body, { childList: true, subtree: true });
}
