import { describe, expect, it } from 'vitest';

import {
  ILoadStatus,
  LibraryLoading,
  failureText,
  loadingIn,
  parseStatus,
  percent,
  pollUntilLoaded,
  progressView
} from '../src/loading';

const loading: ILoadStatus = {
  state: 'loading',
  phase: 'Reading papers',
  done: 421,
  total: 1000,
  papers: null,
  error: null
};

/** A translator that marks what went through it, with %1… filled in as JupyterLab's does. */
const trans = {
  __: (msgid: string, ...args: unknown[]) =>
    '«' + msgid.replace(/%(\d)/g, (_, n: string) => String(args[Number(n) - 1])) + '»'
};

describe('parseStatus', () => {
  it('reads what the status route answers', () => {
    expect(parseStatus({ ...loading })).toEqual(loading);
    const ready = { state: 'ready', phase: '', done: 0, total: 0, papers: 8000, error: null };
    expect(parseStatus(ready)).toEqual(ready);
    const failed = { ...ready, state: 'failed', papers: null, error: 'MemoryError: ' };
    expect(parseStatus(failed).error).toBe('MemoryError: ');
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
      { ...loading, error: 3 }
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

  it('says why a load failed', () => {
    expect(failureText({ ...loading, state: 'failed', error: 'OSError: disk full' }, trans)).toBe(
      '«The library could not be loaded: OSError: disk full»'
    );
  });
});

describe('pollUntilLoaded', () => {
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
    const last = await pollUntilLoaded(
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
    expect(await pollUntilLoaded(server.fetch, () => false, { wait: async () => undefined })).toBeNull();
    expect(server.asked()).toBe(1);
    const broken = async (): Promise<ILoadStatus> => {
      throw new Error('502 Bad Gateway');
    };
    await expect(pollUntilLoaded(broken, () => true, { wait: async () => undefined })).rejects.toThrow('502');
  });

  it('returns a failed load for the caller to show', async () => {
    const failed: ILoadStatus = { ...loading, state: 'failed', error: 'MemoryError: ' };
    const last = await pollUntilLoaded(sequence(loading, failed).fetch, () => true, { wait: async () => undefined });
    expect(last).toEqual(failed);
  });
});
