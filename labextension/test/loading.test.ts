import { describe, expect, it } from 'vitest';

import {
  ILoadStatus,
  IStatusFollowerView,
  LibraryLoading,
  StatusFollower,
  failureText,
  indexingView,
  isBusy,
  loadingIn,
  parseStatus,
  percent,
  pollStatus,
  progressView
} from '../src/loading';

const loading: ILoadStatus = {
  state: 'loading',
  phase: 'Reading papers',
  done: 421,
  total: 1000,
  papers: null,
  error: null,
  indexing: null
};

/** A large library served while its abstracts are indexed: searches rank by titles meanwhile. */
const indexing: ILoadStatus = {
  ...loading,
  state: 'ready',
  phase: '',
  done: 0,
  total: 0,
  papers: 1000,
  indexing: { done: 421, total: 1000 }
};

/** A translator that marks what went through it, with %1… filled in as JupyterLab's does. */
const trans = {
  __: (msgid: string, ...args: unknown[]) =>
    '«' + msgid.replace(/%(\d)/g, (_, n: string) => String(args[Number(n) - 1])) + '»'
};

describe('parseStatus', () => {
  it('reads what the status route answers', () => {
    expect(parseStatus({ ...loading })).toEqual(loading);
    const ready = { state: 'ready', phase: '', done: 0, total: 0, papers: 8000, error: null, indexing: null };
    expect(parseStatus(ready)).toEqual(ready);
    const failed = { ...ready, state: 'failed', papers: null, error: 'MemoryError: ' };
    expect(parseStatus(failed).error).toBe('MemoryError: ');
    expect(parseStatus({ ...indexing, indexing: { done: 421, total: 1000, rate: 3 } })).toEqual(indexing);
  });

  it('refuses answers of another shape', () => {
    for (const bad of [
      null,
      'loading',
      { ...loading, state: 'busy' },
      { ...loading, done: -1 },
      { ...loading, total: 1.5 },
      { ...loading, papers: '3' },
      { ...loading, phase: undefined },
      { ...loading, error: 3 },
      { ...loading, indexing: undefined }, // a server from before the abstracts were indexed apart
      { ...indexing, indexing: 'indexing abstracts: 421 of 1,000 papers' }, // English: not for the translator
      { ...indexing, indexing: { done: 421 } },
      { ...indexing, indexing: { done: -1, total: 1000 } }
    ]) {
      expect(() => parseStatus(bad)).toThrow(/load status/);
    }
  });
});

describe('loadingIn', () => {
  it('finds the load status in a 503 the server sends while loading', () => {
    expect(loadingIn(503, JSON.stringify(loading))).toEqual(loading);
  });

  it('is null for other failures', () => {
    expect(loadingIn(500, JSON.stringify(loading))).toBeNull(); // only 503 means "wait"
    expect(loadingIn(503, JSON.stringify({ ...loading, state: 'failed', error: 'x' }))).toBeNull();
    expect(loadingIn(503, '<html>Service Unavailable</html>')).toBeNull(); // a proxy's 503
    expect(loadingIn(404, '{"message": "no paper"}')).toBeNull();
  });

  it('travels as a LibraryLoading error', () => {
    const error = new LibraryLoading(loading);
    expect(error).toBeInstanceOf(Error);
    expect(error.status).toBe(loading);
    expect(String(error)).toContain('Reading papers');
  });
});

describe('progressView', () => {
  it('shows the percent done through the translator, with the phase as detail', () => {
    expect(progressView(loading, trans)).toEqual({
      visible: true,
      value: 42,
      max: 100,
      label: '«Loading library… 42 %»',
      detail: '«Reading papers»'
    });
  });

  it('is indeterminate until a total is known', () => {
    const starting = { ...loading, phase: '', done: 0, total: 0 };
    expect(progressView(starting, trans)).toMatchObject({ value: null, label: '«Loading library…»', detail: '' });
  });

  it('keeps the percent within 0–100 and hides the bar once loading ended', () => {
    expect(percent({ ...loading, done: 1500 })).toBe(100);
    expect(percent({ ...loading, done: 999 })).toBe(99); // never says 100 % before it is done
    expect(progressView({ ...loading, state: 'ready', papers: 3 }, trans).visible).toBe(false);
    expect(progressView({ ...loading, state: 'failed', error: 'x' }, trans).visible).toBe(false);
  });

  it('shows the abstracts being indexed once the library is ready, then nothing', () => {
    expect(progressView(indexing, trans)).toEqual({
      visible: true,
      value: 42,
      max: 100,
      label: '«Indexing abstracts… 42 %»',
      detail: '«Results rank by titles until the abstracts are indexed»'
    });
    expect(progressView({ ...indexing, indexing: null }, trans).visible).toBe(false);
    // A load shows the load, even while the library served before still indexes.
    expect(progressView({ ...loading, indexing: indexing.indexing }, trans).label).toBe('«Loading library… 42 %»');
  });

  it("words a search answer's indexing the same way, never 100 % before it ends", () => {
    expect(indexingView({ done: 421, total: 1000 }, trans)).toEqual(progressView(indexing, trans));
    expect(indexingView({ done: 1000, total: 1000 }, trans).label).toBe('«Indexing abstracts… 99 %»');
    expect(indexingView({ done: 0, total: 0 }, trans)).toMatchObject({ value: null, label: '«Indexing abstracts…»' });
    expect(indexingView(null, trans).visible).toBe(false);
  });

  it('says why a load failed', () => {
    expect(failureText({ ...loading, state: 'failed', error: 'OSError: disk full' }, trans)).toBe(
      '«The library could not be loaded: OSError: disk full»'
    );
  });
});

