"""The README's Python examples run as written on the bundled samples, with a temporary store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_the_readme_python_examples_run_on_the_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPER_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks()
    assert blocks, "the README has Python examples"
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    lib = namespace["lib"]
    key = namespace["key"]
    assert key in lib, "the example key is a paper of the bundled samples"  # type: ignore[operator]
    assert "Failure scores from VLA features" in (tmp_path / "notes.md").read_text()
    assert (tmp_path / "home").is_dir(), "the examples wrote to the temporary store, not the user's"
