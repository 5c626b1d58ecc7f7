"""Worker processes give the results of computing here, in order, and never outlive their use."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import child_pids

import paper_widgets.workers as workers_module
from paper_widgets.search.tokens import chunk_postings
from paper_widgets.workers import MAX_WORKERS, Workers, worker_count


def worker_pids(pool: Workers) -> list[int]:
    return [proc.pid for proc in pool._procs]


def test_one_pool_serves_one_map_after_another_in_order() -> None:
    with Workers(2) as pool:
        assert pool.count == 2
        assert list(pool.map(len, ["ab", "c", "", "def", "x" * 9])) == [2, 1, 0, 3, 9]
        assert [found.words for found in pool.map(chunk_postings, [["x y"], ["Z"]])] == [["x", "y"], ["z"]]


def test_stopping_early_ends_every_worker() -> None:
    before = child_pids()
    with Workers(2) as pool:
        tokenised = pool.map(chunk_postings, (["Multi-Task model merging"] * 50 for _ in range(100)))
        assert next(tokenised).words == ["multi", "task", "multitask", "model", "merging"]
        tokenised.close()
    assert child_pids() == before


def test_a_function_failing_in_a_worker_raises_its_own_error_here_and_ends_every_worker() -> None:
    before = child_pids()
    with pytest.raises(TypeError), Workers(2) as pool:
        list(pool.map(len, ["fine", "fine", None, "fine"]))  # type: ignore[list-item]
    assert child_pids() == before


def test_the_items_of_a_killed_worker_are_computed_here() -> None:
    with Workers(2) as pool:
        results = pool.map(len, ("x" * i for i in range(40)))
        assert next(results) == 0
        os.kill(worker_pids(pool)[1], 9)  # items 1, 3, 5, … were its
        assert list(results) == list(range(1, 40))


def test_workers_that_die_at_once_or_cannot_start_leave_the_work_to_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(workers_module, "_BOOT", "import os; os._exit(3)")  # as if killed before the first item
        with Workers(2) as pool:
            assert list(pool.map(len, ["ab", "", "abc"])) == [2, 0, 3]

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("no processes here")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    with Workers(2) as pool:
        assert pool.count == 0 and list(pool.map(len, ["ab", ""])) == [2, 0]


def test_workers_start_only_for_work_that_pays_and_an_idle_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(workers_module, "_idle_cores", lambda cores: 1.8)  # this process's core and another idle
    assert worker_count(True) == 2 and worker_count(False) == 0
    monkeypatch.setattr(workers_module, "_idle_cores", lambda cores: 1.0)  # another process keeps one core busy
    assert worker_count(True) == 0
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.setattr(workers_module, "_idle_cores", lambda cores: 12.0)
    assert worker_count(True) == MAX_WORKERS
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert worker_count(True) == 0


def test_idle_cores_are_measured_now_between_none_and_every_core() -> None:
    cores = len(os.sched_getaffinity(0))
    assert 0 <= workers_module._idle_cores(cores) <= cores


def test_workers_import_the_callers_paper_widgets_not_one_in_the_current_folder(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker started from a folder holding another paper_widgets still runs this one."""
    other = os.path.join(tmp_path, "paper_widgets")
    os.mkdir(other)
    with open(os.path.join(other, "__init__.py"), "w") as init:
        init.write("raise ImportError('the paper_widgets of the current folder')\n")
    monkeypatch.chdir(tmp_path)
    with Workers(1) as pool:
        # /proc/self names the process reading it: the worker's, unless it died and this one read it
        (reader,) = pool.map(os.readlink, ["/proc/self"])
        assert reader in {str(pid) for pid in worker_pids(pool)}
