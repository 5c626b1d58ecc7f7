"""A Jupyter application (``jupyter server`` or ``jupyter lab``) started for tests.

On loopback, with a fresh token, the given root and environment, its output in ``log``; it counts
as up once ``/api/status`` answers. Shared by the server-extension tests and the browser harness.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Running", "free_port", "start_jupyter"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    url: str
    token: str
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_jupyter(app: str, root: Path, env: dict[str, str], log: Path, *options: str, timeout: float = 60) -> Running:
    """Start ``jupyter APP`` serving ``root`` and wait until it answers; RuntimeError with its log if not."""
    port, token = free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyter", app, "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1"]
    command += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]
    command += [f"--ServerApp.root_dir={root}", *options]
    process = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    running = Running(process, f"http://127.0.0.1:{port}", token, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter {app} exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{running.url}/api/status?token={token}", timeout=2) as response:
                if response.status == 200:
                    return running
        except OSError:
            time.sleep(0.3)
    running.stop()
    raise RuntimeError(f"jupyter {app} did not start in {timeout:.0f} s:\n{log.read_text()[-3000:]}")
