"""The kernel session: what the palette command cites from, kept per kernel, never in a module global."""

from __future__ import annotations

import pandas as pd
from fakes import FakeShell, Harness

import paper_widgets
from paper_widgets.kernel.protocol import UPDATE_REFERENCES_CODE
from paper_widgets.kernel.session import REFERENCES_STYLE, Session, kernel_session
from paper_widgets.widget.browser import PaperBrowser


def test_each_kernel_has_its_own_session_and_plain_python_shares_none() -> None:
    one, two = FakeShell(), FakeShell()
    assert kernel_session(one) is kernel_session(one)
    assert kernel_session(one) is not kernel_session(two)
    assert kernel_session() is not kernel_session(), "no kernel: nothing to remember across calls"


def test_an_empty_session_uses_the_users_library_in_the_text_style() -> None:
    session = Session()
    assert len(session.current_library()) == 145  # nothing remembered: the samples
    assert session.current_style() == REFERENCES_STYLE == "text"


def test_a_shown_browser_registers_itself_and_a_merely_built_one_does_not(
    lib: paper_widgets.Library, harness: Harness
) -> None:
    session = kernel_session()
    assert session is kernel_session(harness.shell)
    browser = PaperBrowser(lib, style="myst")
    assert session.library is None, "constructing a browser changes nothing"
    browser._repr_mimebundle_()
    assert session.current_library() is lib and session.current_style() == "myst"
    browser.style = "latex"
    assert session.current_style() == "latex", "the style is read when the command runs"


def test_the_palette_commands_declared_code_updates_references_from_the_session(harness: Harness) -> None:
    lib = paper_widgets.Library.from_frame(pd.DataFrame({"title": ["Only Paper Here"], "abstract": ["x."]}))
    key = lib.df["key"].iloc[0]
    kernel_session().register(lib, lambda: "pandoc")
    exec(UPDATE_REFERENCES_CODE, {})  # what JupyterLab runs silently in the kernel
    (read,) = harness.comms
    assert read.request["action"] == "read"
    read.reply(ok=True, message="", cells=[{"cell_type": "markdown", "source": f"[@{key}]", "metadata": {}}])
    upsert = harness.comms[1].request
    assert (upsert["action"], upsert["role"]) == ("upsert", "references")
    assert upsert["text"].startswith("## References\n") and f"- [@{key}]: Only Paper Here." in upsert["text"]
