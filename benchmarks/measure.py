"""What the benchmarks measure of a process and a folder: memory from /proc/self/status, size on disk.

Dependency-free, so a benchmark's child process can import it before anything it times.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

__all__ = ["TreePeak", "disk_mb", "status_mb", "tree_rss_mb"]


def status_mb(field: str = "VmRSS", pid: int | str = "self") -> float:
    """A /proc/<pid>/status memory field in MB: ``VmRSS`` now, ``VmHWM`` the peak (NaN where absent)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def disk_mb(path: Path) -> float:
    """Bytes of a file, or of every file under a folder, in MB."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (from every thread's /proc children list)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(child) for child in children.read().split()]
    except OSError:  # the process ended meanwhile
        pass
    return found


def _rss_mb(pid: int) -> float:
    """:func:`status_mb` of ``pid``'s RSS; 0 once it has ended (or is a zombie, which has none)."""
    try:
        rss = status_mb("VmRSS", pid)
    except OSError:
        return 0.0
    return 0.0 if rss != rss else rss  # NaN: no VmRSS


def tree_rss_mb(pid: int | None = None, *, own: bool = True) -> float:
    """The RSS of process ``pid`` (default: this one) and all its descendants (worker processes), in MB;
    ``own=False``: of the descendants alone."""
    root = os.getpid() if pid is None else pid
    pending, total = _children(root), _rss_mb(root) if own else 0.0
    while pending:
        current = pending.pop()
        total += _rss_mb(current)
        pending += _children(current)
    return total


class TreePeak:
    """The highest :func:`tree_rss_mb` of this process seen while the ``with`` block runs (sampled every
    ``interval`` s): the memory of a load that parses in worker processes, which this process's VmHWM
    leaves out; ``own=False``: of its worker processes alone."""

    def __init__(self, interval: float = 0.02, *, own: bool = True) -> None:
        self.peak_mb = 0.0
        self._own = own
        self._interval, self._stop = interval, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, tree_rss_mb(own=self._own))
            time.sleep(self._interval)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, tree_rss_mb(own=self._own))
