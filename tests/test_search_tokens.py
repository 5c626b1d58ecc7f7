"""Search tokeniser: the vectorised batch gives exactly the per-token words, in first-occurrence order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from paper_widgets.data.text import words
from paper_widgets.search.tokens import compounds, tokenise

# ASCII words, punctuation and every kind of whitespace, accents (composed and combining), ligatures,
# a no-break space, NUL and a lone surrogate: everything the fast path must hand to fold or split on
PIECES = st.sampled_from(
    [
        "Multi",
        "task",
        "X",
        "a",
        "0",
        "19",
        "-",
        "_",
        ".",
        ",",
        "'",
        "’",
        ":",
        "/",
        " ",
        "\t",
        "\n",
        "\x1c",
        "\x00",
        "\xa0",
        "é",
        "É",
        "ß",
        "ﬁ",
        "日本",
        "\u0301",
        "\ud800",
        "abcdefghij",
        "Klmnopqrstuvwxyz0123",
    ]
)
TEXTS = st.lists(st.lists(PIECES, max_size=30).map("".join), max_size=6)


def reference(texts: list[str]) -> list[tuple[str, int]]:
    """(word, text) of every word, token by token, as the index defines them."""
    return [
        (word, row)
        for row, text in enumerate(texts)
        for token in text.replace("\x00", " ").split()
        for word in compounds(words(token))
    ]


@given(TEXTS)
def test_batch_tokenising_equals_folding_each_token(texts: list[str]) -> None:
    tokens = tokenise(texts)
    got = [(tokens.words[w], r) for w, r in zip(tokens.word.tolist(), tokens.row.tolist(), strict=False)]
    expected = reference(texts)
    assert sorted(got) == sorted(expected)
    assert tokens.words == list(dict.fromkeys(word for word, _ in expected))


def test_long_words_and_compounds_are_told_apart_exactly() -> None:
    texts = ["a" * 100 + " " + "a" * 99 + " " + "a" * 100 + "b", "abcdefgh abcdefghi Multi-Task-Learning-x"]
    tokens = tokenise(texts)
    assert tokens.words == [
        "a" * 100,
        "a" * 99,
        "a" * 100 + "b",
        "abcdefgh",
        "abcdefghi",
        "multi",
        "task",
        "learning",
        "x",
        "multitask",
        "multitasklearning",
        "multitasklearningx",
        "tasklearning",
        "tasklearningx",
        "learningx",
    ]
    assert tokens.row.tolist() == [0, 0, 0] + [1] * 12
