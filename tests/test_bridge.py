"""The kernel side of the comm bridge, with a recording fake comm and a fake IPython shell."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fakes import Harness

from paper_widgets.kernel import bridge as _bridge
from paper_widgets.kernel.bridge import NO_RECEIVER
from paper_widgets.kernel.protocol import COMM_TARGET, PROTOCOL_VERSION, make_request

ROOT = Path(__file__).resolve().parent.parent


def test_protocol_constants_come_from_the_json_the_plugin_is_generated_from() -> None:
    spec = json.loads((ROOT / "paper_widgets" / "protocol.json").read_text())
    assert (spec["target"], spec["version"]) == (COMM_TARGET, PROTOCOL_VERSION)
    protocol_ts = (ROOT / "labextension" / "src" / "protocol.ts").read_text()
    assert "from './protocolSpec'" in protocol_ts
    node = shutil.which("node")
    if node is None:
        pytest.skip("no Node.js to check that labextension/src/protocolSpec.ts is generated from protocol.json")
    script = ROOT / "labextension" / "scripts" / "protocol-types.mjs"
    done = subprocess.run([node, str(script), "--check"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_make_request_rejects_what_the_plugin_would_refuse() -> None:
    with pytest.raises(ValueError, match="cell_type"):
        make_request("insert", text="x", cell_type="heading", where="below")
    with pytest.raises(ValueError, match="where"):
        make_request("insert", text="x", cell_type="markdown", where="above")
    with pytest.raises(ValueError, match="action"):
        make_request("delete")
    with pytest.raises(TypeError, match="text must be a str"):
        make_request("insert", text=3, cell_type="markdown", where="below")


def test_insert_sends_one_versioned_request(harness: Harness) -> None:
    delivery = _bridge.insert("> quoted [@key]", where="cursor")
    (comm,) = harness.comms
    assert comm.request == {
        "version": PROTOCOL_VERSION,
        "request_id": comm.request["request_id"],
        "action": "insert",
        "text": "> quoted [@key]",
        "cell_type": "markdown",
        "where": "cursor",
    }
    assert delivery.status == "pending"
    assert len(comm.request["request_id"]) == 32


def test_request_ids_are_unique(harness: Harness) -> None:
    _bridge.insert("a")
    _bridge.insert("b")
    assert harness.comms[0].request["request_id"] != harness.comms[1].request["request_id"]


def test_reply_resolves_the_delivery_and_marks_the_receiver(harness: Harness) -> None:
    seen: list[str] = []
    delivery = _bridge.insert("text", on_done=lambda d: seen.append(d.status))
    harness.comms[0].reply(ok=True, message="Inserted a new cell at position 3 of a.ipynb.", cell_index=2)
    assert delivery.status == "ok"
    assert delivery.reply is not None and delivery.reply["cell_index"] == 2
    assert delivery.message.startswith("Inserted")
    assert seen == ["ok"]
    assert harness.bridge.receiver is True


def test_failed_reply_carries_the_plugins_reason(harness: Harness) -> None:
    delivery = _bridge.insert("text")
    harness.comms[0].reply(ok=False, message="a.ipynb is not loaded yet.")
    assert (delivery.status, delivery.message) == ("failed", "a.ipynb is not loaded yet.")


def test_close_without_reply_means_no_plugin(harness: Harness) -> None:
    delivery = _bridge.insert("text")
    harness.comms[0].close()
    assert delivery.status == "no_receiver"
    assert harness.bridge.receiver is False


def test_timeout_counts_from_the_end_of_the_asking_cell(harness: Harness) -> None:
    delivery = _bridge.insert("text")
    assert harness.timers == [], "no reply can arrive while the cell still runs"
    harness.shell.events.trigger("post_run_cell")
    assert [seconds for seconds, _ in harness.timers] == [2.5]
    assert harness.shell.events.callbacks["post_run_cell"] == []
    harness.fire_timers()
    assert delivery.status == "no_receiver"
    assert delivery.message == NO_RECEIVER
    assert harness.bridge.receiver is False


def test_timeout_from_a_widget_event_starts_at_once(harness: Harness) -> None:
    harness.shell.kernel.parent_msg_type = "comm_msg"
    delivery = _bridge.insert("text")
    assert len(harness.timers) == 1
    harness.fire_timers()
    assert delivery.status == "no_receiver"


def test_reply_before_timeout_wins(harness: Harness) -> None:
    harness.shell.kernel.parent_msg_type = "comm_msg"
    delivery = _bridge.insert("text")
    harness.comms[0].reply(ok=True, message="done")
    harness.fire_timers()
    assert delivery.status == "ok"
    assert harness.bridge.receiver is True


def test_slow_answer_with_known_plugin_does_not_forget_the_plugin(harness: Harness) -> None:
    harness.shell.kernel.parent_msg_type = "comm_msg"
    harness.bridge.receiver = True
    delivery = _bridge.insert("text")
    harness.fire_timers()
    assert delivery.status == "no_receiver"
    assert "did not answer within 2.5 s" in delivery.message
    assert harness.bridge.receiver is True


def test_without_plugin_a_cell_run_falls_back_to_next_input_and_prints(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    harness.bridge.receiver = False
    delivery = _bridge.insert("> a quote")
    assert harness.comms == [], "nothing is sent when nobody listens"
    assert harness.shell.next_inputs == [("%%markdown\n> a quote", False)]
    out = capsys.readouterr().out
    assert "No paper-widgets JupyterLab extension answered" in out
    assert out.rstrip().endswith("> a quote")
    assert delivery.status == "no_receiver"


def test_without_plugin_code_cells_are_not_wrapped_in_markdown_magic(harness: Harness) -> None:
    harness.bridge.receiver = False
    _bridge.insert("print(1)", cell_type="code")
    assert harness.shell.next_inputs == [("print(1)", False)]


def test_without_plugin_a_widget_event_only_reports(harness: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    harness.bridge.receiver = False
    harness.shell.kernel.parent_msg_type = "comm_msg"
    seen: list[str] = []
    delivery = _bridge.insert("text", on_done=lambda d: seen.append(d.message))
    assert harness.shell.next_inputs == []
    assert capsys.readouterr().out == ""
    assert seen == [delivery.message]
    assert "Copy the text instead" in delivery.message


def test_upsert_and_read_requests(harness: Harness) -> None:
    _bridge.upsert_cell("## References", role="references")
    cells: list[Any] = []
    _bridge.read_cells(lambda d: cells.extend(d.reply["cells"] if d.reply else []))
    upsert, read = harness.comms
    assert (upsert.request["action"], upsert.request["role"], upsert.request["cell_type"]) == (
        "upsert",
        "references",
        "markdown",
    )
    assert read.request["action"] == "read"
    read.reply(ok=True, message="Read 1 cells", cells=[{"cell_type": "markdown", "source": "[@k]", "metadata": {}}])
    assert cells == [{"cell_type": "markdown", "source": "[@k]", "metadata": {}}]


def test_default_bridge_says_hello_first_in_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness()
    monkeypatch.setattr(_bridge, "current_shell", lambda: h.shell)  # a kernel's shell with no bridge yet
    monkeypatch.setattr(_bridge, "Bridge", lambda: h.bridge)
    _bridge.insert("x")
    _bridge.insert("y")
    assert [c.request["action"] for c in h.comms] == ["hello", "insert", "insert"], "one bridge per kernel: hello once"


def test_no_kernel_means_no_hello(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_bridge, "current_shell", lambda: None)
    assert _bridge.get_bridge().receiver is None  # plain Python: no shell, nothing sent, nothing raised


def test_an_insert_lost_after_its_cell_ended_is_shown_in_the_next_cell_run(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    delivery = _bridge.insert("> the lost quote")
    harness.shell.events.trigger("post_run_cell")
    harness.comms[0].close()  # JupyterLab without the plugin, answering after the cell (or after Run All)
    assert delivery.status == "no_receiver"
    assert capsys.readouterr().out == "", "nothing can be shown while no cell runs"
    harness.shell.events.trigger("pre_run_cell")
    out = capsys.readouterr().out
    assert "1 earlier insert(s) did not arrive" in out
    assert out.rstrip().endswith("> the lost quote")
    harness.shell.events.trigger("pre_run_cell")
    assert capsys.readouterr().out == "", "reported once"


def test_a_lost_insert_from_a_widget_event_is_left_to_the_widget(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    harness.shell.kernel.parent_msg_type = "comm_msg"
    _bridge.insert("from a button")
    harness.comms[0].close()
    harness.shell.events.trigger("pre_run_cell")
    assert capsys.readouterr().out == ""
