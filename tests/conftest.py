"""Shared pytest fixtures: every test gets its own PAPER_WIDGETS_HOME, so no test touches the user's store."""

from __future__ import annotations

from pathlib import Path

import pytest

SEEDS = Path(__file__).resolve().parent.parent / "paper_widgets" / "sample_data"
CARD_SEED = SEEDS / "000_edcdd8834a053c0a.txt"
PAIR_SEED = SEEDS / "001_d5cef83f63eea4ee.txt"


@pytest.fixture(autouse=True)
def paper_widgets_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("paper_widgets_home")
    monkeypatch.setenv("PAPER_WIDGETS_HOME", str(home))
    return home
