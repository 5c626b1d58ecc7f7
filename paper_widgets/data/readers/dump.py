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
from operator import itemgetter, not_

from paper_widgets.data.records import DumpError, LoadWarning, PaperRecord
from paper_widgets.data.text import month_number

__all__ = ["parse_dump"]

# Every line a dump can hold besides titles and abstracts, told apart by one ``fullmatch`` (most
# lines are prose and fail at their first character): page chrome; "• 3 authors"; the "·" between
# a card's authors and its date; today's upvote count on its own line ("-" means none yet); and a
# date, optionally followed by the number of comments.
_SPECIAL = re.compile(
    r"(?P<chrome>get trending papers in your email inbox.*|subscribe|daily papers"
    r"|by\s*ak and the research community|new|daily|weekly|monthly|trending papers)"
    r"|(?P<authors>[•·*\-]?\s*(?P<count>\d+)\s+authors?)"
    r"|(?P<separator>·)"
    r"|(?P<upvotes>\d{1,7}|-)"
    r"|(?P<date>(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<day>\d{1,2})"
    r"(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<comments>\d+))?)",
    re.IGNORECASE,
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


def _parse_date(match: re.Match[str], today: date) -> tuple[date | None, int | None]:
    """The date of a card's date line and the comment count after it."""
    month = month_number(match["month"]) or 1  # the pattern only matches month names
    year = int(match["year"]) if match["year"] else today.year
    comments = int(match["comments"]) if match["comments"] else None
    try:
        return date(year, month, int(match["day"])), comments
    except ValueError:
        return None, comments


def _plain_spaces(line: str) -> str:
    """``line`` with no-break, narrow and thin spaces and tabs made spaces and byte order marks dropped.

    Chained ``replace`` (each returns the line itself when the character is absent) instead of
    ``str.translate``, which takes ~50 µs on a 1 kB line holding any non-ASCII character."""
    return (
        line.replace("\xa0", " ").replace("\u202f", " ").replace("\u2009", " ").replace("\ufeff", "").replace("\t", " ")
    )


def _content_lines(lines: Iterable[str]) -> Iterator[Iterator[tuple[int, str]]]:
    """``(line number, text)`` of the non-blank lines, with odd spaces made plain and the ends
    stripped, in batches: stripping and skipping blank lines run in C-level ``map``/``compress``,
    and the caller chains C-level iterators instead of resuming a generator per line."""
    numbered = 1
    it = iter(lines)
    while batch := list(islice(it, _BATCH_LINES)):
        for at in compress(count(), map(not_, map(str.isascii, batch))):  # the few non-ASCII lines
            batch[at] = _plain_spaces(batch[at])
        texts = list(map(str.strip, batch))
        yield compress(zip(count(numbered), texts), texts)
        numbered += len(batch)


class _Line:
    __slots__ = ("gap", "number", "text")

    def __init__(self, number: int, text: str, gap: bool):
        self.number = number
        self.text = text
        self.gap = gap  # a blank line came before this one


def _pair_labels(lines: list[_Line]) -> list[int]:
    """Most likely title/abstract label per line (Viterbi over two states)."""
    n = len(lines)
    gaps = sum(1 for ln in lines[1:] if ln.gap)
    blocky = n > 2 and 0.2 * (n - 1) <= gaps <= 0.8 * (n - 1)
    back: list[tuple[int, int]] = []
    first = _abstractness(lines[0].text) / 2.0 if lines else 0.0
    t, a = -first, -3.0 + first  # log-scores of "line i is a title / an abstract"; starting on an abstract is unlikely
    for ln in lines[1:]:
        half = _abstractness(ln.text) / 2.0
        # Blank lines carry information only when some line pairs have them and others don't.
        bonus = (3.0 if ln.gap else -3.0) if blocky else 0.0
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
                self.warn(ln.number, f"abstract without a title skipped: {ln.text[:60]!r}")
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
        title = block[0]
        if len(block) == 1:
            self.warn(title.number, f"title without an abstract: {title.text[:60]!r}")
        return PaperRecord(
            title=title.text,
            abstract=block[1].text if len(block) == 2 else "\n\n".join([ln.text for ln in block[1:]]),
            source=self.source,
            line=title.number,
            kind="pair",
        )

    def cards(self, block: list[_Line]) -> list[PaperRecord]:
        """The card(s) in the lines above an authors line (or after the last card, if cut off).

        Normally that is a title and an abstract; more lines mean an abstract in paragraphs or an
        earlier card that lost its authors/date lines, which the pair decoder sorts out.
        """
        first = block[0]
        if len(block) == 2:  # the usual card: nothing to decide
            return [
                PaperRecord(
                    title=first.text, abstract=block[1].text, source=self.source, line=first.number, kind="card"
                )
            ]
        if len(block) == 1:
            if _abstractness(first.text) > 0:
                self.warn(first.number, f"card without a title skipped: {first.text[:60]!r}")
                return []
            self.warn(first.number, f"card without an abstract: {first.text[:60]!r}")
            return [PaperRecord(title=first.text, abstract="", source=self.source, line=first.number, kind="card")]
        records = list(self.pairs(block))
        for record in records[:-1]:
            self.warn(record.line, f"card {record.title[:60]!r} has no authors/date lines")
        for record in records:
            record.kind = "card"
        return records

    def parse(self, lines: Iterable[str]) -> Iterator[PaperRecord]:
        pending: list[_Line] = []  # content lines not yet assigned to a card
        upvotes: dict[int, int] = {}  # line number of a title → the count on the line above it
        card: PaperRecord | None = None  # card whose meta lines (authors, ·, date) are being read
        expect_date = dated = False
        seen_cards = count_ahead = False
        header = True  # right after the start or chrome: a lone date or glued "Subscribe" is chrome too
        gap = False  # a blank line (or chrome) came before this one
        upvote_count = 0
        window = _PAIR_WINDOW  # pending lines that make a page of pairs be decoded so far
        last = 0  # number of the last non-blank line
        for number, text in chain.from_iterable(_content_lines(lines)):
            gap = gap or number != last + 1  # blank lines in between
            last = number
            special = _SPECIAL.fullmatch(text)
            kind = special.lastgroup if special else None
            if kind == "chrome":
                header = gap = True
                continue
            if header:
                if kind == "date":
                    continue
                glued = _GLUED_SUBSCRIBE.match(text)
                if glued:
                    text = text[glued.end() :]
                    special = _SPECIAL.fullmatch(text)
                    kind = special.lastgroup if special and special.lastgroup != "chrome" else None
                header = False
            line_gap, gap = gap, False
            if kind is not None:  # a card's meta line (most lines are titles and abstracts, kind None)
                signed = None  # an organisation signing the card instead of "N authors"
                if kind == "separator" and not expect_date and card is None and len(pending) > 1:
                    signed = pending.pop().text
                if kind == "authors" or signed is not None:
                    if card is not None:
                        yield card
                        card = None
                    if pending:
                        made = self.cards(pending)
                        for record in made:
                            record.upvotes = upvotes.pop(record.line, record.upvotes)
                        card = made.pop() if made else None
                        yield from made
                        pending = []
                    else:
                        self.warn(number, "authors line without a title or abstract above it skipped")
                    if card is not None:
                        card.n_authors = int(special["count"]) if special and kind == "authors" else None
                        card.organization = signed
                    seen_cards = expect_date = True
                    dated = False
                    continue
                if kind == "separator":
                    continue
                if special and kind == "date" and expect_date:
                    expect_date = False
                    dated = True
                    if card is not None:
                        card.published, card.comments = _parse_date(special, self.today)
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
            pending.append(_Line(number, text, line_gap))
            if len(pending) >= window and not seen_cards:  # a page of pairs: decode it so far
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
            self.warn(pending[0].number, "last card is cut off (no authors/date line); kept what is there")
            for record in self.cards(pending):
                record.upvotes = upvotes.pop(record.line, record.upvotes)
                yield record
        else:
            yield from self.pairs(pending)


def parse_dump(
    lines: Iterable[str], source: str, warnings: list[LoadWarning], today: date | None = None
) -> Iterator[PaperRecord]:
    """Parse a page dump given as lines; problems are appended to ``warnings``.

    Year-less dates ("Sep 29") get the year of ``today`` (default: the current date).
    Never raises anything but :class:`DumpError`.
    """
    parser = _DumpParser(source, warnings, today or date.today())
    try:
        yield from parser.parse(lines)
    except UnicodeDecodeError as exc:
        raise DumpError(f"not UTF-8 text: {exc.reason}", source) from exc
