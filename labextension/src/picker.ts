/**
 * The citation picker: a palette-style modal over the notebook.  Results as
 * you type (from the server, ranked as `lib.search`), arrows and page keys
 * move, Enter cites, Shift+Enter (or Ctrl/⌘-click) picks several, Escape
 * closes.  It only chooses keys; the caller formats and inserts them.  While
 * the server (re)loads the library it says "Loading library… n %", then lists;
 * while it indexes a large library's abstracts, a note under the results says
 * they rank by titles, and the query is searched again once they are indexed.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { element, renderSegments } from './dom';
import {
  IIndexing,
  INDEXING_POLL_MS,
  ILoadStatus,
  LibraryLoading,
  POLL_MS,
  StatusFollower,
  failureText,
  indexingView,
  progressView
} from './loading';
import { isMoveKey, keysToCite, move, togglePick } from './navigation';
import { PaperApi } from './paperApi';
import { ICellSummary } from './protocol';
import { IResultRow, LatestOnly, byline, openingRows, rows, segments } from './results';

const LIMIT = 30;
const TYPING_PAUSE_MS = 60;

export interface IPickerOptions {
  api: PaperApi;
  /** The notebook's cells: its citations are marked and listed first. */
  cells: ICellSummary[];
  trans: TranslationBundle;
}

export class CitationPicker extends Widget {
  /** Open the picker; resolves with the keys to cite, or null when closed without choosing. */
  static pick(options: IPickerOptions): Promise<string[] | null> {
    const picker = new CitationPicker(options);
    Widget.attach(picker, document.body);
    picker._input.focus();
    void picker._showOpening();
    return picker._done;
  }

  private readonly _api: PaperApi;
  private readonly _cells: ICellSummary[];
  private readonly _trans: TranslationBundle;
  private readonly _input: HTMLInputElement;
  private readonly _list: HTMLUListElement;
  private readonly _status: HTMLElement;
  private readonly _note: HTMLElement; // the abstracts' indexing, under the results
  private readonly _latest = new LatestOnly();
  private _rows: IResultRow[] = [];
  private _selected = -1;
  private _picked: string[] = [];
  private _cited = new Set<string>();
  private _timer = 0;
  // Says how far the server's load, then its indexing of the abstracts, is; lists again when each ends.
  private readonly _follower = new StatusFollower({
    isClosed: () => this.isDisposed,
    fetchStatus: () => this._api.status(),
    showStatus: now => this._showStatus(now),
    searchAgain: () => this._queryChanged(),
    showFailure: failure => {
      if ('error' in failure) {
        this._fail(failure.error);
      } else {
        this._status.textContent = failureText(failure.status, this._trans);
      }
    },
    followEnded: () => undefined
  });
  private _resolve: (keys: string[] | null) => void = () => undefined;
  private readonly _done = new Promise<string[] | null>(resolve => (this._resolve = resolve));

  private constructor(options: IPickerOptions) {
    super();
    this._api = options.api;
    this._cells = options.cells;
    this._trans = options.trans;
    const trans = this._trans;
    this.addClass('jp-PaperWidgets-pickerBackdrop');
    const dialog = element('div', 'jp-PaperWidgets-picker');
    dialog.setAttribute('role', 'dialog');
    dialog.setAttribute('aria-label', trans.__('Insert citation'));
    this._input = element('input', 'jp-PaperWidgets-pickerInput jp-mod-styled');
    this._input.type = 'search';
    this._input.placeholder = trans.__('Search papers: title, abstract, authors…');
    this._input.setAttribute('aria-label', trans.__('Search papers'));
    this._status = element('div', 'jp-PaperWidgets-pickerStatus');
    this._list = element('ul', 'jp-PaperWidgets-results');
    this._list.setAttribute('role', 'listbox');
    this._note = element('div', 'jp-PaperWidgets-pickerNote');
    this._note.setAttribute('role', 'status');
    this._note.hidden = true;
    const hint = element(
      'div',
      'jp-PaperWidgets-pickerHint',
      trans.__('↑↓ PgUp PgDn Home End move · Enter cites · Shift+Enter picks several · Esc closes')
    );
    dialog.append(this._input, this._status, this._list, this._note, hint);
    this.node.append(dialog);
    this._input.addEventListener('input', () => this._queryChanged());
    this._input.addEventListener('keydown', event => this._keydown(event));
    this.node.addEventListener('mousedown', event => {
      if (event.target === this.node) {
        this._finish(null); // a click beside the dialog closes it
      }
    });
  }

  private async _showOpening(): Promise<void> {
    const ticket = this._latest.next();
    this._status.textContent = this._trans.__('Loading…');
    try {
      const [cited, recent] = await Promise.all([
        this._api.cited(this._cells),
        this._api.search('', { limit: LIMIT, sort: 'newest' })
      ]);
      this._cited = new Set(cited.keys);
      if (this._latest.isLatest(ticket)) {
        this._show(openingRows(cited.papers, recent.results, LIMIT), recent.indexing);
      }
    } catch (error) {
      this._fail(error);
    }
  }

