"""Shared pytest fixtures: every test gets its own PAPER_WIDGETS_HOME, so no test touches the user's store;
``harness`` records what the comm bridge sends; ``lib`` is the bundled sample library."""

from __future__ import annotations

import contextlib
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakes import Harness
from pg_cluster import MEMBERS, SKIP_REASON, Cluster, postgres_binaries

import paper_widgets
from paper_widgets.kernel import bridge as _bridge

SEEDS = Path(__file__).resolve().parent.parent / "paper_widgets" / "sample_data"
CARD_SEED = SEEDS / "000_edcdd8834a053c0a.txt"
PAIR_SEED = SEEDS / "001_d5cef83f63eea4ee.txt"


@pytest.fixture(autouse=True)
def paper_widgets_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("paper_widgets_home")
    monkeypatch.setenv("PAPER_WIDGETS_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the session (roles alice and bob); skips without PostgreSQL."""
    if postgres_binaries() is None:
        pytest.skip(SKIP_REASON)
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def team_db(postgres_cluster: Cluster) -> Callable[[str], str]:
    """A fresh team database (``paper-widgets db init`` done, alice and bob members): role -> URL."""
    from paper_widgets.store.team import grant_team, init_team_database

    name = f"team_{uuid.uuid4().hex[:12]}"
    postgres_cluster.sql("postgres", f"CREATE DATABASE {name}")
    init_team_database(postgres_cluster.url("postgres", name))
    grant_team(postgres_cluster.url("postgres", name), MEMBERS)
    return lambda role: postgres_cluster.url(role, name)


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Harness:
    """The kernel's bridge replaced by one on a recording fake comm and a fake IPython shell (a cell run)."""
    h = Harness()
    monkeypatch.setattr(_bridge, "current_shell", lambda: h.shell)
    setattr(h.shell, _bridge._SHELL_ATTRIBUTE, h.bridge)
    return h


@pytest.fixture
def lib(paper_widgets_home: Path) -> paper_widgets.Library:
    """The bundled sample library (145 papers), its store in this test's PAPER_WIDGETS_HOME."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return paper_widgets.load_sample()


def child_pids() -> set[int]:
    """The process ids of this process's children (the worker processes it started, among others)."""
    found = set()
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that ended since it was listed
            found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found
