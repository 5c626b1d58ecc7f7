"""The team store on a real PostgreSQL server, and what both backends promise under concurrency.

Row-level security is checked with raw SQL as another role; writers are real processes; the
server is really restarted and stopped. PostgreSQL tests skip where its binaries are absent.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from conftest import CARD_SEED
from pg_cluster import Cluster

import paper_widgets as pw
from paper_widgets import cli
from paper_widgets.store import NoteConflict, Store, StoreError, StoreUnavailable

ROOT = Path(__file__).resolve().parent.parent
TeamDB = Callable[[str], str]


def papers(*titles: str) -> pd.DataFrame:
    n = len(titles)
    return pd.DataFrame(
        {
            "title": list(titles),
            "authors": [["Grace Hopper"]] * n,
            "published": pd.to_datetime(["2024-01-01"] * n),
            "arxiv_id": [None] * n,
        }
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store lives on each backend; every process opening it is one of alice's editors."""
    if request.param == "postgresql":
        team_db: TeamDB = request.getfixturevalue("team_db")
        return team_db("alice")
    return str(tmp_path / "store")


@pytest.fixture
def alice(team_db: TeamDB) -> Iterator[Store]:
    with Store(team_db("alice")) as store:
        yield store


@pytest.fixture
def bob(team_db: TeamDB) -> Iterator[Store]:
    with Store(team_db("bob")) as store:
        yield store