describe('pollStatus', () => {
  const sequence = (...statuses: ILoadStatus[]) => {
    let asked = 0;
    return {
      fetch: async () => statuses[Math.min(asked++, statuses.length - 1)],
      asked: () => asked
    };
  };

  it('asks until the load ends, reporting each status and waiting between', async () => {
    const ready: ILoadStatus = { ...loading, state: 'ready', phase: '', done: 0, total: 0, papers: 9 };
    const server = sequence(loading, { ...loading, done: 800 }, ready, loading);
    const shown: number[] = [];
    const waits: number[] = [];
    const last = await pollStatus(
      server.fetch,
      status => {
        shown.push(status.done);
        return true;
      },
      { intervalMs: 5, wait: async ms => void waits.push(ms) }
    );
    expect(last).toEqual(ready);
    expect(shown).toEqual([421, 800, 0]);
    expect(waits).toEqual([5, 5]);
    expect(server.asked()).toBe(3); // nothing asked after "ready"
  });

  it('stops when told (the widget closed) and passes on a server error', async () => {
    const server = sequence(loading);
    expect(await pollStatus(server.fetch, () => false, { wait: async () => undefined })).toBeNull();
    expect(server.asked()).toBe(1);
    const broken = async (): Promise<ILoadStatus> => {
      throw new Error('502 Bad Gateway');
    };
    await expect(pollStatus(broken, () => true, { wait: async () => undefined })).rejects.toThrow('502');
  });

  it('returns a failed load for the caller to show', async () => {
    const failed: ILoadStatus = { ...loading, state: 'failed', error: 'MemoryError: ' };
    const last = await pollStatus(sequence(loading, failed).fetch, () => true, { wait: async () => undefined });
    expect(last).toEqual(failed);
  });

  it('asked to, goes on while the abstracts are indexed, until the index is complete', async () => {
    const complete: ILoadStatus = { ...indexing, indexing: null };
    const later: ILoadStatus = { ...indexing, indexing: { done: 900, total: 1000 } };
    const server = sequence(loading, indexing, later, complete, indexing);
    const seen: Array<number | null> = [];
    const last = await pollStatus(
      server.fetch,
      status => {
        seen.push(status.indexing?.done ?? null);
        return true;
      },
      { busy: isBusy, wait: async () => undefined }
    );
    expect(last).toEqual(complete);
    expect(seen).toEqual([null, 421, 900, null]);
    expect(server.asked()).toBe(4);
    // By default only the load is waited for: a ready library indexing its abstracts ends the poll.
    const loadOnly = sequence(loading, indexing, complete);
    expect(await pollStatus(loadOnly.fetch, () => true, { wait: async () => undefined })).toEqual(indexing);
    expect([isBusy(loading), isBusy(indexing), isBusy(complete), isBusy({ ...indexing, state: 'failed' })]).toEqual([
      true,
      true,
      false,
      false
    ]);
  });
});

describe('StatusFollower', () => {
  const complete: ILoadStatus = { ...indexing, indexing: null };
  const failed: ILoadStatus = { ...loading, state: 'failed', error: 'MemoryError: ' };

  /** A view that records what the follower told it, answering `statuses` in turn. */
  const view = (statuses: Array<ILoadStatus | Error>, closed = false) => {
    const told: string[] = [];
    let asked = 0;
    const recorder: IStatusFollowerView = {
      isClosed: () => closed,
      fetchStatus: async () => {
        const answer = statuses[Math.min(asked++, statuses.length - 1)];
        if (answer instanceof Error) {
          throw answer;
        }
        return answer;
      },
      showStatus: now => told.push(`status ${now.state} ${now.indexing?.done ?? '-'}`),
      searchAgain: () => told.push('search'),
      showFailure: failure =>
        told.push('error' in failure ? `error ${String(failure.error)}` : `failed ${failure.status.error}`),
      followEnded: () => told.push('ended')
    };
    return { recorder, told, asked: () => asked };
  };

  it('searches once the load ends (titles rank meanwhile) and again once the abstracts are indexed', async () => {
    const { recorder, told } = view([loading, indexing, complete]);
    const follower = new StatusFollower(recorder);
    follower.waitingForLibrary = true;
    await follower.follow(1);
    expect(told).toEqual(['status loading -', 'status ready 421', 'search', 'status ready -', 'ended', 'search']);
    expect(follower.waitingForLibrary).toBe(false);
  });

  it('following the indexing alone searches only when it ended', async () => {
    const { recorder, told } = view([indexing, complete]);
    await new StatusFollower(recorder).follow(1);
    expect(told).toEqual(['status ready 421', 'status ready -', 'ended', 'search']);
  });

  it('shows a failed load or a server error instead of searching', async () => {
    const failing = view([loading, failed]);
    await new StatusFollower(failing.recorder).follow(1);
    expect(failing.told).toEqual(['status loading -', 'status failed -', 'ended', 'failed MemoryError: ']);
    const broken = view([new Error('502 Bad Gateway')]);
    await new StatusFollower(broken.recorder).follow(1);
    expect(broken.told).toEqual(['ended', 'error Error: 502 Bad Gateway']);
  });

  it('stops for a closed view, and runs one poll loop at a time', async () => {
    const closed = view([loading], true);
    await new StatusFollower(closed.recorder).follow(1);
    expect(closed.told).toEqual(['ended']);
    expect(closed.asked()).toBe(1);
    const twice = view([loading, loading, complete]);
    const follower = new StatusFollower(twice.recorder);
    await Promise.all([follower.follow(1), follower.follow(1)]);
    expect(twice.asked()).toBe(3);
    expect(twice.told.filter(line => line === 'ended')).toHaveLength(1);
  });
});
