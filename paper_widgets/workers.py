"""Worker processes: a function over a stream of items in fresh interpreters, results in order.

A cold load of a million papers parses a hundred files and tokenises ~120 chunks of texts; each is
independent of the others, so on a machine with an idle core :class:`Workers` computes them in
worker processes while this one uses the results already back.  A worker is a fresh interpreter
(``python -c``): never a fork, which would copy a Jupyter kernel's or a server's threads and their
locks mid-use, and never multiprocessing's "spawn" or "forkserver", which import the caller's main
script again in each worker, so that a script without an ``if __name__ == "__main__"`` guard would
load its library once more there.  Functions (importable, by reference) and items travel pickled
down the worker's stdin and results come back pickled on its stdout: between this process and the
children it started, never through a file.

A worker that dies (killed, out of memory, or the function raised there) leaves its items to this
process, which computes them itself (and so raises the function's own error); if no interpreter can
be started, everything is computed here.  Either way the results are those of ``map`` here.
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["MAX_WORKERS", "Workers", "worker_count"]

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 4  # each holds a file's records or a chunk's tokens (~350 MB at its peak): more rarely pay
_IDLE_SAMPLE = 0.1  # seconds: ~10 clock ticks a core
_IDLE_ENOUGH = 1.5  # idle cores from which workers pay: this process's own (asleep as it measures) and one more
_AHEAD = 2  # items sent per worker beyond the one it computes: keeps it busy, bounds what is held
# What a worker runs.  ``python -c`` puts the current folder first on sys.path: a folder holding another
# paper_widgets (a source checkout, an older copy) would be imported instead of the caller's.
_BOOT = "import sys; sys.path[:] = [p for p in sys.path if p]; from paper_widgets.workers import _serve; _serve()"
_Job = tuple[Callable[[Any], Any], Any]


def worker_count(pays: bool) -> int:
    """How many :class:`Workers` to start for work that ``pays`` off in parallel (its caller's rule:
    enough of it to outweigh starting them): one per core up to :data:`MAX_WORKERS`, and none while
    other work keeps every other core busy: a worker costs ~0.5 s of CPU to start, and passing items
    to it a little more, which pays only when it runs beside this process."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if not pays or cores < 2:
        return 0
    return min(cores, MAX_WORKERS) if _idle_cores(cores) >= _IDLE_ENOUGH else 0


def _idle_cores(cores: int) -> float:
    """How many cores were idle over the last :data:`_IDLE_SAMPLE` seconds (Linux's /proc/stat; elsewhere
    what the 1-minute load average leaves).  Measured now, not averaged over a minute: a load's own
    workers, done a moment ago, must not keep its next step from starting some."""
    try:
        before = _cpu_ticks()
        time.sleep(_IDLE_SAMPLE)
        after = _cpu_ticks()
    except (OSError, ValueError, IndexError):
        return cores - (os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0)
    busy, idle = (a - b for a, b in zip(after, before, strict=True))
    return cores * idle / max(busy + idle, 1)


