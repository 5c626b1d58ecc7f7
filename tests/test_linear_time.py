"""No step outside search/ is worse than linear on hostile text (issue 12 #8): sentence splitting
and the cited-key scan on inputs sized to show the curve.  Generous bounds: 10x the input may take
at most ~20x the time (quadratic code takes ~100x), plus an absolute ceiling."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from paper_widgets.output.bibliography import cited_keys
from paper_widgets.output.cite import split_sentences

SMALL, LARGE = 5_000, 50_000


def _seconds(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):  # best of three: the machine is shared
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def _assert_linear(make: Callable[[int], Callable[[], object]]) -> None:
    small, large = _seconds(make(SMALL)), _seconds(make(LARGE))
    assert large < 5, f"{LARGE} units took {large:.1f} s"
    assert large < 20 * max(small, 5e-3), f"10x the input took {large / small:.0f}x the time"


@pytest.mark.parametrize(
    "unit",
    [
        "This is e.g. a test. ",  # abbreviations: each boundary looked at the whole text before
        "Dr. Smith agreed. ",
        "no capital after this. ",
        "!" * 5,  # runs of punctuation without whitespace
    ],
)
def test_split_sentences_is_linear(unit: str) -> None:
    _assert_linear(lambda n: lambda: split_sentences(unit * n))


def test_split_sentences_still_splits() -> None:
    assert split_sentences("This is e.g. a test. " * 3) == ["This is e.g. a test."] * 3


@pytest.mark.parametrize("unit", ["<a ", "<!-- ", "\\cite[", "\\cite{", "<span data-cite=", "x <!-- y --> "])
def test_cited_key_scan_is_linear_on_unclosed_openers(unit: str) -> None:
    def notebook(n: int) -> Callable[[], object]:
        cells = [{"cell_type": "markdown", "metadata": {}, "source": unit * n + " [@key2025]"}]
        return lambda: cited_keys({"cells": cells})

    _assert_linear(notebook)
    assert cited_keys({"cells": [{"cell_type": "markdown", "metadata": {}, "source": unit * 10 + " [@k]"}]}) == ["k"]
