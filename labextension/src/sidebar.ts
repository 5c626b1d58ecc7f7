/**
 * The Papers sidebar (left area): search with filters, the result list, the
 * selected paper's details with highlights, Cite / Snippet / BibTeX into the
 * active notebook, the paper's note, tags and read status (saved to the same
 * store the kernel uses), and adding files to the library.  While the server
 * (re)loads the library, a progress bar instead of results, then the results;
 * while it indexes a large library's abstracts, the bar says so above results
 * ranked by titles, which are searched again once the abstracts are indexed.
 */
import { LabIcon } from '@jupyterlab/ui-components';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { Citing } from './citing';
import { element, renderSegments } from './dom';
import {
  INDEXING_POLL_MS,
  IProgressView,
  LibraryLoading,
  POLL_MS,
  StatusFollower,
  failureText,
  indexingView,
  progressView
} from './loading';
import { isMoveKey, move } from './navigation';
import { IPaperDetails, IPaperSummary, ISearchFilters } from './paperApi';
import { LatestOnly, byline, segments } from './results';

const LIMIT = 50;
const TYPING_PAUSE_MS = 120;

export const papersIcon = new LabIcon({
  name: 'paper-widgets:papers',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16"><path class="jp-icon3" fill="#616161" ' +
    'd="M6 2h9l5 5v13a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm8 1.5V8h4.5L14 3.5zM7 11v1.5h10V11H7zm0 3.5V16h10v-1.5H7zm0 3.5v1.5h7V18H7z"/></svg>'
});

function labelled(label: string, control: HTMLElement): HTMLLabelElement {
  const wrapper = element('label', 'jp-PaperWidgets-field', label);
  wrapper.append(control);
  return wrapper;
}

function safeLink(href: string | null, text: string): HTMLElement | null {
  if (href === null || !/^https?:\/\//i.test(href)) {
    return null; // only web links: a dump cannot smuggle a javascript: URL in
  }
  const link = element('a', 'jp-PaperWidgets-link', text);
  link.href = href;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  return link;
}

export class PapersPanel extends Widget {
  private readonly _query = element('input', 'jp-PaperWidgets-search jp-mod-styled');
  private readonly _yearFrom = element('input', 'jp-mod-styled');
  private readonly _yearTo = element('input', 'jp-mod-styled');
  private readonly _sort = element('select', 'jp-mod-styled');
  private readonly _statusFilter = element('select', 'jp-mod-styled');
  private readonly _tagFilter = element('input', 'jp-mod-styled');
  private readonly _count = element('div', 'jp-PaperWidgets-pickerStatus');
  private readonly _loading = element('div', 'jp-PaperWidgets-loading');
  private readonly _progress = element('progress', 'jp-PaperWidgets-progress');
  private readonly _progressLabel = element('span', 'jp-PaperWidgets-progressLabel');
  private readonly _progressDetail = element('span', 'jp-PaperWidgets-progressDetail');
  private readonly _list = element('ul', 'jp-PaperWidgets-results');
  private readonly _details = element('section', 'jp-PaperWidgets-details');
  private readonly _files = element('section', 'jp-PaperWidgets-files');
  private readonly _latest = new LatestOnly();
  private _results: IPaperSummary[] = [];
  private _statuses: string[] = []; // the read statuses the server knows (paper_widgets.store.STATUSES)
  private _selected = -1;
  private _timer = 0;
  // Shows how far the server's load, then its indexing of the abstracts, is; searches again when each ends.
  private readonly _follower = new StatusFollower({
    isClosed: () => this.isDisposed,
    fetchStatus: () => this._citing.api.status(),
    showStatus: now => this._showProgress(progressView(now, this._trans)),
    searchAgain: () => this._scheduleSearch(),
    showFailure: failure => {
      this._count.textContent =
        'error' in failure
          ? this._trans.__('The paper_widgets server did not answer: %1', String(failure.error))
          : failureText(failure.status, this._trans);
    },
    followEnded: () => (this._loading.hidden = true)
  });

