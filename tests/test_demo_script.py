"""scripts/demo.sh: installs only when needed and opens a scratch copy of the demo notebook.

The script runs for real in a copy of the repository's layout; only the slow parts it calls are
stand-ins that record their arguments (a real install takes minutes; JupyterLab would not return).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _layout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    for folder in ("scripts", "notebooks", "labextension/src", "paper_widgets", ".venv/bin"):
        (repo / folder).mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "demo.sh", repo / "scripts" / "demo.sh")
    shutil.copy(ROOT / "notebooks" / "browse_papers.ipynb", repo / "notebooks" / "browse_papers.ipynb")
    for name in (
        "labextension/package.json",
        "pyproject.toml",
        "paper_widgets/__init__.py",
        "labextension/src/index.ts",
    ):
        (repo / name).write_text("x")
    (repo / "scripts" / "install.sh").write_text('#!/usr/bin/env bash\necho installed >> "$LOG"\n')
    (repo / ".venv" / "bin" / "jupyter").write_text('#!/usr/bin/env bash\necho "jupyter $*" >> "$LOG"\n')
    for script in ("scripts/install.sh", ".venv/bin/jupyter", "scripts/demo.sh"):
        (repo / script).chmod(0o755)
    return repo


def _run(repo: Path, scratch: Path, log: Path) -> None:
    env = {**os.environ, "LOG": str(log), "PAPER_WIDGETS_DEMO_DIR": str(scratch)}
    subprocess.run(["bash", str(repo / "scripts" / "demo.sh"), "--port", "8899"], env=env, check=True, timeout=60)


def test_demo_installs_once_and_opens_a_copy_outside_the_repository(tmp_path: Path) -> None:
    repo, scratch, log = _layout(tmp_path), tmp_path / "scratch", tmp_path / "log"
    original = (repo / "notebooks" / "browse_papers.ipynb").read_bytes()
    _run(repo, scratch, log)
    lines = log.read_text().splitlines()
    assert lines[0] == "installed"
    assert lines[1].startswith("jupyter lab ") and lines[1].endswith(f"{scratch}/browse_papers.ipynb --port 8899")
    assert f"--ServerApp.root_dir={scratch}" in lines[1]
    assert (scratch / "browse_papers.ipynb").read_bytes() == original

    (scratch / "browse_papers.ipynb").write_text("my edits")  # the user worked in the copy
    _run(repo, scratch, log)
    assert log.read_text().splitlines()[2:] == [lines[1]], "nothing changed: no reinstall"
    assert (scratch / "browse_papers.ipynb").read_text() == "my edits", "the user's copy is kept"
    assert (repo / "notebooks" / "browse_papers.ipynb").read_bytes() == original

    stamp = repo / ".venv" / ".paper_widgets-installed"
    os.utime(stamp, (1, 1))  # a source file is now newer than the last install
    _run(repo, scratch, log)
    assert log.read_text().splitlines()[3] == "installed"
