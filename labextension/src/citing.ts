/**
 * Citing from JupyterLab itself, whatever the notebook's kernel (or none):
 * the server formats, this module puts the text into the active notebook and
 * keeps its References cell in sync.  Shared by the picker command and the
 * Papers sidebar.
 */
import { Notification } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { URLExt } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';

import { LibraryLoading, loadingIn, progressView } from './loading';
import { MarkdownCursorMemory, applyRequest, insertFromLab } from './notebookEdits';
import { cellSources, hasReferencesCell } from './notebookCells';
import { PaperApi, Send } from './paperApi';
import { CitationPicker } from './picker';
import { CellType, ICellSummary, METADATA_KEY, PROTOCOL_VERSION, REFERENCES_ROLE, Where } from './protocol';

/** The plugin's settings (schema/plugin.json), as the code uses them. */
export interface IPaperSettings {
  /** Null until set in the Settings Editor: the server then cites in the style the store remembers. */
  citationStyle: string | null;
  cslStyle: string;
  insertTarget: Where;
  libraryPaths: string[];
  autoUpdateReferences: boolean;
}

export const DEFAULT_SETTINGS: IPaperSettings = {
  citationStyle: null,
  cslStyle: 'apa',
  insertTarget: 'cursor',
  libraryPaths: [],
  autoUpdateReferences: true
};

/** `Send` over the Jupyter server connection: its base URL, token and XSRF header; a 503 "loading" is a `LibraryLoading`. */
export function serverSend(settings: ServerConnection.ISettings = ServerConnection.makeSettings()): Send {
  return async (route, init) => {
    const url = URLExt.join(settings.baseUrl, 'paper-widgets') + '/' + route;
    const response = await ServerConnection.makeRequest(url, init, settings);
    const text = await response.text();
    if (!response.ok) {
      const loading = loadingIn(response.status, text);
      if (loading !== null) {
        throw new LibraryLoading(loading);
      }
      throw new Error(`${response.status} ${response.statusText}: ${text}`);
    }
    return text ? JSON.parse(text) : null;
  };
}

export class Citing {
  constructor(
    readonly api: PaperApi,
    private readonly _tracker: INotebookTracker,
    private readonly _memory: MarkdownCursorMemory,
    private readonly _settings: () => IPaperSettings,
    private readonly _trans: TranslationBundle
  ) {}

  /** The notebook citations go to: the active one, else the last one used. */
  get notebook(): NotebookPanel | null {
    return this._tracker.currentWidget;
  }

  /** The picker command: choose papers, insert their citation at the cursor, refresh References. */
  async pickAndCite(): Promise<void> {
    const panel = this.notebook;
    if (!panel?.content.model) {
      Notification.warning(this._trans.__('Open a notebook to insert a citation.'), { autoClose: 5000 });
      return;
    }
    const keys = await CitationPicker.pick({ api: this.api, cells: this._cells(panel), trans: this._trans });
    if (keys === null || keys.length === 0) {
      this._memory.editedCell(panel)?.editor?.focus();
      return;
    }
    await this.cite(keys);
  }

  /** Insert the citation of `keys` in the default style where the settings say, then sync References. */
  async cite(keys: string[]): Promise<void> {
    await this._guard(async panel => {
      const text = await this.api.cite(keys, this._settings().citationStyle ?? undefined);
      this._insert(panel, text, 'markdown', this._settings().insertTarget, true);
      await this._autoUpdate(panel);
    });
  }

  /** Insert the quoted best sentences of `key` for `query`, with their citation. */
  async snippet(key: string, query: string): Promise<void> {
    await this._guard(async panel => {
      const text = await this.api.snippet(key, query, this._settings().citationStyle ?? undefined);
      this._insert(panel, text, 'markdown', this._settings().insertTarget, false);
      await this._autoUpdate(panel);
    });
  }

  /** Insert the BibTeX entry of `key` as a raw cell below the active cell (as the widget does). */
  async bibtex(key: string): Promise<void> {
    await this._guard(async panel => this._insert(panel, await this.api.bibtex([key]), 'raw', 'below', false));
  }

  /** Create or refresh the References cell from the server's library; no kernel involved. */
  async updateReferences(): Promise<void> {
    await this._guard(panel => this._writeReferences(panel));
  }

  private _cells(panel: NotebookPanel): ICellSummary[] {
    return cellSources(panel.content.model!.sharedModel.cells);
  }

  private async _writeReferences(panel: NotebookPanel): Promise<void> {
    // The notebook's path on the server (without a drive prefix), so the server writes references.bib beside it.
    const { text } = await this.api.references(
      this._cells(panel),
      this._settings().citationStyle ?? undefined,
      panel.context.localPath
    );
    const reply = applyRequest(
      panel,
      {
        version: PROTOCOL_VERSION,
        request_id: '',
        action: 'upsert',
        text,
        cell_type: 'markdown',
        role: REFERENCES_ROLE
      },
      '',
      this._memory
    );
    if (!reply.ok) {
      Notification.warning(reply.message, { autoClose: 8000 });
    }
  }

  private async _autoUpdate(panel: NotebookPanel): Promise<void> {
    if (this._settings().autoUpdateReferences && hasReferencesCell(this._cells(panel), METADATA_KEY)) {
      await this._writeReferences(panel);
    }
  }

  private _insert(panel: NotebookPanel, text: string, cellType: CellType, where: Where, asCitation: boolean): void {
    const reply = insertFromLab(panel, this._memory, text, { cellType, where, asCitation });
    if (!reply.ok) {
      Notification.warning(reply.message, { autoClose: 8000 });
    }
    this._memory.editedCell(panel)?.editor?.focus();
  }

  /** Run `action` on the current notebook; say so when there is none or the server fails. */
  private async _guard(action: (panel: NotebookPanel) => Promise<void>): Promise<void> {
    const panel = this.notebook;
    if (!panel?.content.model) {
      Notification.warning(this._trans.__('Open a notebook first.'), { autoClose: 5000 });
      return;
    }
    try {
      await action(panel);
    } catch (error) {
      if (error instanceof LibraryLoading) {
        const { label } = progressView(error.status, this._trans);
        Notification.info(this._trans.__('%1 Try again in a moment.', label), { autoClose: 5000 });
        return;
      }
      Notification.error(this._trans.__('paper_widgets: %1', String(error)), { autoClose: 8000 });
    }
  }
}
