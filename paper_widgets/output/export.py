r"""BibTeX and CSL-JSON export: the output stage that hands library rows to reference managers.

BibTeX entries are built with bibtexparser v2's model and written by ``bibtexparser.write_string``;
this module only decides the fields and escapes LaTeX.  CSL-JSON items follow the CSL 1.0 input
schema (https://resource.citationstyles.org/schema/latest/input/json/csl-data.json).

* A paper read from a .bib file is written back as the user wrote it: same key, entry type and
  fields, each value verbatim (its LaTeX is already escaped, so nothing is escaped twice; macros
  and ``crossref`` are resolved, so the entry stands alone), the month macro unquoted, no field
  added.
* Any other paper becomes ``@misc`` (what arXiv exports for preprints) with its text LaTeX-escaped
  once: the special characters ``\ { } & % $ # _ ~ ^`` become commands; other characters are
  written as UTF-8, which BibTeX copies through and LaTeX (with ``inputenc``, the default since
  2018) typesets.
"""

from __future__ import annotations

import re

import pandas as pd
from bibtexparser.entrypoint import write_string
from bibtexparser.library import Library
from bibtexparser.middlewares import default_unparse_stack
from bibtexparser.middlewares.names import parse_single_name_into_parts, split_multiple_persons_names
from bibtexparser.model import Entry, Field
from bibtexparser.writer import BibtexFormat

from paper_widgets.data.readers.bibtex import decode_latex
from paper_widgets.data.text import MONTHS, is_text, text_items, without_arxiv_version

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
# BibTeX entry types → CSL types (https://docs.citationstyles.org/en/stable/specification.html#appendix-iii-types).
_CSL_TYPES = {
    "article": "article-journal",
    "inproceedings": "paper-conference",
    "conference": "paper-conference",
    "book": "book",
    "inbook": "chapter",
    "incollection": "chapter",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "techreport": "report",
    "manual": "report",
    "proceedings": "book",
    "unpublished": "manuscript",
    "online": "webpage",
}


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


def _title(row: pd.Series) -> str:
    return row["title"] if is_text(row.get("title")) else ""


def _arxiv_doi(arxiv_id: str) -> str:
    """arXiv registers a DataCite DOI for every paper (version-independent)."""
    return "10.48550/arXiv." + without_arxiv_version(arxiv_id)


def _protect_case(title: str) -> str:
    return _CASED_WORD.sub(lambda m: "{" + m.group() + "}", title)


def _bibliography_fields(row: pd.Series) -> dict[str, str] | None:
    """The fields of a paper read from a .bib file, as written there (None for other papers)."""
    fields = row.get("fields")
    return fields if isinstance(fields, dict) and fields else None


def _own_entry(row: pd.Series, fields: dict[str, str]) -> Entry:
    """The .bib entry the user wrote, given back field for field."""
    entry_type = row.get("entry_type") if is_text(row.get("entry_type")) else "misc"
    return Entry(
        entry_type,
        row["key"],
        [
            Field(name, value, enclosing="no-enclosing" if name == "month" and value in MONTHS else None)
            for name, value in fields.items()
        ],
    )


def _entry(row: pd.Series) -> Entry:
    own = _bibliography_fields(row)
    if own is not None:
        return _own_entry(row, own)
    arxiv_id = row.get("arxiv_id")
    fields = [Field("title", _protect_case(latex_escape(_title(row))))]
    authors = text_items(row.get("authors"))
    if authors:
        fields.append(Field("author", " and ".join(bibtex_name(a) for a in authors)))
    published = row.get("published")
    if published is not None and not pd.isna(published):
        fields.append(Field("year", str(published.year)))
        # The standard month macros (jan …) are unquoted so every style localises them.
        fields.append(Field("month", MONTHS[published.month - 1], enclosing="no-enclosing"))
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
    """A BibTeX database with one entry per row (keys from the ``key`` column): papers from a .bib
    file as written there, others as ``@misc``."""
    library = Library([_entry(row) for _, row in frame.iterrows()])
    layout = BibtexFormat()  # type: ignore[no-untyped-call]
    layout.indent, layout.block_separator = "  ", "\n"
    # The library is ours alone, so middlewares may modify blocks in place instead of copying them.
    stack = default_unparse_stack(allow_inplace_modification=True)
    return write_string(library, unparse_stack=stack, bibtex_format=layout)


def _csl_name(name: str) -> dict[str, str]:
    family, given = split_name(name)
    return {"family": family, "given": given} if given else {"literal": family}


def _csl_names(field: str) -> list[dict[str, str]]:
    """CSL names of a BibTeX name field, split by BibTeX's rules (a braced corporate name stays whole)."""
    names = []
    for name in split_multiple_persons_names(field):
        if name.strip().lower() == "others":
            # BibTeX's "and others": more authors than listed. Kept as a name so CSL styles say "et al."
            # where they abbreviate, instead of citing the listed authors as if they were all.
            names.append({"literal": "others"})
            continue
        try:
            parts = parse_single_name_into_parts(name, strict=False)
        except Exception:  # a name bibtexparser cannot split stays whole
            names.append({"literal": decode_latex(name)})
            continue
        family = decode_latex(" ".join(parts.last))
        csl = {"family": family} if parts.first or parts.von or parts.jr else {"literal": family}
        if parts.first:
            csl["given"] = decode_latex(" ".join(parts.first))
        if parts.von:
            csl["non-dropping-particle"] = decode_latex(" ".join(parts.von))
        if parts.jr:
            csl["suffix"] = decode_latex(" ".join(parts.jr))
        names.append(csl)
    return names


def _csl_item(row: pd.Series) -> dict[str, object]:
    own = _bibliography_fields(row) or {}
    csl_type = _CSL_TYPES.get(str(row.get("entry_type")), "article")
    item: dict[str, object] = {"id": row["key"], "type": csl_type, "title": _title(row)}
    authors = text_items(row.get("authors"))
    if "author" in own:
        item["author"] = _csl_names(own["author"])
    elif authors:
        item["author"] = [_csl_name(a) for a in authors]
    if "editor" in own:
        item["editor"] = _csl_names(own["editor"])
    if is_text(row.get("venue")):
        item["container-title"] = row["venue"]
    for name, csl_name in (("volume", "volume"), ("number", "issue"), ("pages", "page"), ("publisher", "publisher")):
        if name in own:
            item[csl_name] = decode_latex(own[name])
    if is_text(row.get("doi")):
        item["DOI"] = row["doi"]
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
        item = {"publisher": "arXiv", "number": arxiv_id.strip(), "DOI": _arxiv_doi(arxiv_id)} | item
    return item


def to_csl_json(frame: pd.DataFrame) -> list[dict[str, object]]:
    """CSL-JSON items (``json.dumps``-able), one per row: the input format of pandoc's citeproc and Zotero."""
    return [_csl_item(row) for _, row in frame.iterrows()]