def _cpu_ticks() -> tuple[int, int]:
    """Clock ticks every core has spent busy and idle (idle and waiting for I/O) since boot."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(field) for field in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]
    return sum(ticks[:8]) - idle, idle  # guest time is counted in user time already


class Workers:
    """``count`` worker processes applying functions to items in order (:meth:`map`); none: in this
    process.  Use it as a context manager.

    Item ``i`` of a map goes to worker ``i % count``.  Each worker has a thread writing its items
    and one reading its results whole (as bytes), so a worker never waits on a pipe while this
    process is busy; the results are unpickled by the caller's thread (objects made in those
    threads would stay in their own malloc arenas after the load).
    """

    def __init__(self, count: int) -> None:
        self.count = 0
        self._procs: list[subprocess.Popen[bytes]] = []
        self._inboxes: list[queue.Queue[_Job | None]] = []
        self._answers: list[queue.Queue[bytes | None]] = []  # None: the worker is gone
        self._threads: list[threading.Thread] = []
        self._unanswered = 0  # items sent whose results were not taken: the workers are mid-stream
        package_root = str(Path(__file__).resolve().parents[1])
        path = os.pathsep.join([package_root, *filter(None, [os.environ.get("PYTHONPATH")])])
        for _ in range(count if sys.executable else 0):
            try:
                proc = subprocess.Popen(
                    [sys.executable, "-c", _BOOT],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    env={**os.environ, "PYTHONPATH": path},
                )
            except OSError:  # no process can be started here: the work is done in this one
                self.close()
                return
            inbox: queue.Queue[_Job | None] = queue.Queue()
            answers: queue.Queue[bytes | None] = queue.Queue()
            threads = [
                threading.Thread(target=_feed, args=(inbox, proc), daemon=True),
                threading.Thread(target=_collect, args=(proc, answers), daemon=True),
            ]
            for thread in threads:
                thread.start()
            self._procs.append(proc)
            self._inboxes.append(inbox)
            self._answers.append(answers)
            self._threads += threads
        self.count = len(self._procs)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Generator[R, None, None]:
        """``function`` of each item, in order, computed ahead of the caller (one map at a time)."""
        if not self.count:
            yield from map(function, items)
            return
        pending: deque[tuple[int, T]] = deque()  # each item sent and not yet answered, and its worker
        for i, item in enumerate(items):
            self._inboxes[i % self.count].put((function, item))
            pending.append((i % self.count, item))
            self._unanswered += 1
            if len(pending) > self.count * _AHEAD:
                yield self._result(function, *pending.popleft())
        while pending:
            yield self._result(function, *pending.popleft())

    def _result(self, function: Callable[[T], R], worker: int, item: T) -> R:
        """Worker ``worker``'s result for ``item``, its next; computed here if that worker is gone."""
        answer = self._answers[worker].get()
        self._unanswered -= 1
        if answer is None:
            self._answers[worker].put(None)  # gone for the items it has still to answer too
            return function(item)
        result: R = pickle.loads(answer)  # from a worker this process started, not from disk
        return result

    def close(self) -> None:
        """End the workers: at once if results are left unread (a map stopped early)."""
        if self._unanswered:
            for proc in self._procs:
                proc.kill()
        for inbox in self._inboxes:
            inbox.put(None)  # ends the writer, which closes its worker's input: the worker exits
        for thread in self._threads:
            thread.join()
        for proc in self._procs:
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                with suppress(OSError):
                    if pipe is not None:
                        pipe.close()
        self._procs, self._inboxes, self._answers, self._threads = [], [], [], []
        self.count = self._unanswered = 0


def _feed(inbox: queue.Queue[_Job | None], proc: subprocess.Popen[bytes]) -> None:
    """Write the items put in ``inbox`` to the worker ``proc`` until a None, then close its input."""
    assert proc.stdin is not None
    try:
        while (job := inbox.get()) is not None:
            pickle.dump(job, proc.stdin, pickle.HIGHEST_PROTOCOL)
            proc.stdin.flush()
    except OSError:  # the worker is gone (its reader says so): the rest are not sent
        while inbox.get() is not None:
            pass
    finally:
        with suppress(OSError):
            proc.stdin.close()


def _collect(proc: subprocess.Popen[bytes], answers: queue.Queue[bytes | None]) -> None:
    """Read the worker ``proc``'s results whole into ``answers``; a None once it is gone."""
    assert proc.stdout is not None
    try:
        while len(header := proc.stdout.read(8)) == 8:
            size = int.from_bytes(header, "little")
            message = proc.stdout.read(size)
            if len(message) != size:  # it ended mid-result
                break
            answers.put(message)
    except OSError:
        pass
    answers.put(None)


def _serve() -> None:
    """A worker's loop: pickled (function, item) pairs on stdin until it closes, each answered with
    ``function(item)`` pickled on stdout, its length first."""
    inbox, outbox = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed goes to stderr, not into the results
    sys.stdout = sys.stderr
    while True:
        try:
            function, item = pickle.load(inbox)
        except EOFError:
            return
        result = function(item)
        del item  # held once: neither the item nor the result is kept beside the bytes sent
        message = pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
        del result
        outbox.write(len(message).to_bytes(8, "little"))
        outbox.write(message)  # not joined to its length first: that would copy it
        outbox.flush()
        del message
