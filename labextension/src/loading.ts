/**
 * The server's library load, as the sidebar and the picker show it: the
 * status the server answers (GET /paper-widgets/status, and the body of a
 * 503 from any route while it loads), the progress bar's view model, and
 * polling the status until the load ends.  Likewise the background indexing
 * of a large library's abstracts (searches rank by titles until it ends).
 * Pure: no DOM, no HTTP.
 */

/** How many of the library's abstracts are indexed; until all are, searches rank by titles alone. */
export interface IIndexing {
  done: number;
  total: number;
}

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
  /** The served library's abstracts being indexed in the background; null once its index is complete. */
  indexing: IIndexing | null;
}

const STATES: ReadonlyArray<ILoadStatus['state']> = ['idle', 'loading', 'ready', 'failed'];

function isCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}

function asRecord(value: unknown): Record<string, unknown> {
  return (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
}

/** Whether `value` is the `indexing` field of an answer: null or `{done, total}` counts. */
export function isIndexing(value: unknown): value is IIndexing | null {
  const v = asRecord(value);
  return value === null || (isCount(v.done) && isCount(v.total));
}

/** The counts of a checked `indexing` field (other keys a newer server may send are left out). */
export function indexingCounts(indexing: IIndexing | null): IIndexing | null {
  return indexing === null ? null : { done: indexing.done, total: indexing.total };
}

/** `value` as a load status, or an Error saying what is wrong (a server of another version). */
export function parseStatus(value: unknown): ILoadStatus {
  const v = asRecord(value);
  if (
    !STATES.includes(v.state as ILoadStatus['state']) ||
    typeof v.phase !== 'string' ||
    !isCount(v.done) ||
    !isCount(v.total) ||
    !(v.papers === null || isCount(v.papers)) ||
    !(v.error === null || typeof v.error === 'string') ||
    !isIndexing(v.indexing)
  ) {
    throw new Error(`The paper_widgets server sent a load status this version cannot read: ${JSON.stringify(value)}`);
  }
  return {
    state: v.state as ILoadStatus['state'],
    phase: v.phase,
    done: v.done,
    total: v.total,
    papers: v.papers,
    error: v.error,
    indexing: indexingCounts(v.indexing)
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
export function percent(work: { done: number; total: number }): number | null {
  if (work.total <= 0) {
    return null;
  }
  return Math.min(100, Math.max(0, Math.floor((100 * work.done) / work.total)));
}

/** The progress bar's view of the abstracts being indexed: shown until they are (`indexing` null). */
export function indexingView(indexing: IIndexing | null, trans: ITranslate): IProgressView {
  // Never 100 % while indexing: the last step (writing the index) follows the last abstract read.
  const done = indexing === null ? null : percent({ ...indexing, done: Math.min(indexing.done, indexing.total - 1) });
  return {
    visible: indexing !== null,
    value: done,
    max: 100,
    label: done === null ? trans.__('Indexing abstracts…') : trans.__('Indexing abstracts… %1 %', done),
    detail: trans.__('Results rank by titles until the abstracts are indexed')
  };
}

/** The progress bar's view of `status`: the load while loading, then the abstracts' indexing, if any. */
export function progressView(status: ILoadStatus, trans: ITranslate): IProgressView {
  if (status.state !== 'loading') {
    return indexingView(status.state === 'ready' ? status.indexing : null, trans);
  }
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
/** The abstracts of a million papers take a minute or more: asked about less often than a load. */
export const INDEXING_POLL_MS = 1000;

/** Whether the server is still loading the library (requests answer 503 meanwhile). */
export const isLoading = (status: ILoadStatus): boolean => status.state === 'loading';

/** Whether the server is loading the library or still indexing its abstracts (searches answer meanwhile). */
export const isBusy = (status: ILoadStatus): boolean =>
  isLoading(status) || (status.state === 'ready' && status.indexing !== null);

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

/**
 * Ask `fetchStatus` every `intervalMs` while `busy` (by default: until the
 * load ends), telling `onStatus` each answer; resolves with the last status,
 * or null when `onStatus` said stop (false: the widget was closed).  Errors
 * of `fetchStatus` reject.
 */
export async function pollStatus(
  fetchStatus: () => Promise<ILoadStatus>,
  onStatus: (status: ILoadStatus) => boolean,
  options: { busy?: (status: ILoadStatus) => boolean; intervalMs?: number; wait?: (ms: number) => Promise<void> } = {}
): Promise<ILoadStatus | null> {
  const wait = options.wait ?? sleep;
  const busy = options.busy ?? isLoading;
  for (;;) {
    const status = await fetchStatus();
    if (!onStatus(status)) {
      return null;
    }
    if (!busy(status)) {
      return status;
    }
    await wait(options.intervalMs ?? POLL_MS);
  }
}

/** What a view (the sidebar, the picker) does while a `StatusFollower` follows the server for it. */
export interface IStatusFollowerView {
  /** A closed view stops the polling. */
  isClosed(): boolean;
  fetchStatus(): Promise<ILoadStatus>;
  /** Each status polled: how far the load, then the abstracts' indexing, is. */
  showStatus(status: ILoadStatus): void;
  /** Search again for what is typed now: once a load ended, and once the indexing ended. */
  searchAgain(): void;
  /** A load ended without a library (a failed status), or asking the server failed. */
  showFailure(failure: { status: ILoadStatus } | { error: unknown }): void;
  /** The following ended, however it ended. */
  followEnded(): void;
}

/**
 * Polls the server's status for a view while it loads the library or indexes
 * its abstracts, one poll loop at a time.  Set `waitingForLibrary` when a
 * request answered "loading": the view searches as soon as the load ends
 * (titles rank while the abstracts are indexed), and again once everything
 * ended.
 */
export class StatusFollower {
  /** A request answered "loading": results wait for the load to end. */
  waitingForLibrary = false;
  private _following = false;

  constructor(private readonly _view: IStatusFollowerView) {}

  async follow(intervalMs: number): Promise<void> {
    if (this._following) {
      return;
    }
    this._following = true;
    let outcome: { last: ILoadStatus | null } | { error: unknown };
    try {
      outcome = {
        last: await pollStatus(
          () => this._view.fetchStatus(),
          now => this._polled(now),
          { busy: isBusy, intervalMs }
        )
      };
    } catch (error) {
      outcome = { error };
    } finally {
      this._following = false;
      this.waitingForLibrary = false;
      this._view.followEnded();
    }
    if ('error' in outcome) {
      this._view.showFailure(outcome);
    } else if (outcome.last?.state === 'failed') {
      this._view.showFailure({ status: outcome.last }); // tried again when the user searches
    } else if (outcome.last !== null) {
      this._view.searchAgain();
    }
  }

  private _polled(now: ILoadStatus): boolean {
    if (this._view.isClosed()) {
      return false;
    }
    const loaded = this.waitingForLibrary && now.state === 'ready';
    this.waitingForLibrary = now.state === 'loading';
    this._view.showStatus(now);
    if (loaded && now.indexing !== null) {
      this._view.searchAgain(); // titles rank meanwhile: better than nothing for a minute
    }
    return true;
  }
}