def run_python(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


# -- sharing and privacy ------------------------------------------------------------------------


@pytest.mark.postgres
def test_team_shares_keys_tags_and_shared_notes_but_not_status(alice: Store, bob: Store) -> None:
    (key,) = alice.assign_keys(papers("Gradient Surgery for Multi-Task Learning"))
    assert list(bob.assign_keys(papers("Gradient surgery for multi-task learning"))) == [key]
    alice.tag(key, "mtl")
    bob.tag(key, "to-cite")
    assert alice.tags(key) == bob.tags(key) == ["mtl", "to-cite"]
    alice.set_status(key, "read")
    assert (alice.status(key), bob.status(key)) == ("read", "unread")
    alice.set_note(key, "alice thinks aloud")
    alice_shared = alice.set_note(key, "projects conflicting gradients", shared=True)
    bob.set_note(key, "bob's own take")
    seen = bob.notes(key)
    assert [(n.author, n.text, n.shared, n.mine) for n in seen] == [
        ("bob", "bob's own take", False, True),
        ("alice", "projects conflicting gradients", True, False),
    ]
    assert seen[1].version == alice_shared and seen[1].updated.tzinfo is not None
    assert bob.note(key) == "bob's own take"
    assert bob.note_history(key) == [(seen[0].updated, "bob's own take")]


@pytest.mark.postgres
def test_row_level_security_keeps_private_notes_from_another_role(alice: Store, team_db: TeamDB) -> None:
    (key,) = alice.assign_keys(papers("Private Thoughts on Attention"))
    alice.set_note(key, "alice's secret")
    alice.set_status(key, "reading")
    alice.mark_used([key])  # cited: its key is now fixed for the whole team
    with psycopg.connect(team_db("bob"), autocommit=True) as conn:
        # bob's own queries, not ours: PostgreSQL filters the rows.
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM note_history").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM status").fetchone() == (0,)
        assert conn.execute("UPDATE notes SET text = 'defaced'").rowcount == 0
        assert conn.execute("UPDATE status SET status = 'unread'").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM note_history")  # the history only grows, for everyone
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # cannot write as alice
            conn.execute(
                "INSERT INTO notes (paper_id, author, text, shared, version, updated) "
                "SELECT paper_id, 'alice', 'forged', 1, 99, 0 FROM papers"
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE papers SET key = 'stolen'")  # a key once given never changes
    assert alice.note(key) == "alice's secret"
    assert alice.status(key) == "reading"


@pytest.mark.postgres
def test_a_shared_note_is_read_only_for_the_rest_of_the_team(alice: Store, team_db: TeamDB) -> None:
    (key,) = alice.assign_keys(papers("Shared Reading"))
    alice.set_note(key, "for everyone", shared=True)
    with psycopg.connect(team_db("bob"), autocommit=True) as conn:
        assert conn.execute("SELECT author, text FROM notes").fetchall() == [("alice", "for everyone")]
        assert conn.execute("UPDATE notes SET text = 'bob was here'").rowcount == 0
    assert alice.note(key) == "for everyone"


# -- concurrency --------------------------------------------------------------------------------

WRITER = """
    import sys
    from paper_widgets.store import Store

    location, label, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    keys = sys.argv[4:]
    with Store(location) as store:
        for i in range(count):
            key = keys[i % len(keys)]
            version = store.set_note(key, f"{label} {i}")
            print(key, version, flush=True)
"""


def test_eight_writer_processes_lose_no_note(location: str) -> None:
    with Store(location) as store:
        keys = list(store.assign_keys(papers(*(f"Contended Paper {i}" for i in range(25)))))
    writers, count = 8, 500
    procs = [run_python(WRITER, location, f"w{w}", str(count), *keys) for w in range(writers)]
    acknowledged: dict[str, list[int]] = {}
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        for line in out.splitlines():
            key, version = line.split()
            acknowledged.setdefault(key, []).append(int(version))
    assert sum(map(len, acknowledged.values())) == writers * count
    with Store(location) as store:
        for key in keys:
            history = [text for _, text in store.note_history(key)]
            # Every acknowledged save is in the history, each writer's in its own order ...
            assert len(history) == len(acknowledged[key]) == writers * count // len(keys)
            for w in range(writers):
                mine = [int(t.split()[1]) for t in history if t.startswith(f"w{w} ")]
                assert mine == sorted(mine) == [i for i in range(count) if keys[i % len(keys)] == key]
            # ... versions are handed out once each, and the note is the last save.
            assert sorted(acknowledged[key]) == list(range(1, len(history) + 1))
            assert store.note(key) == history[-1]
            assert store.note_version(key) == len(history)


EDITOR = """
    import sys, time
    from pathlib import Path
    from paper_widgets.store import NoteConflict, Store

    location, key, label, go = sys.argv[1:5]
    with Store(location) as store:
        loaded = store.note_version(key)
        print("ready", flush=True)
        while not Path(go).exists():
            time.sleep(0.001)
        try:
            print("saved", store.set_note(key, f"{label}'s edit", shared=True, expected=loaded))
        except NoteConflict as conflict:
            print("conflict", conflict.current)
"""


def test_two_editors_of_one_shared_note_never_overwrite_each_other(location: str, tmp_path: Path) -> None:
    with Store(location) as store:
        (key,) = store.assign_keys(papers("A Note Two Editors Open"))
        store.set_note(key, "the text both editors loaded", shared=True)
    go = tmp_path / "go"
    editors = [run_python(EDITOR, location, key, label, str(go)) for label in ("left", "right")]
    for editor in editors:
        assert editor.stdout is not None and editor.stdout.readline().strip() == "ready"
    go.touch()  # both save at once, each against version 1
    results = sorted(editor.communicate(timeout=120)[0].split() for editor in editors)
    assert results == [["conflict", "2"], ["saved", "2"]]
    with Store(location) as store:
        texts = [text for _, text in store.note_history(key)]
        assert texts[0] == "the text both editors loaded"
        assert sorted(texts[1:]) == ["left's edit", "right's edit"]  # the loser's text is kept too
        assert store.note(key) in {"left's edit", "right's edit"}
        assert store.note_version(key) == 2


def test_a_stale_editor_is_refused_and_told_the_current_version(location: str) -> None:
    with Store(location) as first, Store(location) as second:
        (key,) = first.assign_keys(papers("Stale Editors"))
        assert first.set_note(key, "draft", expected=0) == 1
        loaded = second.note_version(key)
        first.set_note(key, "newer, from another kernel")
        with pytest.raises(NoteConflict, match="version 1, it is now version 2") as refused:
            second.set_note(key, "autosave of the old text", expected=loaded)
        assert (refused.value.key, refused.value.expected, refused.value.current) == (key, 1, 2)
        assert second.note(key) == "newer, from another kernel"
        assert [t for _, t in second.note_history(key)][-1] == "autosave of the old text"
        with pytest.raises(NoteConflict):
            second.set_note(key, "a new note where one exists", expected=0)


@pytest.mark.postgres
def test_same_new_papers_from_two_processes_get_one_key_each(team_db: TeamDB) -> None:
    script = """
        import sys
        import pandas as pd
        from paper_widgets.store import Store

        titles = [f"Shared Paper Number {i}" for i in range(300)] + [f"{sys.argv[2]} Only {i}" for i in range(50)]
        n = len(titles)
        frame = pd.DataFrame({"title": titles, "authors": [["Grace Hopper"]] * n,
                              "published": pd.to_datetime(["2024-01-01"] * n), "arxiv_id": [None] * n})
        with Store(sys.argv[1]) as store:
            keys = store.assign_keys(frame)
        print("\\n".join(f"{t}\\t{k}" for t, k in zip(titles, keys)))
    """
    procs = [run_python(script, team_db(role), label) for role, label in (("alice", "Alpha"), ("bob", "Beta"))]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(dict(line.split("\t") for line in out.splitlines()))
    shared = [f"Shared Paper Number {i}" for i in range(300)]
    assert [results[0][t] for t in shared] == [results[1][t] for t in shared]
    all_keys = {**results[0], **results[1]}
    assert len(set(all_keys.values())) == len(all_keys) == 400
    with psycopg.connect(team_db("alice")) as conn:
        assert conn.execute("SELECT count(*) FROM papers").fetchone() == (400,)


# -- faults -------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_database_restart_mid_session_reconnects_and_keeps_acknowledged_notes(
    alice: Store, postgres_cluster: Cluster
) -> None:
    (key,) = alice.assign_keys(papers("Surviving Restarts"))
    alice.set_note(key, "before the restart")
    postgres_cluster.restart()
    assert alice.note(key) == "before the restart"  # the next call reconnects
    alice.set_note(key, "after the restart")
    postgres_cluster.restart()
    alice.tag(key, "durable")  # a write as the first call after a restart
    assert [t for _, t in alice.note_history(key)] == ["before the restart", "after the restart"]
    assert alice.tags(key) == ["durable"]