  private _queryChanged(): void {
    window.clearTimeout(this._timer);
    const query = this._input.value;
    if (!query.trim()) {
      void this._showOpening();
      return;
    }
    this._timer = window.setTimeout(async () => {
      const ticket = this._latest.next();
      try {
        const found = await this._api.search(query, { limit: LIMIT });
        if (this._latest.isLatest(ticket)) {
          this._show(rows(found.results, this._cited), found.indexing);
        }
      } catch (error) {
        this._fail(error);
      }
    }, TYPING_PAUSE_MS);
  }

  private _show(shown: IResultRow[], indexing: IIndexing | null): void {
    this._rows = shown;
    this._selected = shown.length > 0 ? 0 : -1;
    this._status.textContent =
      shown.length > 0 ? this._trans._n('%1 paper', '%1 papers', shown.length) : this._trans.__('No papers found');
    this._render();
    this._showIndexing(indexing);
    if (indexing !== null) {
      void this._follower.follow(INDEXING_POLL_MS);
    }
  }

  /** One line under the results while titles alone rank them: how far the abstracts are indexed. */
  private _showIndexing(indexing: IIndexing | null): void {
    const view = indexingView(indexing, this._trans);
    this._note.hidden = !view.visible;
    this._note.replaceChildren(
      element('span', 'jp-PaperWidgets-progressLabel', view.label),
      element('span', 'jp-PaperWidgets-progressDetail', view.detail)
    );
  }

  private _fail(error: unknown): void {
    if (error instanceof LibraryLoading) {
      this._follower.waitingForLibrary = true;
      this._showStatus(error.status);
      void this._follower.follow(POLL_MS);
    } else {
      this._status.textContent = this._trans.__('The paper_widgets server did not answer: %1', String(error));
    }
  }

  private _showStatus(now: ILoadStatus): void {
    if (now.state === 'loading') {
      this._status.textContent = progressView(now, this._trans).label;
    }
    this._showIndexing(now.state === 'ready' ? now.indexing : null);
  }

  private _render(): void {
    const trans = this._trans;
    this._list.replaceChildren(
      ...this._rows.map((row, index) => {
        const item = element('li', 'jp-PaperWidgets-result');
        item.setAttribute('role', 'option');
        item.setAttribute('aria-selected', String(index === this._selected));
        item.dataset.key = row.paper.key;
        item.classList.toggle('jp-mod-selected', index === this._selected);
        item.classList.toggle('jp-mod-picked', this._picked.includes(row.paper.key));
        const title = element('div', 'jp-PaperWidgets-resultTitle');
        renderSegments(title, segments(row.paper.title, row.paper.title_spans));
        const meta = element(
          'div',
          'jp-PaperWidgets-resultMeta',
          byline(row.paper, n => trans._n('%1 upvote', '%1 upvotes', n))
        );
        item.append(title, meta);
        if (row.cited) {
          item.append(element('span', 'jp-PaperWidgets-badge', trans.__('cited')));
        }
        if (this._picked.includes(row.paper.key)) {
          item.append(element('span', 'jp-PaperWidgets-badge jp-mod-picked', trans.__('picked')));
        }
        item.addEventListener('mousedown', event => event.preventDefault()); // keep the input focused
        item.addEventListener('click', event => {
          this._selected = index;
          if (event.ctrlKey || event.metaKey || event.shiftKey) {
            this._togglePick();
          } else {
            this._finish(keysToCite(this._picked, row.paper.key));
          }
        });
        return item;
      })
    );
    this._list.children[this._selected]?.scrollIntoView({ block: 'nearest' });
  }

  private _selectedKey(): string | null {
    return this._rows[this._selected]?.paper.key ?? null;
  }

  private _togglePick(): void {
    const key = this._selectedKey();
    if (key !== null) {
      this._picked = togglePick(this._picked, key);
      this._render();
    }
  }

  private _keydown(event: KeyboardEvent): void {
    // The notebook must not see these keys (Escape would leave edit mode, arrows move cells).
    event.stopPropagation();
    if (isMoveKey(event.key)) {
      event.preventDefault();
      const firstRow = this._list.children[0] as HTMLElement | undefined;
      const page = firstRow ? Math.floor(this._list.clientHeight / Math.max(1, firstRow.offsetHeight)) : 10;
      this._selected = move(this._selected, event.key, this._rows.length, page);
      this._render();
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (event.shiftKey) {
        this._togglePick();
      } else {
        const keys = keysToCite(this._picked, this._selectedKey());
        if (keys.length > 0) {
          this._finish(keys);
        }
      }
    } else if (event.key === 'Escape') {
      event.preventDefault();
      this._finish(null);
    }
  }

  private _finish(keys: string[] | null): void {
    window.clearTimeout(this._timer);
    this._resolve(keys);
    this.dispose();
  }
}
