"""BibTeX and CSL-JSON export: the output stage that hands library rows to reference managers.

BibTeX entries are built with bibtexparser v2's model and written by ``bibtexparser.write_string``;
this module only decides the fields and escapes LaTeX.  CSL-JSON items follow the CSL 1.0 input
schema (https://resource.citationstyles.org/schema/latest/input/json/csl-data.json).
"""

from __future__ import annotations

import re

import bibtexparser
import pandas as pd
from bibtexparser.middlewares import default_unparse_stack
from bibtexparser.model import Entry, Field
from bibtexparser.writer import BibtexFormat

from paper_widgets.data.text import is_text

__all__ = ["bibtex_name", "latex_escape", "split_name", "to_bibtex", "to_csl_json"]

# Braces become \textbrace… commands rather than \{ \}: BibTeX itself counts escaped braces too,
# so "\{" alone would unbalance the field.
_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_SPECIAL = re.compile(r"[\\{}&%$#_~^]")
_WHITESPACE = re.compile(r"\s+")
_AND = re.compile(r"\band\b", re.IGNORECASE)
# Lower-case particles that belong to the family name ("van Gogh", "de la Cruz").
_PARTICLES = frozenset(
    ["van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "dos", "das", "ten", "ter"]
)
# Words with a capital after their first letter (AdaMerging, MTL, VLAs) keep their case: bibliography
# styles that sentence-case titles must not turn them into "Adamerging".
_CASED_WORD = re.compile(r"(?<![\\\w])[A-Za-z0-9]\w*[A-Z]\w*")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def latex_escape(text: str) -> str:
    """``text`` with every LaTeX special character escaped (braces stay balanced); whitespace runs → one space."""
    return _LATEX_SPECIAL.sub(lambda m: _LATEX[m.group()], _WHITESPACE.sub(" ", text).strip())


def split_name(name: str) -> tuple[str, str]:
    """``(family, given)`` of a display name: "Tianhe Yu" → ("Yu", "Tianhe"), "Vincent van Gogh" →
    ("van Gogh", "Vincent"), "Yu, Tianhe" → ("Yu", "Tianhe"); a single word is all family."""
    name = _WHITESPACE.sub(" ", name).strip()
    if "," in name:
        family, given = (part.strip() for part in name.split(",", 1))
        return family, given
    tokens = name.split(" ")
    start = len(tokens) - 1
    while start > 1 and tokens[start - 1] in _PARTICLES:
        start -= 1
    return " ".join(tokens[start:]), " ".join(tokens[:start])


def bibtex_name(name: str) -> str:
    """One name in BibTeX's ``Last, First`` form, LaTeX-escaped."""
    if _AND.search(name):
        return "{" + latex_escape(name) + "}"  # braced: BibTeX must not split it at "and"
    family, given = split_name(name)
    return f"{latex_escape(family)}, {latex_escape(given)}" if given else latex_escape(family)


def _names(authors: object) -> list[str]:
    return [a for a in authors if is_text(a)] if isinstance(authors, (list, tuple)) else []


def _title(row: pd.Series) -> str:
    return row["title"] if is_text(row.get("title")) else ""


def _arxiv_doi(arxiv_id: str) -> str:
    """arXiv registers a DataCite DOI for every paper (version-independent)."""
    return "10.48550/arXiv." + re.sub(r"v\d+$", "", arxiv_id.strip())


def _protect_case(title: str) -> str:
    return _CASED_WORD.sub(lambda m: "{" + m.group() + "}", title)


def _entry(row: pd.Series) -> Entry:
    arxiv_id = row.get("arxiv_id")
    fields = [Field("title", _protect_case(latex_escape(_title(row))))]
    authors = _names(row.get("authors"))
    if authors:
        fields.append(Field("author", " and ".join(bibtex_name(a) for a in authors)))
    published = row.get("published")
    if published is not None and not pd.isna(published):
        fields.append(Field("year", str(published.year)))
        # The standard month macros (jan …) are unquoted so every style localises them.
        fields.append(Field("month", _MONTHS[published.month - 1], enclosing="no-enclosing"))
    if is_text(row.get("abstract")):
        fields.append(Field("abstract", latex_escape(row["abstract"])))
    if is_text(row.get("url")):
        # url is read verbatim by the url/hyperref packages, so only braces are unsafe there.
        fields.append(Field("url", latex_escape(row["url"]) if re.search(r"[\s{}\\]", row["url"]) else row["url"]))
    if is_text(arxiv_id):
        fields += [
            Field("eprint", latex_escape(arxiv_id.strip())),
            Field("archiveprefix", "arXiv"),
            Field("doi", latex_escape(_arxiv_doi(arxiv_id))),
        ]
    # arXiv papers are preprints: @misc is what arXiv itself exports; @article would need a journal.
    return Entry("misc", row["key"], fields)


def to_bibtex(frame: pd.DataFrame) -> str:
    """A BibTeX database with one ``@misc`` entry per row (keys from the ``key`` column)."""
    library = bibtexparser.Library([_entry(row) for _, row in frame.iterrows()])
    layout = BibtexFormat()
    layout.indent, layout.block_separator = "  ", "\n"
    # The library is ours alone, so middlewares may modify blocks in place instead of copying them.
    stack = default_unparse_stack(allow_inplace_modification=True)
    return bibtexparser.write_string(library, unparse_stack=stack, bibtex_format=layout)


def _csl_name(name: str) -> dict[str, str]:
    family, given = split_name(name)
    return {"family": family, "given": given} if given else {"literal": family}


def _csl_item(row: pd.Series) -> dict[str, object]:
    item: dict[str, object] = {"id": row["key"], "type": "article", "title": _title(row)}
    authors = _names(row.get("authors"))
    if authors:
        item["author"] = [_csl_name(a) for a in authors]
    published = row.get("published")
    if published is not None and not pd.isna(published):
        item["issued"] = {"date-parts": [[published.year, published.month, published.day]]}
    if is_text(row.get("abstract")):
        item["abstract"] = row["abstract"]
    if is_text(row.get("url")):
        item["URL"] = row["url"]
    arxiv_id = row.get("arxiv_id")
    if is_text(arxiv_id):
        # CSL's recipe for preprints: type "article", the server as publisher, its id as number.
        item |= {"publisher": "arXiv", "number": arxiv_id.strip(), "DOI": _arxiv_doi(arxiv_id)}
    return item


def to_csl_json(frame: pd.DataFrame) -> list[dict[str, object]]:
    """CSL-JSON items (``json.dumps``-able), one per row: the input format of pandoc's citeproc and Zotero."""
    return [_csl_item(row) for _, row in frame.iterrows()]
