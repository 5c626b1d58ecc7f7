/**
 * Carry out one validated request on one notebook panel and describe the outcome.
 *
 * This is the only module that touches notebook models; it knows nothing of comms.
 */
import { Cell, CodeCell, MarkdownCell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { PartialJSONObject } from '@lumino/coreutils';

import { citationText } from './insertion';
import { upsertMetadata } from './notebookCells';
import { indexOfRole, insertionIndex } from './placement';
import {
  CellType,
  ICellSummary,
  IInsertRequest,
  IReply,
  IUpsertRequest,
  METADATA_KEY,
  PROTOCOL_VERSION,
  Request,
  Where
} from './protocol';

/** What a reply says besides the request id and version. */
type Outcome = Omit<IReply, 'version' | 'request_id'>;

/** Remembers, per notebook, the markdown cell last being written in, for `where: "cursor"`. */
export class MarkdownCursorMemory {
  private _last = new WeakMap<NotebookPanel, MarkdownCell>();

  /** Call whenever the active cell changes: clicking a widget button activates *its* cell. */
  noteActiveCell(panel: NotebookPanel, cell: Cell | null): void {
    if (cell instanceof MarkdownCell) {
      this._last.set(panel, cell);
    }
  }

  /** The markdown cell being edited (unrendered), preferring the active cell. */
  editedCell(panel: NotebookPanel): MarkdownCell | null {
    const active = panel.content.activeCell;
    if (active instanceof MarkdownCell && !active.rendered) {
      return active;
    }
    const last = this._last.get(panel);
    if (last && !last.isDisposed && !last.rendered && panel.content.widgets.includes(last)) {
      return last;
    }
    return null;
  }
}

function newCellIndex(panel: NotebookPanel, parentMsgId: string, after?: string): number {
  const cells = panel.content.widgets;
  const anchor = after === undefined ? -1 : cells.findIndex(cell => cell.model.id === after);
  if (anchor >= 0) {
    return anchor + 1;
  }
  const requesting = cells.findIndex(
    cell => cell instanceof CodeCell && cell.outputArea.future?.msg.header.msg_id === parentMsgId
  );
  return insertionIndex(requesting, panel.content.activeCellIndex, cells.length);
}

function addCell(
  panel: NotebookPanel,
  index: number,
  cellType: CellType,
  text: string,
  metadata: PartialJSONObject,
  id?: string
): void {
  const shared = panel.content.model!.sharedModel;
  const fresh = id !== undefined && !shared.cells.some(cell => cell.id === id) ? { id } : {};
  shared.insertCell(index, { cell_type: cellType, source: text, metadata, ...fresh });
  showRendered(panel.content.widgets[index]);
}

function showRendered(cell: Cell | undefined): void {
  if (cell instanceof MarkdownCell) {
    cell.rendered = true;
  }
}

function insertAtCursor(cell: MarkdownCell, request: IInsertRequest, asCitation: boolean): boolean {
  const editor = cell.editor;
  if (!editor) {
    return false;
  }
  const offset = editor.getOffsetAt(editor.getCursorPosition());
  const text = asCitation ? citationText(cell.model.sharedModel.getSource(), offset, request.text) : request.text;
  cell.model.sharedModel.updateSource(offset, offset, text);
  editor.setCursorPosition(editor.getPositionAt(offset + text.length)!);
  return true;
}

function insert(
  panel: NotebookPanel,
  request: IInsertRequest,
  parentMsgId: string,
  memory: MarkdownCursorMemory,
  asCitation = false
): Outcome {
  const notebook = panel.context.path;
  if (request.where === 'cursor') {
    const edited = memory.editedCell(panel);
    if (edited && insertAtCursor(edited, request, asCitation)) {
      return {
        ok: true,
        message: `Inserted at the cursor of the markdown cell being edited in ${notebook}.`,
        notebook,
        cell_index: panel.content.widgets.indexOf(edited)
      };
    }
  }
  const index = newCellIndex(panel, parentMsgId, request.after);
  // Text meant for the middle of a sentence or paragraph starts a cell of its own without its separator.
  const text = request.where === 'cursor' ? request.text.replace(/^\s+/, '') : request.text;
  addCell(panel, index, request.cell_type, text, { [METADATA_KEY]: { inserted: true } }, request.cell_id);
  const fallback =
    request.where === 'cursor'
      ? 'No markdown cell was being edited, so it went into a new cell'
      : 'Inserted a new cell';
  const cellId = panel.content.widgets[index].model.id;
  return {
    ok: true,
    message: `${fallback} at position ${index + 1} of ${notebook}.`,
    notebook,
    cell_index: index,
    cell_id: cellId
  };
}

function upsert(panel: NotebookPanel, request: IUpsertRequest): Outcome {
  const notebook = panel.context.path;
  const shared = panel.content.model!.sharedModel;
  const index = indexOfRole(
    shared.cells.map(cell => cell.getMetadata() as Record<string, unknown>),
    METADATA_KEY,
    request.role
  );
  if (index < 0) {
    const metadata = upsertMetadata({}, METADATA_KEY, request.role);
    addCell(panel, shared.cells.length, request.cell_type, request.text, metadata);
    return {
      ok: true,
      message: `Added the ${request.role} cell at the end of ${notebook}.`,
      notebook,
      cell_index: shared.cells.length - 1
    };
  }
  const cell = shared.cells[index];
  // A References cell made before the tag existed (or by hand) gets it on refresh.  Key by key,
  // because the shared model then writes only the keys whose value changed.
  const metadata = upsertMetadata(cell.getMetadata() as PartialJSONObject, METADATA_KEY, request.role);
  for (const [key, value] of Object.entries(metadata)) {
    if (value !== undefined) {
      cell.setMetadata(key, value);
    }
  }
  cell.setSource(request.text);
  showRendered(panel.content.widgets[index]);
  return { ok: true, message: `Updated the ${request.role} cell of ${notebook}.`, notebook, cell_index: index };
}

function read(panel: NotebookPanel): Outcome {
  const cells: ICellSummary[] = panel.content.model!.sharedModel.cells.map(cell => ({
    cell_type: cell.cell_type,
    source: cell.getSource(),
    metadata: cell.getMetadata() as Record<string, unknown>
  }));
  return {
    ok: true,
    message: `Read ${cells.length} cells of ${panel.context.path}.`,
    notebook: panel.context.path,
    cells
  };
}

/**
 * Apply `request` to `panel`; `parentMsgId` is the kernel request (cell run or
 * widget event) that sent it.  `asCitation` spaces an insert from the word before the cursor.
 */
export function applyRequest(
  panel: NotebookPanel,
  request: Request,
  parentMsgId: string,
  memory: MarkdownCursorMemory,
  asCitation = false
): IReply {
  const base = { version: PROTOCOL_VERSION, request_id: request.request_id };
  if (!panel.content.model) {
    return { ...base, ok: false, message: `${panel.context.path} is not loaded yet.` };
  }
  switch (request.action) {
    case 'insert':
      return { ...base, ...insert(panel, request, parentMsgId, memory, asCitation) };
    case 'upsert':
      return { ...base, ...upsert(panel, request) };
    case 'read':
      return { ...base, ...read(panel) };
    case 'hello':
      return {
        ...base,
        ok: true,
        message: 'The paper-widgets JupyterLab extension is listening.',
        notebook: panel.context.path
      };
  }
}

/**
 * Insert a citation (or snippet) from JupyterLab itself, no kernel involved:
 * at the cursor of the markdown cell being edited (or the last one edited),
 * spaced from the word before, else in a new cell below the active cell.
 */
export function insertFromLab(
  panel: NotebookPanel,
  memory: MarkdownCursorMemory,
  text: string,
  options: { cellType?: CellType; where?: Where; asCitation?: boolean } = {}
): IReply {
  const request: IInsertRequest = {
    version: PROTOCOL_VERSION,
    request_id: '',
    action: 'insert',
    text,
    cell_type: options.cellType ?? 'markdown',
    where: options.where ?? 'cursor'
  };
  return applyRequest(panel, request, '', memory, options.asCitation ?? false);
}
