"""What the benchmarks measure of a process and a folder: memory from /proc/self/status, size on disk.

Dependency-free, so a benchmark's child process can import it before anything it times.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["disk_mb", "status_mb"]


def status_mb(field: str = "VmRSS") -> float:
    """A /proc/self/status memory field in MB: ``VmRSS`` now, ``VmHWM`` the peak (NaN where absent)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def disk_mb(path: Path) -> float:
    """Bytes of a file, or of every file under a folder, in MB."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20
