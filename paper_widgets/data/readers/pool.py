"""Reading many files at once: each file parsed into its records frame, in worker processes when it pays.

A million papers come in a hundred dump files of ~8 MB; parsing them is most of a cold load and
each file is independent, so :func:`read_files` parses them in worker processes (one per CPU, at
most :data:`MAX_WORKERS`) and hands back each file's :func:`~paper_widgets.data.records.records_frame`
in the order given.  A worker is a fresh interpreter (``python -c``, never a fork: forking a
process that runs threads, such as a Jupyter kernel or a server, can deadlock the child) that
imports this module and nothing of the caller's: multiprocessing's "spawn" and "forkserver"
would run the caller's main script again in each worker, and a script without an
``if __name__ == "__main__"`` guard would load its library once more there.  The worker reads
``(path, source)`` jobs from a pipe and writes each :class:`FileRecords` back (pickles between
this process and the child it started, never read from disk).

A few small files are read in this process, where starting workers would cost more than it saves;
a file whose worker failed (killed, out of memory) is read here too.  Either way every file gives
the same frame and the same warnings (file and line), and a file that cannot be read gives its
error as a warning in its place: the other files still load.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd

from paper_widgets.data.packed import PackedTexts
from paper_widgets.data.readers.sources import read_path
from paper_widgets.data.records import DumpError, LoadWarning, records_frame

__all__ = ["MAX_WORKERS", "POOL_MIN_BYTES", "FileRecords", "pool_workers", "read_file", "read_files", "serve"]

MAX_WORKERS = 4  # more workers hold more files' frames at once, and this process takes them one by one
# Below this much input, starting workers (a fresh interpreter importing pandas, ~0.5 s of CPU each)
# costs about what two of them save over parsing in this process (~25 MB/s).
POOL_MIN_BYTES = 64 << 20
# What a worker runs: this process's import path (sent first, down the pipe), then serve().
_BOOT = (
    "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
    "from paper_widgets.data.readers.pool import serve; serve()"
)


@dataclass(frozen=True, slots=True)
class FileRecords:
    """What one file gave: its records (None when it could not be read at all), the problems found
    while reading it, and the reason it could not be read (reported after those problems)."""

    frame: pd.DataFrame | None  # every records_frame column but ``abstract``
    problems: list[LoadWarning]
    failure: LoadWarning | None = None
    abstracts: PackedTexts | None = None  # the frame's abstracts, packed as soon as parsed


def read_file(path: Path, source: str) -> FileRecords:
    """The records of the file at ``path`` (named ``source`` in warnings) as a frame, their abstracts
    packed; never raises for an unreadable file (see :class:`FileRecords`)."""
    found: list[LoadWarning] = []
    try:
        frame = records_frame(read_path(path, found, source))
    except DumpError as exc:  # as a warning: a DumpError does not survive pickling with its source and line
        return FileRecords(None, found, exc.as_warning())
    return FileRecords(frame, found, abstracts=PackedTexts.of(frame.pop("abstract")))


def pool_workers(sizes: Sequence[int]) -> int:
    """How many worker processes reading files of ``sizes`` (bytes) is worth: 0 to read them here."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    workers = min(cpus, MAX_WORKERS, len(sizes))
    return workers if workers > 1 and sum(sizes) >= POOL_MIN_BYTES else 0


def serve() -> None:
    """A worker's loop: ``(path, source)`` jobs from stdin, each one's :class:`FileRecords` to stdout, until stdin ends."""
    results = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot corrupt the results
    jobs = sys.stdin.buffer
    while True:
        try:
            path, source = pickle.load(jobs)
        except EOFError:
            return
        message = pickle.dumps(read_file(path, source), protocol=pickle.HIGHEST_PROTOCOL)
        results.write(len(message).to_bytes(8, "little") + message)  # its length first: read whole, loaded later
        results.flush()


class _Workers:
    """Worker processes taking the next file as each finishes one; results kept by the file's position."""

    def __init__(self, files: Sequence[tuple[Path, str]], workers: int) -> None:
        self._files = files
        self._next = 0  # the next file no worker has taken
        # A file's pickled FileRecords, None when its worker failed (then it is read here). They are
        # unpickled by the caller's thread: frames made in these threads would stay in their malloc arenas.
        self._results: dict[int, bytes | None] = {}
        self._done = threading.Condition()
        self._processes: list[subprocess.Popen[bytes]] = []
        self._threads: list[threading.Thread] = []
        try:
            for _ in range(workers):
                command = [sys.executable, "-c", _BOOT]
                process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                self._processes.append(process)
                thread = threading.Thread(target=self._feed, args=(process,), daemon=True)
                self._threads.append(thread)
                thread.start()
        except OSError:
            self.close()  # the workers started so far
            raise

    def _take(self) -> int | None:
        with self._done:
            if self._next >= len(self._files):
                return None
            self._next += 1
            return self._next - 1

    def _feed(self, process: subprocess.Popen[bytes]) -> None:
        """Hand ``process`` one file at a time until none is left (or it fails: then its file is read here)."""
        jobs, results = process.stdin, process.stdout
        assert jobs is not None and results is not None  # both are pipes
        taken = None
        try:
            _send(jobs, list(sys.path))
            while (taken := self._take()) is not None:
                _send(jobs, self._files[taken])
                size = int.from_bytes(_read_exactly(results, 8), "little")
                result = _read_exactly(results, size)
                with self._done:
                    self._results[taken] = result
                    self._done.notify_all()
            taken = None
        except (OSError, EOFError):  # the worker died (killed, out of memory)
            pass
        finally:
            with contextlib.suppress(OSError):
                jobs.close()  # end of jobs: the worker returns
            with self._done:
                if taken is not None:
                    self._results[taken] = None
                self._done.notify_all()

    def result(self, at: int) -> FileRecords:
        """File ``at``'s records, once a worker has them (read here when no worker can)."""
        with self._done:
            while at not in self._results and any(thread.is_alive() for thread in self._threads):
                self._done.wait(0.5)
            result = self._results.pop(at, None)
        if result is None:
            return read_file(*self._files[at])
        records: FileRecords = pickle.loads(result)  # from the worker this process started
        return records

    def close(self) -> None:
        """Stop the workers: those still parsing are killed (the caller wants no more)."""
        with self._done:
            self._next = len(self._files)  # no more jobs taken
        for process, thread in zip(self._processes, self._threads, strict=True):
            if thread.is_alive():
                process.kill()  # its thread waits for a result: it gets EOF instead
            thread.join()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _read_exactly(pipe: IO[bytes], size: int) -> bytes:
    data = pipe.read(size)
    if len(data) != size:
        raise EOFError("the worker ended mid-message")
    return data


def _send(pipe: IO[bytes], value: object) -> None:
    pickle.dump(value, pipe, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.flush()


def read_files(files: Sequence[tuple[Path, str]], workers: int = 0) -> Generator[FileRecords, None, None]:
    """:func:`read_file` of each ``(path, source name)``, in that order; in ``workers`` processes
    (see :func:`pool_workers`), else in this one.

    The workers read ahead of the caller while it handles the files already read.
    """
    try:
        pool = _Workers(files, min(workers, len(files))) if workers > 1 and len(files) > 1 and sys.executable else None
    except OSError:  # no interpreter to start (an embedded Python): every file is read here
        pool = None
    if pool is None:
        for path, source in files:
            yield read_file(path, source)
        return
    try:
        for at in range(len(files)):
            yield pool.result(at)
    finally:
        pool.close()
