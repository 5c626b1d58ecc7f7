/**
 * paper-widgets JupyterLab plugin: wiring only.
 *
 * Every notebook's kernel gets the paper_widgets comm target; requests that
 * arrive on it are applied to that notebook (never to whichever is active).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { JSONObject } from '@lumino/coreutils';

import { MarkdownCursorMemory, applyRequest } from './notebookEdits';
import { COMM_TARGET, IReply, PROTOCOL_VERSION, parseRequest } from './protocol';

const UPDATE_REFERENCES = 'paper-widgets:update-references';

function parentMsgId(msg: KernelMessage.ICommOpenMsg): string {
  return 'msg_id' in msg.parent_header ? msg.parent_header.msg_id : '';
}

function answer(
  panel: NotebookPanel,
  memory: MarkdownCursorMemory,
  comm: Kernel.IComm,
  msg: KernelMessage.ICommOpenMsg
): void {
  const request = parseRequest(msg.content.data);
  let reply: IReply;
  if (typeof request === 'string') {
    const requestId = (msg.content.data as JSONObject).request_id;
    reply = { version: PROTOCOL_VERSION, request_id: String(requestId ?? ''), ok: false, message: request };
  } else {
    try {
      reply = applyRequest(panel, request, parentMsgId(msg), memory);
    } catch (error) {
      reply = {
        version: PROTOCOL_VERSION,
        request_id: request.request_id,
        ok: false,
        message: `JupyterLab failed: ${String(error)}`
      };
    }
  }
  if (!reply.ok) {
    // The kernel may be busy and the user looking at the notebook: say it here too.
    Notification.warning(`paper_widgets: ${reply.message}`, { autoClose: 8000 });
  }
  comm.send(reply as unknown as JSONObject);
  comm.close();
}

function connect(panel: NotebookPanel, memory: MarkdownCursorMemory): void {
  const register = (kernel: Kernel.IKernelConnection | null | undefined) =>
    kernel?.registerCommTarget(COMM_TARGET, (comm, msg) => answer(panel, memory, comm, msg));
  register(panel.sessionContext.session?.kernel);
  panel.sessionContext.kernelChanged.connect((_, change) => register(change.newValue));
  panel.content.activeCellChanged.connect((_, cell) => memory.noteActiveCell(panel, cell));
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'paper-widgets:plugin',
  description: 'Lets paper_widgets kernel code insert citations and snippets into the notebook that asked.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, palette: ICommandPalette | null) => {
    const memory = new MarkdownCursorMemory();
    tracker.forEach(panel => connect(panel, memory));
    tracker.widgetAdded.connect((_, panel) => connect(panel, memory));

    app.commands.addCommand(UPDATE_REFERENCES, {
      label: 'Update paper_widgets References cell',
      caption: 'Create or refresh the References cell listing every paper cited in this notebook',
      isEnabled: () => !!tracker.currentWidget?.sessionContext.session?.kernel,
      execute: async () => {
        const kernel = tracker.currentWidget?.sessionContext.session?.kernel;
        if (!kernel) {
          return;
        }
        const code = 'import paper_widgets as _pw\n_pw.update_references()';
        const reply = await kernel.requestExecute({ code, silent: true, store_history: false }).done;
        if (reply.content.status === 'error') {
          Notification.error(
            `paper_widgets could not update the References cell: ${reply.content.ename}: ${reply.content.evalue}`
          );
        }
      }
    });
    palette?.addItem({ command: UPDATE_REFERENCES, category: 'Notebook Operations' });
  }
};

export default plugin;