  constructor(
    private readonly _citing: Citing,
    private readonly _trans: TranslationBundle
  ) {
    super();
    const trans = _trans;
    this.id = 'paper-widgets-sidebar';
    this.addClass('jp-PaperWidgets-sidebar');
    this.title.icon = papersIcon;
    this.title.caption = trans.__('Papers');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Papers'));

    this._query.type = 'search';
    this._query.placeholder = trans.__('Search papers: title, abstract, authors…');
    this._query.setAttribute('aria-label', trans.__('Search papers'));
    for (const input of [this._yearFrom, this._yearTo]) {
      input.type = 'number';
      input.min = '1900';
      input.max = '2100';
    }
    this._sort.append(new Option(trans.__('relevance'), 'relevance'));
    this._statusFilter.append(new Option(trans.__('any'), ''));
    this._tagFilter.placeholder = trans.__('tag, tag');
    const filters = element('div', 'jp-PaperWidgets-filters');
    filters.append(
      labelled(trans.__('From'), this._yearFrom),
      labelled(trans.__('To'), this._yearTo),
      labelled(trans.__('Sort'), this._sort),
      labelled(trans.__('Status'), this._statusFilter),
      labelled(trans.__('Tags'), this._tagFilter)
    );
    this._list.setAttribute('role', 'listbox');
    this._list.setAttribute('aria-label', trans.__('Results'));
    this._list.tabIndex = 0;
    this._loading.setAttribute('role', 'status');
    this._loading.append(this._progressLabel, this._progress, this._progressDetail);
    this._loading.hidden = true;
    this.node.append(
      element('h2', 'jp-PaperWidgets-heading', trans.__('Papers')),
      this._query,
      filters,
      this._loading,
      this._count,
      this._list,
      this._details,
      this._files
    );
    this._buildFiles();

    for (const control of [this._query, this._yearFrom, this._yearTo, this._tagFilter]) {
      control.addEventListener('input', () => this._scheduleSearch());
    }
    for (const control of [this._sort, this._statusFilter]) {
      control.addEventListener('change', () => this._scheduleSearch());
    }
    this._list.addEventListener('keydown', event => {
      if (isMoveKey(event.key)) {
        event.preventDefault();
        this._select(move(this._selected, event.key, this._results.length, 10));
      }
    });
    this._query.addEventListener('keydown', event => {
      if (event.key === 'ArrowDown' && this._results.length > 0) {
        event.preventDefault();
        this._list.focus();
        this._select(Math.max(0, this._selected));
      }
    });
  }

  protected onAfterAttach(): void {
    if (this._statuses.length === 0) {
      void this._loadChoices();
    }
    if (this._results.length === 0) {
      this._scheduleSearch();
    }
  }

  /** Sorts and read statuses as the Python side defines them. */
  private async _loadChoices(): Promise<void> {
    try {
      const config = await this._citing.api.config();
      this._statuses = config.statuses;
      this._sort.replaceChildren(...config.sorts.map(sort => new Option(this._trans.__(sort), sort)));
      this._statusFilter.replaceChildren(
        new Option(this._trans.__('any'), ''),
        ...config.statuses.map(status => new Option(this._trans.__(status), status))
      );
    } catch (error) {
      this._count.textContent = this._trans.__('The paper_widgets server did not answer: %1', String(error));
    }
  }

  protected onActivateRequest(): void {
    this._query.focus();
  }

  private _filters(): ISearchFilters {
    const year = (input: HTMLInputElement) => (input.value ? Number(input.value) : null);
    return {
      limit: LIMIT,
      sort: this._sort.value as ISearchFilters['sort'],
      yearFrom: year(this._yearFrom),
      yearTo: year(this._yearTo),
      status: this._statusFilter.value,
      tags: this._tagFilter.value
        .split(',')
        .map(t => t.trim())
        .filter(t => t)
    };
  }

  private _scheduleSearch(): void {
    window.clearTimeout(this._timer);
    this._timer = window.setTimeout(() => void this._search(), TYPING_PAUSE_MS);
  }

