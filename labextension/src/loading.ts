/**
 * The server's library load, as the sidebar and the picker show it: the
 * status the server answers (GET /paper-widgets/status, and the body of a
 * 503 from any route while it loads), the progress bar's view model, and
 * polling the status until the load ends.  Pure: no DOM, no HTTP.
 */

/** Where loading the library stands (paper_widgets.server.service.LoadStatus). */
export interface ILoadStatus {
  state: 'idle' | 'loading' | 'ready' | 'failed';
  /** The work under way ("Reading papers": bytes, "Indexing papers": rows); '' before the first step. */
  phase: string;
  done: number;
  /** 0 while not known. */
  total: number;
  /** Papers in the library served (null before the first load). */
  papers: number | null;
  error: string | null;
}

const STATES: ReadonlyArray<ILoadStatus['state']> = ['idle', 'loading', 'ready', 'failed'];

function isCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}

/** `value` as a load status, or an Error saying what is wrong (a server of another version). */
export function parseStatus(value: unknown): ILoadStatus {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (
    !STATES.includes(v.state as ILoadStatus['state']) ||
    typeof v.phase !== 'string' ||
    !isCount(v.done) ||
    !isCount(v.total) ||
    !(v.papers === null || isCount(v.papers)) ||
    !(v.error === null || typeof v.error === 'string')
  ) {
    throw new Error(`The paper_widgets server sent a load status this version cannot read: ${JSON.stringify(value)}`);
  }
  return {
    state: v.state as ILoadStatus['state'],
    phase: v.phase,
    done: v.done,
    total: v.total,
    papers: v.papers,
    error: v.error
  };
}

/** What a request gets while the server loads the library: its progress, to show and wait on. */
export class LibraryLoading extends Error {
  constructor(readonly status: ILoadStatus) {
    super(`the paper_widgets library is loading (${status.phase || 'starting'})`);
    this.name = 'LibraryLoading';
  }
}

/** The load status in an HTTP answer: a 503 whose JSON body says "loading"; else null (a real failure). */
export function loadingIn(httpStatus: number, body: string): ILoadStatus | null {
  if (httpStatus !== 503) {
    return null;
  }
  try {
    const status = parseStatus(JSON.parse(body));
    return status.state === 'loading' ? status : null;
  } catch {
    return null; // a 503 from something else (a proxy): not ours
  }
}

/** The translation calls used here (JupyterLab's TranslationBundle has them). */
export interface ITranslate {
  __(msgid: string, ...args: unknown[]): string;
}

/** What the progress bar shows: `value` null is an indeterminate bar (nothing counted yet). */
export interface IProgressView {
  visible: boolean;
  value: number | null;
  max: number;
  /** "Loading library… 42 %" */
  label: string;
  /** The phase under way, for the bar's tooltip and the sidebar's second line. */
  detail: string;
}

/** Whole percent of the work done (0–100), or null while the total is unknown. */
export function percent(status: ILoadStatus): number | null {
  if (status.total <= 0) {
    return null;
  }
  return Math.min(100, Math.max(0, Math.floor((100 * status.done) / status.total)));
}

/** The progress bar's view of `status`: shown only while loading. */
export function progressView(status: ILoadStatus, trans: ITranslate): IProgressView {
  const done = percent(status);
  return {
    visible: status.state === 'loading',
    value: done,
    max: 100,
    label: done === null ? trans.__('Loading library…') : trans.__('Loading library… %1 %', done),
    detail: status.phase ? trans.__(status.phase) : ''
  };
}

/** What to say when a load ended without a library: its error. */
export function failureText(status: ILoadStatus, trans: ITranslate): string {
  return trans.__('The library could not be loaded: %1', status.error ?? status.state);
}

export const POLL_MS = 300;

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

/**
 * Ask `fetchStatus` every `intervalMs` until the load ends, telling `onStatus`
 * each answer; resolves with the last status, or null when `onStatus` said
 * stop (false: the widget was closed).  Errors of `fetchStatus` reject.
 */
export async function pollUntilLoaded(
  fetchStatus: () => Promise<ILoadStatus>,
  onStatus: (status: ILoadStatus) => boolean,
  options: { intervalMs?: number; wait?: (ms: number) => Promise<void> } = {}
): Promise<ILoadStatus | null> {
  const wait = options.wait ?? sleep;
  for (;;) {
    const status = await fetchStatus();
    if (!onStatus(status)) {
      return null;
    }
    if (status.state !== 'loading') {
      return status;
    }
    await wait(options.intervalMs ?? POLL_MS);
  }
}
