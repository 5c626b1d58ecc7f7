/**
 * paper-widgets JupyterLab plugin: wiring only.
 *
 * Every notebook's kernel gets the paper_widgets comm target; requests that
 * arrive on it are applied to that notebook (never to whichever is active).
 * The citation picker, the Papers sidebar and the References command ask the
 * paper_widgets server extension instead, so they need no kernel.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { JSONObject } from '@lumino/coreutils';

import { installBrowserKeys } from './browserKeys';
import { Citing, DEFAULT_SETTINGS, IPaperSettings, serverSend } from './citing';
import { MarkdownCursorMemory, applyRequest } from './notebookEdits';
import { PaperApi } from './paperApi';
import { COMM_TARGET, IReply, PROTOCOL_VERSION, parseRequest } from './protocol';
import { PapersPanel } from './sidebar';

const UPDATE_REFERENCES = 'paper-widgets:update-references';
const INSERT_CITATION = 'paper-widgets:insert-citation';
const PLUGIN_ID = 'paper-widgets:plugin';

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
  id: PLUGIN_ID,
  description:
    'Cite while writing (citation picker, Papers sidebar) and let paper_widgets kernel code edit the notebook that asked.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ISettingRegistry, ITranslator, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    registry: ISettingRegistry | null,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null
  ) => {
    installBrowserKeys(window);
    const memory = new MarkdownCursorMemory();
    tracker.forEach(panel => connect(panel, memory));
    tracker.widgetAdded.connect((_, panel) => connect(panel, memory));

    const trans = (translator ?? nullTranslator).load('paper_widgets');
    const api = new PaperApi(serverSend());
    let settings: IPaperSettings = DEFAULT_SETTINGS;
    const citing = new Citing(api, tracker, memory, () => settings, trans);
    void registry?.load(PLUGIN_ID).then(loaded => {
      const apply = () => {
        // A style chosen here wins; else the one pw.set_default_style() saved in the store stays.
        const style = loaded.user.citationStyle;
        const csl = loaded.user.cslStyle;
        settings = {
          ...DEFAULT_SETTINGS,
          ...(loaded.composite as Partial<IPaperSettings>),
          citationStyle: typeof style === 'string' ? style : null
        };
        // The server (and through its store, the kernel side) cite in the same style and library.
        api
          .configure({
            style: settings.citationStyle ?? undefined,
            csl_style: typeof csl === 'string' ? csl : undefined,
            library_paths: settings.libraryPaths
          })
          .catch(error =>
            Notification.warning(trans.__('paper_widgets server: %1', String(error)), { autoClose: 8000 })
          );
      };
      apply();
      loaded.changed.connect(apply);
    });

    app.commands.addCommand(INSERT_CITATION, {
      label: trans.__('Insert citation…'),
      caption: trans.__('Search your papers and cite them at the cursor'),
      isEnabled: () => !!tracker.currentWidget,
      execute: () => citing.pickAndCite()
    });
    palette?.addItem({ command: INSERT_CITATION, category: 'Notebook Operations' });

    const sidebar = new PapersPanel(citing, trans);
    app.shell.add(sidebar, 'left', { rank: 850 });
    restorer?.add(sidebar, sidebar.id);

    app.commands.addCommand(UPDATE_REFERENCES, {
      label: 'Update paper_widgets References cell',
      caption: 'Create or refresh the References cell listing every paper cited in this notebook',
      isEnabled: () => !!tracker.currentWidget,
      execute: () => citing.updateReferences()
    });
    palette?.addItem({ command: UPDATE_REFERENCES, category: 'Notebook Operations' });
  }
};

export default plugin;