  private async _search(): Promise<void> {
    if (this._follower.waitingForLibrary) {
      return; // searched again (with what is typed then) once the library is loaded
    }
    const ticket = this._latest.next();
    try {
      const { results: found, indexing } = await this._citing.api.search(this._query.value, this._filters());
      if (!this._latest.isLatest(ticket)) {
        return;
      }
      if (indexing !== null) {
        this._showProgress(indexingView(indexing, this._trans));
        void this._follower.follow(INDEXING_POLL_MS); // searching stays possible meanwhile
      }
      this._results = found;
      this._count.textContent = this._trans._n('%1 paper', '%1 papers', found.length);
      this._renderList();
      if (found.length > 0) {
        this._select(0);
      } else {
        this._details.replaceChildren();
      }
    } catch (error) {
      if (error instanceof LibraryLoading) {
        this._waitForLibrary(error);
      } else {
        this._count.textContent = this._trans.__('The paper_widgets server did not answer: %1', String(error));
      }
    }
  }

  /** A request answered "loading": show the load's progress instead of results until it ends. */
  private _waitForLibrary(loading: LibraryLoading): void {
    this._follower.waitingForLibrary = true;
    this._count.textContent = '';
    this._showProgress(progressView(loading.status, this._trans));
    void this._follower.follow(POLL_MS);
  }

  private _showProgress(view: IProgressView): void {
    this._loading.hidden = !view.visible;
    if (!view.visible) {
      return; // a hidden bar keeps what it said last (an ended load is not "Indexing abstracts…")
    }
    if (view.value === null) {
      this._progress.removeAttribute('value'); // indeterminate: nothing counted yet
    } else {
      this._progress.max = view.max;
      this._progress.value = view.value;
    }
    this._progressLabel.textContent = view.label;
    this._progressDetail.textContent = view.detail;
    this._progress.title = view.detail;
    this._progress.setAttribute('aria-label', view.label);
  }

  private _renderList(): void {
    this._list.replaceChildren(
      ...this._results.map((paper, index) => {
        const item = element('li', 'jp-PaperWidgets-result');
        item.setAttribute('role', 'option');
        item.dataset.key = paper.key;
        const title = element('div', 'jp-PaperWidgets-resultTitle');
        renderSegments(title, segments(paper.title, paper.title_spans));
        item.append(
          title,
          element(
            'div',
            'jp-PaperWidgets-resultMeta',
            byline(paper, n => this._trans._n('%1 upvote', '%1 upvotes', n))
          )
        );
        item.addEventListener('click', () => this._select(index));
        return item;
      })
    );
  }

  private _select(index: number): void {
    this._selected = index;
    Array.from(this._list.children).forEach((item, i) => {
      item.classList.toggle('jp-mod-selected', i === index);
      item.setAttribute('aria-selected', String(i === index));
    });
    this._list.children[index]?.scrollIntoView({ block: 'nearest' });
    const paper = this._results[index];
    if (paper) {
      void this._showDetails(paper.key);
    }
  }

  private async _showDetails(key: string): Promise<void> {
    try {
      this._renderDetails(await this._citing.api.paper(key, this._query.value));
    } catch (error) {
      if (error instanceof LibraryLoading) {
        this._details.replaceChildren(); // the results are searched again once it is loaded
        this._waitForLibrary(error);
      } else {
        this._details.replaceChildren(element('p', 'jp-PaperWidgets-error', String(error)));
      }
    }
  }

