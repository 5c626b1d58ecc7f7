"""Parsing stage for Hugging Face "Daily Papers" page dumps (text copied out of the web page).

Three layouts exist, told apart by content:

* **cards** (2025): title, abstract, ``• N authors``, ``·``, ``Jun 11, 2025 2`` (date, then the
  optional number of comments: it links to the paper's discussion, it is not the upvote count);
* **today's cards** (2026): the same, but each card starts with its upvote count on a line of its
  own (``101``, or ``-`` for none) and may be signed by an organisation (``Microsoft``) instead of
  ``N authors``: the line right above the ``·``;
* **pairs**: a title line then an abstract line, repeated.

All carry page chrome ("Get trending papers…", "Subscribe", "Daily Papers", "Daily / Weekly /
Monthly", "Trending Papers", a lone date under the header), which is dropped.  Lines are normalised (CRLF, non-breaking spaces, surrounding blanks)
but the text is otherwise kept literal.

Titles and abstracts in the pair layout are not told apart by length: each line gets a score for
looking like abstract prose (sentence breaks, a final period, many lower-case words) and a
two-state Viterbi decoder picks the most likely title/abstract labelling, which strongly favours
strict alternation and, where the dump has them, blank lines between papers.  So a title with a
lost abstract, an abstract split in paragraphs or a one-sentence abstract still come out right.
A long page of pairs is decoded in windows of a few thousand lines (each window's last paper is
carried into the next), so memory stays flat however long the dump; papers decoded that way stay
pairs even if cards follow them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import chain, compress, count, islice
from operator import itemgetter, ne, not_

from paper_widgets.data.records import DumpError, LoadWarning, PaperRecord
from paper_widgets.data.text import month_number

__all__ = ["parse_dump"]

# Every line a dump can hold besides titles and abstracts, told apart by one ``fullmatch``: page
# chrome; "• 3 authors"; the "·" between a card's authors and its date; today's upvote count on its
# own line ("-" means none yet); and a date, optionally followed by the number of comments.  The
# kinds never match the same line, so their order only decides speed: the most frequent come first,
# each but the first two behind a look-ahead at the first character, and only the letters are
# case-insensitive (a pattern-wide IGNORECASE makes every alternative a slow case-folding try).
_SPECIAL = re.compile(
    r"(?P<separator>·)"
    r"|(?P<upvotes>\d{1,7}|-)"
    r"|(?=(?i:[adfjmnos]))(?P<date>(?P<month>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(?i:[a-z]*)"
    r"\.?\s+(?P<day>\d{1,2})(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<comments>\d+))?)"
    r"|(?=[•·*\-\s\d])(?P<authors>[•·*\-]?\s*(?P<count>\d+)\s+(?i:authors?))"
    r"|(?=(?i:[bdgmnstw]))(?P<chrome>(?i:get trending papers in your email inbox.*|subscribe|daily papers"
    r"|by\s*ak and the research community|new|daily|weekly|monthly|trending papers))"
)
# "SubscribeMMInA: ..." — the button text glued to the first title when copying the page.
_GLUED_SUBSCRIBE = re.compile(r"Subscribe(?=[^a-z\s])")
# A sentence break inside a line: ". Next", "? (Next", ".) Next".
_SENTENCE_BREAK = re.compile(r"[.!?][\"')\]]?\s+[A-Z(\"]")
_PERIOD_BREAK = re.compile(r"\.[\"')\]]?\s+[A-Z(\"]")  # starts with a literal: re scans for it at C speed
_ASCII = bytes(range(128))
_NOT_CAPITAL_OR_DIGIT = bytes(b for b in _ASCII if not (chr(b).isupper() or chr(b).isdigit()))
_NOT_LOWER = bytes(b for b in _ASCII if not chr(b).islower())

# Lines read and normalised at a time: bounded memory, and C-level loops over each batch.
_BATCH_LINES = 2048
# Lines of the pair layout decoded at a time, so that memory does not grow with the file.
_PAIR_WINDOW = 4096
# Distinct days whose dates are remembered while parsing (a page names a few; the bound keeps memory flat).
_DAYS_KEPT = 1024
_TITLE, _ABSTRACT = 0, 1
# Log-scores of the pair decoder: leaving the title/abstract alternation costs this much.
_BREAK_ALTERNATION = -6.0
_END_ON_TITLE = -2.0  # a last title whose abstract is missing


def _initials(text: str) -> tuple[int, int]:
    """How many words of ``text`` start with a capital or a digit, and how many with a lower-case letter."""
    initials = "".join(map(itemgetter(0), text.split()))
    if initials.isascii():  # count by deleting the other bytes: C speed, the same as the str predicates
        raw = initials.encode("ascii")
        return len(raw.translate(None, _NOT_CAPITAL_OR_DIGIT)), len(raw.translate(None, _NOT_LOWER))
    return sum(map(str.isupper, initials)) + sum(map(str.isdigit, initials)), sum(map(str.islower, initials))


def _abstractness(text: str) -> float:
    """How much ``text`` looks like abstract prose (> 0) rather than a title (< 0)."""
    n_words = text.count(" ") + 1
    # "Hogwild! Inference: ..." is a title: "!"/"?" breaks only count in longer lines.
    # The score counts at most two sentence breaks, so the start of a long line is enough.
    if n_words > 12:  # only none, one or "two or more" matter: stop at the second
        # Without "!" or "?" in reach, the breaks are those at a period, which re finds far faster.
        mixed = text.find("!", 0, 400) >= 0 or text.find("?", 0, 400) >= 0
        pattern = _SENTENCE_BREAK if mixed else _PERIOD_BREAK
        first = pattern.search(text, 0, 400)
        sentences = 0 if first is None else 1 if pattern.search(text, first.end(), 400) is None else 2
    else:  # the tails of "!"/"?" breaks hold no period, so these are the period breaks of _SENTENCE_BREAK
        sentences = len(_PERIOD_BREAK.findall(text, 0, 400))
    score = 3.0 * min(sentences, 2)
    if text.endswith(".") and not text.endswith(".."):
        score += 2.0
    if n_words > 35:
        score += 2.0
    if n_words > 70:
        score += 2.0
    if n_words <= 25:
        if not sentences:
            score -= 2.0
        capitalised, lower = _initials(text)
        if capitalised * 2 >= n_words:  # Title Case
            score -= 2.0
        elif n_words >= 4 and lower >= 0.6 * n_words:  # sentence-like
            score += 2.0
    return score


# The characters _plain_spaces changes: found by one C-level search before it is called on a line.
_ODD_SPACE = re.compile("[\xa0\u202f\u2009\ufeff\t]")


def _plain_spaces(line: str) -> str:
    """``line`` with no-break, narrow and thin spaces and tabs made spaces and byte order marks dropped.

    Chained ``replace`` (each returns the line itself when the character is absent) instead of
    ``str.translate``, which takes ~50 µs on a 1 kB line holding any non-ASCII character."""
    return (
        line.replace("\xa0", " ").replace("\u202f", " ").replace("\u2009", " ").replace("\ufeff", "").replace("\t", " ")
    )


# A content line: its number, its text, and whether a blank line (or page chrome) came before it.
_Line = tuple[int, str, bool]


def _content_lines(
    lines: Iterable[str], source: str
) -> Iterator[Iterator[tuple[int, str, re.Match[str] | None, bool]]]:
    """``(line number, text, _SPECIAL's match, blank line before)`` of the non-blank lines, with odd
    spaces made plain and the ends stripped, in batches: stripping, skipping blank lines, matching
    and comparing line numbers run in C-level ``map``/``compress``, and the caller chains C-level
    iterators instead of resuming a generator per line.  Lines that cannot be decoded are a DumpError."""
    numbered = 1
    last = 0  # the number of the last non-blank line
    it = iter(lines)
    while True:
        try:
            batch = list(islice(it, _BATCH_LINES))
        except UnicodeDecodeError as exc:
            raise DumpError(f"not UTF-8 text: {exc.reason}", source) from exc
        if not batch:
            return
        unusual = list(compress(count(), map(not_, map(str.isascii, batch))))  # the few non-ASCII lines
        if _ODD_SPACE.search("".join(map(batch.__getitem__, unusual))):  # one search, then the lines
            for at in compress(unusual, map(_ODD_SPACE.search, map(batch.__getitem__, unusual))):
                batch[at] = _plain_spaces(batch[at])
        texts = list(map(str.strip, batch))
        numbers = list(compress(count(numbered), texts))
        content = list(compress(texts, texts))
        # A blank line came before a line when it does not follow the last non-blank line.
        after_blank = map(ne, numbers, map((1).__add__, chain((last,), numbers)))
        yield zip(numbers, content, map(_SPECIAL.fullmatch, content), after_blank, strict=True)
        numbered += len(batch)
        last = numbers[-1] if numbers else last


def _pair_labels(lines: list[_Line]) -> list[int]:
    """Most likely title/abstract label per line (Viterbi over two states)."""
    n = len(lines)
    gaps = sum(1 for _, _, gap in lines[1:] if gap)
    blocky = n > 2 and 0.2 * (n - 1) <= gaps <= 0.8 * (n - 1)
    back: list[tuple[int, int]] = []
    first = _abstractness(lines[0][1]) / 2.0 if lines else 0.0
    t, a = -first, -3.0 + first  # log-scores of "line i is a title / an abstract"; starting on an abstract is unlikely
    for _, text, gap in lines[1:]:
        half = _abstractness(text) / 2.0
        # Blank lines carry information only when some line pairs have them and others don't.
        bonus = (3.0 if gap else -3.0) if blocky else 0.0
        t_from_t, t_from_a = t + _BREAK_ALTERNATION + bonus, a + bonus  # → title
        a_from_t, a_from_a = t, a + _BREAK_ALTERNATION  # → abstract
        back.append((_TITLE if t_from_t >= t_from_a else _ABSTRACT, _TITLE if a_from_t >= a_from_a else _ABSTRACT))
        t = max(t_from_t, t_from_a) - half
        a = max(a_from_t, a_from_a) + half
    score = [t, a]
    score[_TITLE] += _END_ON_TITLE
    state = _TITLE if score[_TITLE] >= score[_ABSTRACT] else _ABSTRACT
    labels = [state]
    for ptr in reversed(back):
        state = ptr[state]
        labels.append(state)
    labels.reverse()
    return labels


class _DumpParser:
    def __init__(self, source: str, warnings: list[LoadWarning], today: date):
        self.source = source
        self.warnings = warnings
        self.today = today
        # The dates of the days named so far: a page names a few days on every card.
        self.days: dict[tuple[str, str, str | None], date] = {}

    def card_date(self, match: re.Match[str]) -> tuple[date | None, int | None]:
        """The date of a card's date line and the comment count after it."""
        month_name, day, year, comments = match.group("month", "day", "year", "comments")
        count = int(comments) if comments else None
        known = self.days.get(named := (month_name, day, year))
        if known is not None:
            return known, count
        try:  # the pattern only matches month names
            when = date(int(year) if year else self.today.year, month_number(month_name) or 1, int(day))
        except ValueError:
            return None, count
        if len(self.days) >= _DAYS_KEPT:
            self.days.clear()
        self.days[named] = when
        return when, count

    def warn(self, line: int | None, message: str) -> None:
        self.warnings.append(LoadWarning(self.source, line, message))

    def pairs(self, lines: list[_Line], labels: list[int] | None = None) -> Iterator[PaperRecord]:
        """The papers in ``lines``, labelled by the pair decoder unless ``labels`` are given."""
        current: list[_Line] = []
        for ln, label in zip(lines, _pair_labels(lines) if labels is None else labels, strict=True):
            if label == _TITLE:
                if current:
                    yield self.pair_record(current)
                current = [ln]
            elif current:
                current.append(ln)
            else:
                self.warn(ln[0], f"abstract without a title skipped: {ln[1][:60]!r}")
        if current:
            yield self.pair_record(current)

    def settled_pairs(self, pending: list[_Line]) -> list[PaperRecord]:
        """The papers of a long run of pair-layout lines up to its last title, whose lines leave
        ``pending``: the paper of that title may go on in the lines still to come."""
        labels = _pair_labels(pending)
        cut = len(labels) - 1 - labels[::-1].index(_TITLE) if _TITLE in labels else 0
        records = list(self.pairs(pending[:cut], labels[:cut]))
        del pending[:cut]
        return records

    def pair_record(self, block: list[_Line]) -> PaperRecord:
        number, title, _ = block[0]
        if len(block) == 1:
            self.warn(number, f"title without an abstract: {title[:60]!r}")
        return PaperRecord(
            title=title,
            abstract=block[1][1] if len(block) == 2 else "\n\n".join([text for _, text, _ in block[1:]]),
            source=self.source,
            line=number,
            kind="pair",
        )

    def usual_card(self, block: list[_Line], upvotes: dict[int, int]) -> PaperRecord:
        """The card of a title and an abstract line: nothing to decide (positional arguments: the fastest call)."""
        (number, title, _), (_, abstract, _) = block
        record = PaperRecord(title, abstract, self.source, number, "card")
        record.upvotes = upvotes.pop(number, None)
        return record

    def cards(self, block: list[_Line], upvotes: dict[int, int]) -> list[PaperRecord]:
        """The card(s) in the lines above an authors line (or after the last card, if cut off), each
        with the upvote count ``upvotes`` holds for its title's line (which leaves ``upvotes``).

        Normally that is a title and an abstract; more lines mean an abstract in paragraphs or an
        earlier card that lost its authors/date lines, which the pair decoder sorts out.
        """
        if len(block) == 2:
            return [self.usual_card(block, upvotes)]
        number, title, _ = block[0]
        if len(block) == 1:
            if _abstractness(title) > 0:
                self.warn(number, f"card without a title skipped: {title[:60]!r}")
                return []
            self.warn(number, f"card without an abstract: {title[:60]!r}")
            return [
                PaperRecord(
                    title=title,
                    abstract="",
                    source=self.source,
                    line=number,
                    kind="card",
                    upvotes=upvotes.pop(number, None),
                )
            ]
        records = list(self.pairs(block))
        for record in records[:-1]:
            self.warn(record.line, f"card {record.title[:60]!r} has no authors/date lines")
        for record in records:
            record.kind = "card"
            record.upvotes = upvotes.pop(record.line, None)
        return records

    def parse(self, lines: Iterable[str]) -> Iterator[PaperRecord]:
        pending: list[_Line] = []  # content lines not yet assigned to a card
        upvotes: dict[int, int] = {}  # line number of a title → the count on the line above it
        card: PaperRecord | None = None  # card whose meta lines (authors, ·, date) are being read
        expect_date = dated = False
        seen_cards = count_ahead = False
        header = True  # right after the start or chrome: a lone date or glued "Subscribe" is chrome too
        chrome_gap = False  # chrome, or a blank line before a header date, came before this line: a gap
        upvote_count = 0
        window = _PAIR_WINDOW  # pending lines that make a page of pairs be decoded so far
        for number, text, special, gap in chain.from_iterable(_content_lines(lines, self.source)):
            kind = special.lastgroup if special else None
            if kind == "chrome":
                header = chrome_gap = True
                continue
            if header:  # (every chrome_gap is set and spent while in the header)
                if kind == "date":
                    chrome_gap = chrome_gap or gap
                    continue
                glued = _GLUED_SUBSCRIBE.match(text)
                if glued:
                    text = text[glued.end() :]
                    special = _SPECIAL.fullmatch(text)
                    if special and special.lastgroup == "chrome":
                        special = None
                    kind = special.lastgroup if special else None
                header = False
                gap = gap or chrome_gap
                chrome_gap = False
            if special is not None:  # a card's meta line (most lines are titles and abstracts)
                signed = None  # an organisation signing the card instead of "N authors"
                if kind == "separator" and not expect_date and card is None and len(pending) > 1:
                    signed = pending.pop()[1]
                if kind == "authors" or signed is not None:
                    if card is not None:
                        yield card
                        card = None
                    if len(pending) == 2:  # the usual card: the most frequent step of a page
                        card = self.usual_card(pending, upvotes)
                        pending = []
                    elif pending:
                        made = self.cards(pending, upvotes)
                        card = made.pop() if made else None
                        yield from made
                        pending = []
                    else:
                        self.warn(number, "authors line without a title or abstract above it skipped")
                    if card is not None:
                        card.n_authors = int(special["count"]) if kind == "authors" else None
                        card.organization = signed
                    seen_cards = expect_date = True
                    dated = False
                    continue
                if kind == "separator":
                    continue
                if kind == "date" and expect_date:
                    expect_date = False
                    dated = True
                    if card is not None:
                        card.published, card.comments = self.card_date(special)
                        if card.published is None:
                            self.warn(number, f"invalid date {text!r} ignored")
                    continue
            expect_date = False
            if card is not None:
                if not dated:
                    self.warn(card.line, f"card {card.title[:60]!r} has no date line")
                yield card
                card = None
            if kind == "upvotes":
                count_ahead = True
                upvote_count = 0 if text == "-" else int(text)
                continue
            if count_ahead:
                upvotes[number] = upvote_count
                count_ahead = False
            pending.append((number, text, gap))
            if not seen_cards and len(pending) >= window:  # a page of pairs: decode it so far
                yield from self.settled_pairs(pending)
                window = max(_PAIR_WINDOW, 2 * len(pending))  # undecidable lines wait, but not forever
        if card is not None:
            if not dated:
                self.warn(card.line, f"last card {card.title[:60]!r} is cut off before its date")
            yield card
        if not pending:
            if not seen_cards:
                self.warn(None, "no papers found (empty or only page chrome)")
            return
        if seen_cards:
            self.warn(pending[0][0], "last card is cut off (no authors/date line); kept what is there")
            yield from self.cards(pending, upvotes)
        else:
            yield from self.pairs(pending)


def parse_dump(
    lines: Iterable[str], source: str, warnings: list[LoadWarning], today: date | None = None
) -> Iterator[PaperRecord]:
    """Parse a page dump given as lines; problems are appended to ``warnings``.

    Year-less dates ("Sep 29") get the year of ``today`` (default: the current date).
    Never raises anything but :class:`DumpError`.
    """
    return _DumpParser(source, warnings, today or date.today()).parse(lines)
