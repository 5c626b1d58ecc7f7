"""The server extension, through a real ``jupyter server`` on 127.0.0.1: auth, XSRF and every endpoint.

The server and this test share one store (``PAPER_WIDGETS_HOME``), as the server extension and a
kernel do, so what one writes the other reads.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jupyter_app import start_jupyter
from many_dumps import write_days

import paper_widgets as pw
from paper_widgets.library import remember_paths
from paper_widgets.output.bibliography import write_bibliography
from paper_widgets.server.service import LibraryNotReady, LibraryService, LoadStatus


@dataclass
class Server:
    url: str
    token: str
    home: Path
    root: Path  # the server's root_dir: where notebooks (and their references.bib) live

    def call(
        self, method: str, route: str, body: Any = None, *, token: bool = True, wait: bool = True
    ) -> tuple[int, Any]:
        """The answer's status and JSON (text for errors); ``wait``: as the sidebar does, after a
        503 "loading" answer wait until the status route says the load ended, then ask again."""
        status, answer, _ = self.exchange(method, route, body, token=token)
        while wait and status == 503 and json.loads(answer)["state"] == "loading":
            self.wait_loaded()
            status, answer, _ = self.exchange(method, route, body, token=token)
        return status, answer

    def exchange(
        self, method: str, route: str, body: Any = None, *, token: bool = True
    ) -> tuple[int, Any, dict[str, str]]:
        """One request: its status, JSON answer (an error's text) and headers."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"token {self.token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/paper-widgets/{route}", data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read()), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), dict(error.headers)

    def wait_loaded(self, timeout: float = 300) -> dict[str, Any]:
        """Poll the status route until no load runs; the last status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, answer, _ = self.exchange("GET", "status")
            assert status == 200, answer
            if answer["state"] != "loading":
                return dict(answer)
            time.sleep(0.05)
        raise AssertionError(f"the library was still loading after {timeout} s")


@contextlib.contextmanager
def _serve(base: Path) -> Iterator[Server]:
    """``jupyter server`` with the extension as the wheel enables it, on the store ``base/home``."""
    config, home, root = base / "config", base / "home", base / "root"
    for folder in (config, home, root):
        folder.mkdir(exist_ok=True)
    # What the wheel installs into etc/jupyter/jupyter_server_config.d, here in a private config dir.
    shipped = Path(__file__).resolve().parents[1] / "jupyter-config" / "server-config" / "paper_widgets.json"
    (config / "jupyter_server_config.json").write_text(shipped.read_text())
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "PAPER_WIDGETS_HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    try:
        running = start_jupyter("server", root, env, base / "server.log")
    except RuntimeError as error:
        pytest.fail(str(error))
    try:
        yield Server(running.url, running.token, home, root)
    finally:  # also when the test failed: a server left running outlives the test session
        running.stop()
    assert "paper_widgets: serving the library" in running.log.read_text()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with _serve(tmp_path_factory.mktemp("server")) as running:
        yield running


@pytest.fixture
def lib(server: Server) -> pw.Library:
    """The library the server serves, opened in this process from the same store."""
    return pw.load_default(store=server.home)


def test_nothing_is_served_without_the_token(server: Server) -> None:
    for method, route, body in [
        ("GET", "search?q=gradient", None),
        ("GET", "papers/GradientSurgeryMultitask", None),
        ("POST", "cite", {"keys": ["GradientSurgeryMultitask"]}),
        ("PUT", "papers/GradientSurgeryMultitask", {"note": "sneaky"}),
        ("POST", "files", {"name": "x.txt", "content": "x"}),
    ]:
        status, _ = server.call(method, route, body, token=False)
        assert status in (401, 403), (method, route, status)
    assert pw.load_default(store=server.home).note("GradientSurgeryMultitask") is None


def test_a_cookie_session_must_send_the_xsrf_token_to_write(server: Server) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{server.url}/api/status?token={server.token}", timeout=10).read()  # logs in: the login cookie
    opener.open(f"{server.url}/login", timeout=10).read()  # a page: the _xsrf cookie, as a browser gets it
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    assert any(c.name.startswith("username-") for c in jar), [c.name for c in jar]
    with opener.open(f"{server.url}/paper-widgets/search?q=gradient", timeout=30) as response:
        assert json.loads(response.read())["results"]  # reading with the cookie alone is fine
    body = json.dumps({"keys": ["GradientSurgeryMultitask"]}).encode()
    forged = urllib.request.Request(f"{server.url}/paper-widgets/cite", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(forged, timeout=30)
    assert refused.value.code == 403
    honest = urllib.request.Request(
        f"{server.url}/paper-widgets/cite", data=body, method="POST", headers={"X-XSRFToken": str(xsrf)}
    )
    with opener.open(honest, timeout=30) as response:
        assert json.loads(response.read())["text"]


def test_search_ranks_as_library_search_and_marks_the_matched_words(server: Server, lib: pw.Library) -> None:
    for query in ("gradeint surgery", "multi task learning", "adaptive model merging"):
        status, answer = server.call("GET", "search?" + urllib.parse.urlencode({"q": query, "limit": 8}))
        assert status == 200
        assert [r["key"] for r in answer["results"]] == list(lib.search(query, limit=8)["key"])
    status, answer = server.call("GET", "search?q=gradeint%20surgery&limit=1")
    best = answer["results"][0]
    assert best["key"] == "GradientSurgeryMultitask"
    marked = [best["title"][a:b].lower() for a, b in best["title_spans"]]
    assert "gradient" in marked and "surgery" in marked
    assert best["authors"] == list(lib["GradientSurgeryMultitask"]["authors"])


def test_search_filters_are_those_of_library_search(server: Server, lib: pw.Library) -> None:
    status, answer = server.call("GET", "search?q=learning&year_from=2024&year_to=2024&sort=upvotes&limit=50")
    assert status == 200
    expected = lib.search("learning", limit=50, year=(2024, 2024), sort="upvotes")
    assert [r["key"] for r in answer["results"]] == list(expected["key"])
    assert all(r["year"] == 2024 for r in answer["results"])
    assert server.call("GET", "search?q=x&sort=sideways")[0] == 400
    assert server.call("GET", "search?q=x&limit=many")[0] == 400


def test_paper_details_and_unknown_keys(server: Server, lib: pw.Library) -> None:
    status, paper = server.call("GET", "papers/GradientSurgeryMultitask?q=conflicting")
    assert status == 200
    row = lib["GradientSurgeryMultitask"]
    assert paper["abstract"] == row["abstract"] and paper["title"] == row["title"]
    assert paper["status"] == "unread" and paper["tags"] == []
    assert all(paper["abstract"][a:b].lower().startswith("conflict") for a, b in paper["abstract_spans"])
    status, message = server.call("GET", "papers/GradientSurgeryMultitaskk")
    assert status == 404 and "GradientSurgeryMultitask" in message


def test_cite_snippet_and_bibtex_are_the_library_s(server: Server, lib: pw.Library) -> None:
    key = "GradientSurgeryMultitask"
    for style in ("pandoc", "myst", "latex", "cite", "text"):
        assert server.call("POST", "cite", {"keys": [key], "style": style}) == (200, {"text": lib.cite(key, style)})
    two = [key, "AgentWorkflowMemory"]
    assert server.call("POST", "cite", {"keys": two, "style": "pandoc"})[1]["text"] == lib.cite(two, "pandoc")
    snippet = server.call("POST", "snippet", {"key": key, "query": "conflicting gradients", "style": "pandoc"})
    assert snippet == (200, {"text": lib.snippet(key, query="conflicting gradients", style="pandoc")})
    assert server.call("POST", "bibtex", {"keys": [key]}) == (200, {"text": lib.to_bibtex([key])})
    assert server.call("POST", "cite", {"keys": [key], "style": "harvard"})[0] == 400
    assert server.call("POST", "cite", {"keys": key})[0] == 400


def _cells(*markdown: str) -> list[dict[str, Any]]:
    return [{"cell_type": "markdown", "source": text, "metadata": {}} for text in markdown]


def test_cited_keys_and_the_references_cell_come_from_the_python_side(server: Server, lib: pw.Library) -> None:
    cells = [
        *_cells("As [@GradientSurgeryMultitask] shows", "`[@NotACitation]` and {cite}`AgentWorkflowMemory`"),
        {"cell_type": "code", "source": "x = '[@CodeIsIgnored]'", "metadata": {}},
        {"cell_type": "markdown", "source": "[@Stale]", "metadata": {"paper_widgets": {"role": "references"}}},
    ]
    status, cited = server.call("POST", "cited", {"cells": cells})
    assert status == 200
    assert cited["keys"] == ["GradientSurgeryMultitask", "AgentWorkflowMemory"]
    assert [p["key"] for p in cited["papers"]] == cited["keys"]
    status, refs = server.call("POST", "references", {"cells": cells, "style": "pandoc"})
    assert refs["text"] == pw.references({"cells": cells}, lib, "pandoc")
    assert refs["text"].startswith("## References") and "GradientSurgeryMultitask" in refs["text"]
    assert server.call("POST", "references", {"cells": "nope"})[0] == 400


def _bib_keys(text: str) -> list[str]:
    return re.findall(r"^@\w+\{([^,\s]+),", text, flags=re.MULTILINE)


def test_the_references_route_writes_references_bib_beside_the_notebook(server: Server, tmp_path: Path) -> None:
    folder = server.root / "chapters" / "one"
    folder.mkdir(parents=True)
    (folder / "references.bib").write_text("@misc{Stale, title={Left from before}}\n")
    cells = [
        *_cells("As [@GradientSurgeryMultitask] shows", "{cite}`AgentWorkflowMemory` and [@NotInTheLibrary]"),
        {"cell_type": "code", "source": "x = '[@CodeIsIgnored]'", "metadata": {}},
        {"cell_type": "markdown", "source": "[@Stale]", "metadata": {"paper_widgets": {"role": "references"}}},
    ]
    # A CSL style chosen in JupyterLab's settings formats the list, as it does on the kernel path.
    assert server.call("PUT", "config", {"csl_style": "ieee"})[0] == 200
    try:
        status, refs = server.call(
            "POST", "references", {"cells": cells, "style": "text", "path": "chapters/one/draft.ipynb"}
        )
        lib = pw.load_default(store=server.home)
    finally:
        server.call("PUT", "config", {"csl_style": "apa"})
    assert status == 200, refs
    assert refs["text"] == pw.references({"cells": cells}, lib, "text", csl="ieee")
    assert refs["text"] != pw.references({"cells": cells}, lib, "text")  # APA would read differently
    assert refs["bib"] == "chapters/one/references.bib"
    written = (folder / "references.bib").read_text()
    assert _bib_keys(written) == ["GradientSurgeryMultitask", "AgentWorkflowMemory"]  # as cited, only known ones
    expected = tmp_path / "expected.bib"
    write_bibliography({"cells": cells}, lib, expected)
    assert written == expected.read_text()  # what the kernel path writes
    assert not (server.root / "references.bib").exists()  # the notebook's folder, not the root

    # Another name, when asked for; at the root too.
    status, refs = server.call("POST", "references", {"cells": cells, "path": "top.ipynb", "bib_name": "top.bib"})
    assert status == 200 and refs["bib"] == "top.bib"
    assert _bib_keys((server.root / "top.bib").read_text()) == ["GradientSurgeryMultitask", "AgentWorkflowMemory"]
    # Without a path nothing is written: the route only formats.
    status, refs = server.call("POST", "references", {"cells": cells})
    assert status == 200 and refs["bib"] is None


def test_the_references_route_never_writes_outside_the_server_root(server: Server) -> None:
    outside = server.root.parent  # the test's own folder, beside the root
    (server.root / "escape").symlink_to(outside, target_is_directory=True)
    cells = _cells("[@GradientSurgeryMultitask]")
    for path, bib_name in [
        ("../draft.ipynb", "references.bib"),
        ("chapters/../../draft.ipynb", "references.bib"),
        (f"{outside}/draft.ipynb", "references.bib"),
        ("/draft.ipynb", "references.bib"),
        ("escape/draft.ipynb", "references.bib"),  # a symlink out of the root
        ("draft.ipynb", "../references.bib"),
        ("draft.ipynb", f"{outside}/references.bib"),
        ("draft.ipynb", "notes.txt"),
        ("no/such/folder/draft.ipynb", "references.bib"),
        ("", "references.bib"),
    ]:
        status, answer = server.call("POST", "references", {"cells": cells, "path": path, "bib_name": bib_name})
        assert status == 400, (path, bib_name, status, answer)
    assert server.call("POST", "references", {"cells": cells, "path": 3})[0] == 400
    assert not list(outside.glob("*.bib"))
    assert not (server.root / "references.bib").exists()


def test_notes_tags_and_status_are_saved_in_the_store_the_kernel_reads(server: Server) -> None:
    key = "AgentWorkflowMemory"
    status, paper = server.call(
        "PUT", f"papers/{key}", {"note": "Compare with *Voyager*.", "tags": ["agents", "to-cite"], "status": "reading"}
    )
    assert status == 200 and paper["note"] == "Compare with *Voyager*."
    kernel_side = pw.load_default(store=server.home)
    assert kernel_side.note(key) == "Compare with *Voyager*."
    assert kernel_side.tags(key) == ["agents", "to-cite"] and kernel_side.status(key) == "reading"
    assert server.call("PUT", f"papers/{key}", {"tags": ["agents"]})[1]["tags"] == ["agents"]
    kernel_side.set_note(key, "Written by the kernel.")
    assert server.call("GET", f"papers/{key}")[1]["note"] == "Written by the kernel."
    assert server.call("PUT", f"papers/{key}", {"status": "skimmed"})[0] == 400
    assert server.call("PUT", f"papers/{key}", {"note": 3})[0] == 400


def test_config_sets_the_default_style_for_the_kernel_too(server: Server, tmp_path: Path) -> None:
    assert server.call("PUT", "config", {"style": "harvard"})[0] == 400
    status, config = server.call("PUT", "config", {"style": "myst"})
    assert status == 200 and config["style"] == "myst"
    myst = pw.load_default(store=server.home).cite("AgentWorkflowMemory", "myst")
    assert (
        myst.startswith("{cite") and server.call("POST", "cite", {"keys": ["AgentWorkflowMemory"]})[1]["text"] == myst
    )
    # A kernel opening the library later cites in the style chosen in JupyterLab's settings.
    probe = "import paper_widgets as pw, sys; print(pw.load_default(store=sys.argv[1]).cite('AgentWorkflowMemory'))"
    out = subprocess.run([sys.executable, "-c", probe, str(server.home)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == myst
    pw.set_default_style("latex", store=server.home)  # a kernel changes it later: the server follows the store
    latex = pw.load_default(store=server.home).cite("AgentWorkflowMemory", "latex")
    assert server.call("POST", "cite", {"keys": ["AgentWorkflowMemory"]})[1]["text"] == latex
    config = server.call("GET", "config")[1]
    assert config["style"] == "latex" and config["statuses"] == ["unread", "reading", "read"]
    assert config["sorts"][0] == "relevance" and "myst" in config["styles"]
    assert server.call("PUT", "config", {"csl_style": "no-such-style"})[0] == 400
    assert server.call("PUT", "config", {"csl_style": "ieee"})[1]["csl_style"] == "ieee"
    kernel_side = pw.load_default(store=server.home)
    assert server.call("POST", "cite", {"keys": ["AgentWorkflowMemory"], "style": "text"})[1][
        "text"
    ] == kernel_side.cite(
        "AgentWorkflowMemory", "text"
    )  # the kernel side cites in the CSL style chosen in JupyterLab too
    extra = tmp_path / "extra.txt"
    extra.write_text("Pangolin Scale Armour Mechanics\nPangolin scales resist bites.\n")
    assert server.call("PUT", "config", {"library_paths": [str(extra)]})[1]["library_paths"] == [str(extra)]
    assert server.call("GET", "search?q=pangolin")[1]["results"][0]["title"] == "Pangolin Scale Armour Mechanics"
    assert "Pangolin Scale Armour Mechanics" not in set(
        pw.load_default(store=server.home).df["title"]
    )  # not remembered
    server.call("PUT", "config", {"style": "pandoc", "library_paths": []})


def test_an_uploaded_file_joins_the_library_with_its_warnings(server: Server) -> None:
    bib = (
        "@article{kept,\n  title = {Zebrafish Fin Regeneration Atlas},\n  author = {Doe, Jane},\n  year = {2024},\n"
        "  abstract = {A single-cell atlas of fin regrowth.}\n}\n\n@article{broken,\n  title = {No closing brace\n"
    )
    status, added = server.call("POST", "files", {"name": "../../evil name.bib", "content": bib})
    assert status == 200, added
    assert added["added"] == 1
    assert Path(added["file"]).parent == server.home / "library-files"  # the name cannot leave the folder
    assert any("line" in w for w in added["warnings"]), added["warnings"]
    found = server.call("GET", "search?q=zebrafsh%20fin")[1]["results"]
    assert found[0]["title"] == "Zebrafish Fin Regeneration Atlas"
    again = server.call("POST", "files", {"name": "evil name.bib", "content": "@misc{x, title={T}}"})[1]
    assert again["file"] != added["file"] and Path(added["file"]).read_text() == bib  # nothing overwritten
    # It is now the user's library: what load_default() opens in a kernel.
    assert "Zebrafish Fin Regeneration Atlas" in set(pw.load_default(store=server.home).df["title"])


def test_the_server_reloads_when_the_user_s_library_changes(server: Server, tmp_path: Path) -> None:
    dump = tmp_path / "today.txt"
    dump.write_text("Quokka Locomotion Priors for Legged Robots\nWe learn gaits from quokka videos.\n")
    assert not server.call("GET", "search?q=quokka")[1]["results"]
    # What a notebook or the CLI does: another process replaces the user's library (hence the last test).
    pw.load(dump, store=server.home, remember=True)
    assert server.call("GET", "search?q=quokka")[1]["results"][0]["title"].startswith("Quokka")
    time.sleep(0.01)
    dump.write_text("Quokka Locomotion Priors for Legged Robots, revised\nWe learn gaits from quokka videos.\n")
    assert server.call("GET", "search?q=quokka")[1]["results"][0]["title"].endswith("revised")


def test_a_long_load_shows_its_progress_and_requests_answer_loading_meanwhile(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Slow honestly: 200 files of 40 papers take seconds to read and index on this machine.
    base = tmp_path_factory.mktemp("big")
    dumps, home = base / "dumps", base / "home"
    papers = write_days(dumps, 200, 40)
    remember_paths([dumps], store=home)
    with _serve(base) as server:  # the server starts loading as it starts
        status, answer, headers = server.exchange("GET", "search?q=adaptive%20gradient")
        assert status == 503, (status, answer)
        loading = json.loads(answer)
        assert loading["state"] == "loading" and loading["papers"] is None, loading
        assert headers["Retry-After"] == "1"
        assert server.exchange("PUT", "papers/Anything", {"note": "too early"})[0] == 503  # nothing to write to yet

        seen = []
        while (now := server.exchange("GET", "status")[1])["state"] == "loading":
            seen.append(now)
            time.sleep(0.02)
        ready = {"state": "ready", "phase": "", "done": 0, "total": 0, "papers": papers, "error": None}
        assert now == {**ready, "indexing": None}, "a library this small is indexed whole before it is ready"
        reading = [s for s in seen if s["phase"] == "Reading papers"]
        size = sum(path.stat().st_size for path in dumps.iterdir())
        assert reading and all(s["total"] == size for s in reading), "bytes of every file"
        done = [s["done"] for s in reading]
        assert done == sorted(done), done  # reading 4 MB takes ~50 ms: a step between files is rarely seen here
        indexing = [s for s in seen if s["phase"] == "Indexing papers"]
        assert indexing and all(s["total"] == 2 * papers for s in indexing), "titles and abstracts of every paper"
        indexed = [s["done"] for s in indexing]  # the titles indexed, the abstracts being indexed: a step seen
        assert indexed == sorted(indexed) and any(0 < d < 2 * papers for d in indexed), indexed
        assert {s["phase"] for s in seen} <= {"", "Reading papers", "Indexing papers"}

        query = "adaptive gradient"
        status, found = server.call("GET", "search?" + urllib.parse.urlencode({"q": query, "limit": 5}), wait=False)
        assert status == 200 and found["indexing"] is None
        lib = pw.load_default(store=home)
        assert [r["key"] for r in found["results"]] == list(lib.search(query, limit=5)["key"])
        key = found["results"][0]["key"]

        # Every file changes (one more paper each): a reload as long as the first load.
        time.sleep(0.01)
        write_days(dumps, 200, 41)
        status, answer, _ = server.exchange("GET", "search?q=adaptive")
        assert status == 503 and json.loads(answer)["papers"] == papers, answer  # the library served so far
        # A note written meanwhile is saved at once, through the library served so far.
        status, paper, _ = server.exchange("PUT", f"papers/{key}", {"note": "Written during a reload."})
        assert status == 200 and paper["note"] == "Written during a reload.", paper
        assert server.exchange("GET", "status")[1]["state"] == "loading"
        assert server.wait_loaded()["papers"] == 200 * 41
        status, found = server.call("GET", "search?q=study%20199-40", wait=False)
        assert status == 200 and found["results"][0]["title"].startswith("Study 199-40 of")
        assert server.call("GET", f"papers/{key}", wait=False)[1]["note"] == "Written during a reload."


def test_a_failed_load_says_why_and_the_next_request_tries_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Running out of memory at a million papers cannot be staged here: the load is made to raise it.
    def out_of_memory(**_: Any) -> pw.Library:
        raise MemoryError("cannot allocate 3 GB")

    service = LibraryService(store=tmp_path / "home")
    with monkeypatch.context() as patched:
        patched.setattr("paper_widgets.server.service.load_default", out_of_memory)
        service.start_loading()
        while (status := service.status()).state == "loading":
            time.sleep(0.02)
    assert (status.state, status.error, status.papers) == ("failed", "MemoryError: cannot allocate 3 GB", None)
    assert service.status().as_json()["error"] == "MemoryError: cannot allocate 3 GB"  # what the route answers
    while True:  # the next call loads again, now successfully
        with contextlib.suppress(LibraryNotReady):
            library = service.library()
            break
        time.sleep(0.05)
    assert service.status() == LoadStatus("ready", papers=len(library))
    assert "GradientSurgeryMultitask" in library


def test_configured_library_paths_load_with_progress_and_searches_leave_the_status_alone(tmp_path: Path) -> None:
    papers = write_days(tmp_path / "dumps", 100, 40)
    service = LibraryService(store=tmp_path / "home")
    service.configure(library_paths=[str(tmp_path / "dumps")])  # JupyterLab's setting, not the user's library
    service.start_loading()
    seen = []
    while (status := service.status()).state == "loading":
        seen.append(status)
        time.sleep(0.005)
    library = service.library()
    assert status == LoadStatus("ready", papers=len(library)) and len(library) > papers  # the samples and the days
    size = sum(path.stat().st_size for path in (tmp_path / "dumps").iterdir())
    assert any(s.phase == "Reading papers" and s.total == size for s in seen), "the configured files' bytes"
    assert any(s.phase == "Indexing papers" and s.total == 2 * len(library) for s in seen), "the merged library"
    assert service.search("adaptive gradient")["results"]
    assert service.status() == status, "work after the load is not shown as a load"


def test_a_large_library_is_ready_once_its_titles_are_indexed_and_searches_say_abstracts_are_coming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import paper_widgets.library as library_module
    from paper_widgets.search.index import IndexBuild

    monkeypatch.setattr(library_module, "INDEX_CACHE_MIN_PAPERS", 1)  # the samples count as a large library
    monkeypatch.setattr(library_module, "TITLES_FIRST_MIN_PAPERS", 1)
    release = threading.Event()
    number = IndexBuild.number

    def held(build: IndexBuild, name: str, tokenised: Any) -> None:
        if name == "abstract":  # the abstracts are being indexed (none numbered yet) until the test lets them
            assert release.wait(60)
        number(build, name, tokenised)

    monkeypatch.setattr(IndexBuild, "number", held)
    service = LibraryService(store=tmp_path / "home")
    service.start_loading()
    while service.status().state == "loading":
        time.sleep(0.01)
    early = service.search("AdaMerging adaptive")
    papers = len(service.library())
    assert early["results"][0]["title"].startswith("AdaMerging")
    # Numbers, not English: the sidebar words them through JupyterLab's translator.
    assert early["indexing"] == {"done": 0, "total": papers}, "the abstracts are held back: none indexed yet"
    status = service.status()
    assert status.state == "ready" and status.as_json()["indexing"] == {"done": 0, "total": papers}
    assert service.library().indexing == f"indexing abstracts: 0 of {papers:,} papers; titles alone rank until then"
    release.set()
    while service.status().indexing is not None:  # read live from the library: no search needed
        time.sleep(0.01)
    assert service.status() == LoadStatus("ready", papers=papers)
    assert service.search("AdaMerging adaptive")["indexing"] is None, "the abstracts rank this search"
    assert service.library().search("AdaMerging adaptive").attrs == {}, "complete: nothing to say"