@pytest.mark.postgres
def test_stopped_database_is_a_clear_error_and_work_resumes_when_it_is_back(
    alice: Store, postgres_cluster: Cluster
) -> None:
    (key,) = alice.assign_keys(papers("Outages Happen"))
    postgres_cluster.stop()
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=rf"127\.0\.0\.1:{postgres_cluster.port}"):
            alice.set_note(key, "written while the server is down")
        assert time.monotonic() - started < 15
    finally:
        postgres_cluster.start()
    assert alice.note(key) is None  # refused, not half-written
    alice.set_note(key, "written once it is back")
    assert alice.note(key) == "written once it is back"


def test_unreachable_database_is_a_clear_error_naming_host_and_port_within_seconds() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=rf"PostgreSQL at 127\.0\.0\.1:{port}/team"):
        Store(f"postgresql://alice@127.0.0.1:{port}/team")
    assert time.monotonic() - started < 6


def test_environment_variable_selects_postgresql_and_anything_else_keeps_sqlite(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PAPER_WIDGETS_DB", "postgresql://alice@127.0.0.1:1/team")
    with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1:1/"):
        Store()
    with Store(tmp_path) as explicit:  # an explicit folder is the local store, whatever the variable says
        assert explicit.url is None and explicit.user == "me"
    monkeypatch.setenv("PAPER_WIDGETS_DB", str(tmp_path / "not-a-url"))
    with Store() as default:
        assert default.url is None


@pytest.mark.postgres
def test_database_without_db_init_says_what_to_run(postgres_cluster: Cluster) -> None:
    postgres_cluster.sql("postgres", "CREATE DATABASE never_initialised")
    with pytest.raises(StoreError, match="paper-widgets db init"):
        Store(postgres_cluster.url("postgres", "never_initialised"))


# -- command line and library -------------------------------------------------------------------


@pytest.mark.postgres
def test_db_init_and_grant_commands_set_up_a_team(
    postgres_cluster: Cluster, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres_cluster.sql("postgres", "CREATE DATABASE cli_team", "CREATE ROLE carol LOGIN")
    owner = postgres_cluster.url("postgres", "cli_team")
    with pytest.raises(StoreError, match="db init"):
        Store(postgres_cluster.url("carol", "cli_team"))
    monkeypatch.setenv("PAPER_WIDGETS_DB", owner)
    assert cli.main(["db", "init"]) == 0
    assert cli.main(["db", "init"]) == 0  # again: harmless
    with pytest.raises(psycopg.errors.InsufficientPrivilege), Store(postgres_cluster.url("carol", "cli_team")) as carol:
        carol.assign_keys(papers("Not Yet A Member"))
    assert cli.main(["db", "grant", "carol", "--url", owner]) == 0
    assert cli.main(["db", "grant", "nobody_such"]) == 1
    out, err = capsys.readouterr()
    assert "carol" in out and "no PostgreSQL role 'nobody_such'" in err
    with Store(postgres_cluster.url("carol", "cli_team")) as carol:
        (key,) = carol.assign_keys(papers("Now A Member"))
        carol.set_note(key, "hello team", shared=True)
        assert carol.notes(key)[0].author == "carol"


def test_db_commands_need_a_postgresql_url(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PAPER_WIDGETS_DB", raising=False)
    assert cli.main(["db", "init"]) == 1
    assert "PAPER_WIDGETS_DB" in capsys.readouterr().err


@pytest.mark.postgres
def test_library_on_a_team_store_shows_each_member_their_annotations(team_db: TeamDB) -> None:
    alice_lib = pw.load(CARD_SEED, store=team_db("alice"))
    bob_lib = pw.load(CARD_SEED, store=team_db("bob"))
    assert alice_lib.df["key"].tolist() == bob_lib.df["key"].tolist()
    key = alice_lib.df["key"].iloc[0]
    before = bob_lib.df
    alice_lib.set_note(key, "shared summary", shared=True)
    alice_lib.tag(key, "team-pick")
    row = bob_lib[key]
    assert pd.isna(row["note"]) and row["tags"] == ["team-pick"]  # bob's note column is bob's own note
    assert bob_lib.df is before  # refreshed in place, only the changed row
    assert [(n.author, n.text) for n in bob_lib.notes(key)] == [("alice", "shared summary")]
    found = bob_lib.search(alice_lib.df["title"].iloc[0], limit=1)
    assert found["key"].tolist() == [key] and found["tags"].tolist() == [["team-pick"]]
    assert bob_lib.search("", tags="team-pick")["key"].tolist() == [key]


@pytest.mark.postgres
def test_db_init_upgrades_a_v6_team_database_keeping_its_papers(postgres_cluster: Cluster) -> None:
    from paper_widgets.store.db import Transaction
    from paper_widgets.store.schema import migrate_postgres
    from paper_widgets.store.team import grant_team, init_team_database

    postgres_cluster.sql("postgres", "CREATE DATABASE team_v6")
    owner = postgres_cluster.url("postgres", "team_v6")
    with psycopg.connect(owner, autocommit=True) as conn, conn.transaction():
        migrate_postgres(Transaction(conn, "postgresql"), 6)  # identities as text, as v6 wrote them
        conn.execute("INSERT INTO papers (paper_id, key, created) VALUES (1, 'hopperCompilers1952', 0)")
        conn.execute("INSERT INTO identities VALUES ('title:the education of a computer', 1, 'title')")
        conn.execute("INSERT INTO key_aliases VALUES ('EducationComputer1952', 1)")
    assert init_team_database(owner) == 6
    grant_team(owner, ["alice"])
    with Store(postgres_cluster.url("alice", "team_v6")) as alice:
        assert alice.assign_keys(papers("The Education of a Computer")).tolist() == ["hopperCompilers1952"]
        assert alice.key_aliases() == {"EducationComputer1952": "hopperCompilers1952"}
        (fresh,) = alice.assign_keys(papers("A New Paper After The Upgrade"))
        assert alice.assign_keys(papers("A New Paper After The Upgrade")).tolist() == [fresh]
