"""Wrong-typed search arguments and foreign bridge replies fail clearly, never deep inside (issue 12 #14)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from fakes import Harness

import paper_widgets
from paper_widgets.kernel import bridge as _bridge
from paper_widgets.kernel.protocol import PROTOCOL_VERSION


@pytest.fixture
def lib() -> paper_widgets.Library:
    return paper_widgets.load_sample()


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"query": None}, TypeError, "query must be a string"),
        ({"query": 5}, TypeError, "query must be a string"),
        ({"limit": math.nan}, TypeError, "limit must be a whole number, not nan"),
        ({"limit": 2.5}, TypeError, "limit must be a whole number"),
        ({"limit": "5"}, TypeError, "limit must be a whole number"),
        ({"limit": True}, TypeError, "limit must be a whole number"),
        ({"limit": -1}, ValueError, "limit must be >= 0"),
        ({"min_upvotes": "5"}, TypeError, "min_upvotes must be a whole number, not '5'"),
        ({"min_upvotes": math.inf}, TypeError, "min_upvotes must be a whole number"),
        ({"tags": 5}, TypeError, "tags must be a string or a list of strings, not 5"),
        ({"tags": [1, 2]}, TypeError, "tags must be a string or a list of strings"),
        ({"status": b"read"}, TypeError, "status must be a string or a list of strings"),
        ({"year": "2020"}, TypeError, "year must be a whole number"),
        ({"year": (2020, 2021, 2022)}, ValueError, "year must be a year or a \\(first, last\\) pair"),
        ({"year": (2020.5, None)}, TypeError, "year must be a whole number"),
        ({"sort": 3}, TypeError, "sort must be a string"),
    ],
)
def test_wrong_typed_search_arguments_raise_clear_errors(
    lib: paper_widgets.Library, arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    call = {"query": "multitask", **arguments}
    with pytest.raises(error, match=message):
        lib.search(**call)


def test_well_typed_variants_still_search(lib: paper_widgets.Library) -> None:
    baseline = lib.search("multitask", limit=3)
    assert len(baseline) == 3
    assert lib.search("multitask", limit=np.int64(3))["key"].tolist() == baseline["key"].tolist()
    assert len(lib.search("multitask", limit=None, tags=("none-such",))) == 0
    assert len(lib.search("multitask", year=(np.int32(2000), None))) > 0
    assert len(lib.search("multitask", min_upvotes=np.int64(10**6))) == 0
    assert len(lib.search("multitask", tags=iter(["x"]))) == 0  # any iterable of strings


# -- the bridge ----------------------------------------------------------------------------------------


def _send(comm: Any, message: object) -> None:
    for handler in comm.msg_handlers:
        handler(message)


@pytest.mark.parametrize(
    "message",
    [
        None,
        {},
        {"content": None},
        {"content": {"data": None}},
        {"content": {"data": "ok"}},
        {"content": {"data": {"ok": True, "request_id": "someone-else", "version": PROTOCOL_VERSION}}},
        {"content": {"data": {"ok": True, "version": PROTOCOL_VERSION + 1}}},  # request_id filled in below
    ],
)
def test_foreign_or_malformed_replies_are_ignored(harness: Harness, message: Any) -> None:
    delivery = _bridge.insert("text")
    comm = harness.comms[0]
    if isinstance(message, dict) and isinstance(message.get("content"), dict):
        data = message["content"].get("data")
        if isinstance(data, dict) and "request_id" not in data:
            data["request_id"] = comm.request["request_id"]
    _send(comm, message)
    assert delivery.status == "pending" and harness.bridge.receiver is None
    comm.reply(ok=True, message="Inserted.")  # the real answer still counts
    assert delivery.status == "ok" and harness.bridge.receiver is True


def test_a_reply_whose_ok_is_not_true_is_a_failure(harness: Harness) -> None:
    delivery = _bridge.insert("text")
    harness.comms[0].reply(ok="yes", message=None)
    assert (delivery.status, delivery.message) == ("failed", "None")