  private _renderDetails(paper: IPaperDetails): void {
    const trans = this._trans;
    const title = element('h3', 'jp-PaperWidgets-detailTitle');
    renderSegments(title, segments(paper.title, paper.title_spans));
    const key = element('code', 'jp-PaperWidgets-key', paper.key);
    const meta = element(
      'div',
      'jp-PaperWidgets-resultMeta',
      byline(paper, n => trans._n('%1 upvote', '%1 upvotes', n))
    );
    const links = element('div', 'jp-PaperWidgets-links');
    const arxiv = paper.arxiv_id
      ? safeLink(`https://arxiv.org/abs/${encodeURIComponent(paper.arxiv_id)}`, 'arXiv')
      : null;
    links.append(...[safeLink(paper.url, trans.__('Paper page')), arxiv].filter((l): l is HTMLElement => l !== null));
    const abstract = element('p', 'jp-PaperWidgets-abstract');
    renderSegments(abstract, segments(paper.abstract, paper.abstract_spans));

    const button = (label: string, action: () => Promise<void>) => {
      const b = element('button', 'jp-mod-styled jp-mod-accept jp-PaperWidgets-button', label);
      b.addEventListener('click', () => void action());
      return b;
    };
    const actions = element('div', 'jp-PaperWidgets-actions');
    actions.append(
      button(trans.__('Cite'), () => this._citing.cite([paper.key])),
      button(trans.__('Snippet'), () => this._citing.snippet(paper.key, this._query.value)),
      button(trans.__('BibTeX'), () => this._citing.bibtex(paper.key))
    );

    const note = element('textarea', 'jp-PaperWidgets-note jp-mod-styled');
    note.value = paper.note ?? '';
    note.rows = 5;
    note.setAttribute('aria-label', trans.__('Note'));
    const tags = element('input', 'jp-mod-styled');
    tags.value = paper.tags.join(', ');
    const status = element('select', 'jp-mod-styled');
    const statuses = this._statuses.length > 0 ? this._statuses : [paper.status]; // choices still loading
    status.append(...statuses.map(s => new Option(trans.__(s), s, false, s === paper.status)));
    const saved = element('span', 'jp-PaperWidgets-saved');
    const save = button(trans.__('Save note'), async () => {
      try {
        const after = await this._citing.api.annotate(paper.key, {
          note: note.value,
          tags: tags.value
            .split(',')
            .map(t => t.trim())
            .filter(t => t),
          status: status.value
        });
        tags.value = after.tags.join(', ');
        saved.textContent = trans.__('Saved');
      } catch (error) {
        saved.textContent = trans.__('Not saved: %1', String(error));
      }
    });
    note.addEventListener('input', () => (saved.textContent = ''));
    const annotations = element('div', 'jp-PaperWidgets-annotations');
    annotations.append(
      labelled(trans.__('Note'), note),
      labelled(trans.__('Tags'), tags),
      labelled(trans.__('Status'), status),
      save,
      saved
    );
    this._details.replaceChildren(title, meta, key, links, actions, abstract, annotations);
  }

  private _buildFiles(): void {
    const trans = this._trans;
    const input = element('input', 'jp-PaperWidgets-fileInput');
    input.type = 'file';
    input.multiple = true;
    input.accept = '.txt,.md,.bib,.json,.jsonl';
    input.setAttribute('aria-label', trans.__('Add files to the library'));
    const drop = element('div', 'jp-PaperWidgets-drop', trans.__('Drop dumps, .bib or JSON files here, or choose:'));
    drop.append(input);
    const report = element('ul', 'jp-PaperWidgets-fileReport');
    input.addEventListener('change', () => void this._upload(Array.from(input.files ?? []), report));
    drop.addEventListener('dragover', event => {
      event.preventDefault();
      drop.classList.add('jp-mod-dropTarget');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('jp-mod-dropTarget'));
    drop.addEventListener('drop', event => {
      event.preventDefault();
      drop.classList.remove('jp-mod-dropTarget');
      void this._upload(Array.from(event.dataTransfer?.files ?? []), report);
    });
    this._files.append(element('h3', 'jp-PaperWidgets-heading', trans.__('Add to the library')), drop, report);
  }

  private async _upload(files: File[], report: HTMLUListElement): Promise<void> {
    for (const file of files) {
      const line = element('li', '', this._trans.__('Adding %1…', file.name));
      report.append(line);
      try {
        const result = await this._citing.api.upload(file.name, await file.text());
        line.textContent = this._trans._n('%2: %1 new paper', '%2: %1 new papers', result.added, file.name);
        if (result.warnings.length > 0) {
          const warnings = element('ul', 'jp-PaperWidgets-warnings');
          warnings.append(...result.warnings.map(w => element('li', '', w)));
          line.append(warnings);
        }
      } catch (error) {
        line.textContent =
          error instanceof LibraryLoading
            ? this._trans.__('%1 was not added: the library is loading, add it again in a moment.', file.name)
            : this._trans.__('%1 was not added: %2', file.name, String(error));
      }
    }
    this._scheduleSearch();
  }
}
