"""The notes store under crashes and concurrency: real subprocesses, SIGKILL, two writers at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from paper_widgets.store import DB_NAME, Store

ROOT = Path(__file__).resolve().parent.parent

# Prints "<version id> <text>" only after set_note returned, i.e. once the note is acknowledged.
WRITER = textwrap.dedent(
    """
    import sys
    from paper_widgets.store import Store

    home, key, label, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    store = Store(home)
    for i in range(count):
        text = f"{label} note {i}\\n" + "body " * (i % 50)
        version = store.set_note(key, text)
        store.tag(key, f"{label}-{i % 7}")
        print(version, label, i, flush=True)
    """
)


def writer(home: Path, key: str, label: str, count: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(home), key, label, str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def paper_key(home: Path, title: str) -> str:
    frame = pd.DataFrame({"title": [title], "authors": [[]], "published": pd.to_datetime([None]), "arxiv_id": [None]})
    with Store(home) as store:
        return store.assign_keys(frame)[0]


def expected_text(label: str, i: int) -> str:
    return f"{label} note {i}\n" + "body " * (i % 50)


def integrity(home: Path) -> str:
    conn = sqlite3.connect(home / DB_NAME)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_write_loses_no_acknowledged_note(tmp_path: Path) -> None:
    key = paper_key(tmp_path, "Crash Consistency in Practice")
    proc = writer(tmp_path, key, "crash", 100_000)
    acknowledged: list[tuple[int, int]] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        version, _, i = line.split()
        acknowledged.append((int(version), int(i)))
        if len(acknowledged) == 150:
            proc.send_signal(signal.SIGKILL)  # the writer is mid-loop, most likely inside a commit
            break
    # Lines already in the pipe were acknowledged too.
    for line in proc.stdout:
        version, _, i = line.split()
        acknowledged.append((int(version), int(i)))
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 150

    assert integrity(tmp_path) == "ok"
    with Store(tmp_path) as store:
        history = [text for _, text in store.note_history(key)]
        for _, i in acknowledged:
            assert history[i] == expected_text("crash", i)
        # At most the one note in flight when the signal hit may exist unacknowledged.
        assert len(acknowledged) <= len(history) <= len(acknowledged) + 1
        assert store.note(key) == history[-1]
        store.set_note(key, "after the crash")  # and the file is writable again
        assert store.note(key) == "after the crash"


def test_two_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    shared = paper_key(tmp_path, "Concurrency Control in Embedded Databases")
    count = 250
    procs = {label: writer(tmp_path, shared, label, count) for label in ("left", "right")}
    outputs = {}
    for label, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        outputs[label] = out.splitlines()
    assert all(len(lines) == count for lines in outputs.values())

    assert integrity(tmp_path) == "ok"
    with Store(tmp_path) as store:
        history = [text for _, text in store.note_history(shared)]
        assert len(history) == 2 * count
        assert set(history) == {expected_text(label, i) for label in procs for i in range(count)}
        # Each writer's notes are in its own order, interleaved with the other's.
        for label in procs:
            mine = [t for t in history if t.startswith(f"{label} note")]
            assert mine == [expected_text(label, i) for i in range(count)]
        assert store.tags(shared) == sorted(f"{label}-{i}" for label in procs for i in range(7))
    version_ids = [int(line.split()[0]) for lines in outputs.values() for line in lines]
    assert len(set(version_ids)) == 2 * count


def test_concurrent_key_assignment_agrees(tmp_path: Path) -> None:
    """Two processes recording the same new papers at once end up with one key per paper."""
    script = textwrap.dedent(
        """
        import sys
        import pandas as pd
        from paper_widgets.store import Store

        titles = [f"Shared Paper Number {i}" for i in range(300)] + [f"{sys.argv[2]} Only {i}" for i in range(50)]
        n = len(titles)
        frame = pd.DataFrame({"title": titles, "authors": [["Grace Hopper"]] * n,
                              "published": pd.to_datetime(["2024-01-01"] * n), "arxiv_id": [None] * n})
        keys = Store(sys.argv[1]).assign_keys(frame)
        print("\\n".join(f"{t}\\t{k}" for t, k in zip(titles, keys)))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path), label], stdout=subprocess.PIPE, text=True, env=env
        )
        for label in ("Alpha", "Beta")
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        results.append(dict(line.split("\t") for line in out.splitlines()))
    shared = [f"Shared Paper Number {i}" for i in range(300)]
    assert [results[0][t] for t in shared] == [results[1][t] for t in shared]
    all_keys = {**results[0], **results[1]}
    assert len(set(all_keys.values())) == len(all_keys) == 400
    conn = sqlite3.connect(tmp_path / DB_NAME)
    assert conn.execute("SELECT count(*) FROM papers").fetchone()[0] == 400
