"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temp dir, a loopback port, two roles.

Debian's binaries (``/usr/lib/postgresql/*/bin``) or any on PATH; initdb refuses to run as
root, so as root the cluster runs as the ``postgres`` OS user (Debian creates it with the
package). :func:`postgres_binaries` is None where there is no PostgreSQL: tests then skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["MEMBERS", "Cluster", "postgres_binaries"]

MEMBERS = ("alice", "bob")
SKIP_REASON = (
    "no PostgreSQL server binaries (initdb, pg_ctl): install Debian's postgresql "
    "(scripts/install.sh --test does) to run the team-store tests"
)


def postgres_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, newest version first, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]), reverse=True)
    if not found and shutil.which("initdb"):
        found = [str(shutil.which("initdb"))]
    candidates = [Path(p).parent for p in found]
    return next((c for c in candidates if (c / "pg_ctl").exists()), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster in a temp dir on 127.0.0.1; ``postgres`` is its superuser (trust auth)."""

    def __init__(self, *, durable: bool = False) -> None:
        binaries = postgres_binaries()
        if binaries is None:
            raise RuntimeError(SKIP_REASON)
        self.bin = binaries
        self.as_root = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="pw-pg-"))
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.port = _free_port()
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        # Tests do not need fsync; the benchmark (durable=True) measures a real, fsyncing server.
        self.options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=60"
        if not durable:
            self.options += " -c fsync=off -c full_page_writes=off"
        self.start()
        self.sql("postgres", *(f"CREATE ROLE {role} LOGIN" for role in MEMBERS))

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.dir, timeout=120)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-o", self.options, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            self.options,
            "-l",
            str(self.dir / "log"),
            "-m",
            "fast",
            "-w",
            "restart",
        )

    def url(self, role: str = "postgres", database: str = "postgres") -> str:
        return f"postgresql://{role}@127.0.0.1:{self.port}/{database}"

    def sql(self, database: str, *statements: str) -> None:
        """Run ``statements`` as the superuser, each on its own (CREATE DATABASE cannot share a transaction)."""
        import psycopg

        with psycopg.connect(self.url("postgres", database), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]  # test setup SQL, our own constants

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
