"""Command line: the ``paper-widgets`` console script, a shell front end to the Library facade.

``paper-widgets info DUMPS…``, ``search DUMPS… -q QUERY``, ``bibtex DUMPS… [-o refs.bib]``,
``csl DUMPS… [-o refs.json]`` and ``refs NOTEBOOK [DUMPS…] [--write]``.  Results go to stdout (or ``-o``),
load warnings and errors to stderr.  Exit status: 0 success, 1 nothing loaded / nothing found /
a file could not be written, 2 bad usage (argparse).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from paper_widgets import __version__
from paper_widgets.data.readers.sources import detect_format, expand_paths
from paper_widgets.data.records import PaperWidgetsWarning
from paper_widgets.library import Library, load
from paper_widgets.output.cite import STYLES

__all__ = ["main"]

PROG = "paper-widgets"
_HEAD_CHARS = 64 * 1024


class _Failure(Exception):
    """An expected failure: its message goes to stderr and the exit status is 1."""


def _load(paths: Sequence[str]) -> Library:
    """The library from ``paths``; load warnings are printed to stderr, an empty library is a failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PaperWidgetsWarning)  # printed below, once and without code lines
        lib = load(*paths)
    for problem in lib.warnings:
        print(f"{PROG}: warning: {problem}", file=sys.stderr)
    if len(lib) == 0:
        raise _Failure(f"no papers could be loaded from {', '.join(paths)}")
    return lib


def _write(text: str, output: str | None, what: str) -> None:
    if output is None or output == "-":
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _Failure(f"cannot write {output}: {exc.strerror or exc}") from exc
    print(f"{PROG}: wrote {what} to {output}", file=sys.stderr)


def _formats(paths: Sequence[str]) -> Counter[str]:
    """How many input files there are of each format (detected from content, as ``load`` does)."""
    found: Counter[str] = Counter()
    for path in expand_paths(paths, []):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                found[detect_format(handle.read(_HEAD_CHARS))] += 1
        except OSError:
            found["unreadable"] += 1
    return found


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _info(args: argparse.Namespace) -> int:
    lib = _load(args.dumps)
    df = lib.df
    formats = _formats(args.dumps)
    dated = df["published"].dropna()
    lines = [
        f"files: {sum(formats.values())} ({', '.join(f'{fmt}: {n}' for fmt, n in sorted(formats.items()))})",
        f"papers: {len(df)}",
        f"with abstract: {int((df['abstract'].fillna('').str.len() > 0).sum())}",
        f"with authors: {int((df['authors'].map(len) > 0).sum())}",
        f"with arXiv id: {int(df['arxiv_id'].notna().sum())}",
        f"with date: {len(dated)}" + (f" ({dated.min():%Y-%m-%d} to {dated.max():%Y-%m-%d})" if len(dated) else ""),
        f"warnings: {len(lib.warnings)}",
    ]
    print("\n".join(lines))
    return 0


def _search(args: argparse.Namespace) -> int:
    lib = _load(args.dumps)
    found = lib.search(args.query, limit=args.limit)
    if found.empty:
        raise _Failure(f"no papers match {args.query!r}")
    for _, row in found.iterrows():
        year = "" if pd.isna(row["published"]) else row["published"].year
        print(f"{row['key']}\t{year}\t{row['title']}")
    return 0


def _bibtex(args: argparse.Namespace) -> int:
    lib = _load(args.dumps)
    _write(lib.to_bibtex(), args.output, f"{len(lib)} BibTeX entries")
    return 0


def _csl(args: argparse.Namespace) -> int:
    lib = _load(args.dumps)
    _write(
        json.dumps(lib.to_csl_json(), indent=2, ensure_ascii=False) + "\n", args.output, f"{len(lib)} CSL-JSON items"
    )
    return 0


def _refs(args: argparse.Namespace) -> int:
    from paper_widgets.library import load_default
    from paper_widgets.output.bibliography import references, update_notebook

    lib = _load(args.dumps) if args.dumps else load_default()
    csl = args.csl or lib.csl_style
    try:
        if args.write:
            bib = update_notebook(args.notebook, lib, style=args.style, csl=csl, bib_name=args.bib)
            print(f"{PROG}: updated the References cell of {args.notebook} and wrote {bib}", file=sys.stderr)
            return 0
        text = references(args.notebook, lib, style=args.style, csl=csl)
    except (OSError, ValueError) as exc:  # unreadable or invalid notebook, unknown CSL style
        raise _Failure(f"cannot update notebook {args.notebook}: {exc}") from exc
    _write(text, args.output, "the references section")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Search, cite and export Hugging Face Daily Papers dumps (and JSON, JSON-lines, BibTeX).",
        epilog="Exit status: 0 success, 1 nothing loaded / nothing found / write failed, 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dumps = {"nargs": "+", "metavar": "DUMPS", "help": "files, directories or globs to load"}

    info = commands.add_parser("info", help="count papers, input formats and load warnings")
    info.add_argument("dumps", **dumps)
    info.set_defaults(run=_info)

    search = commands.add_parser("search", help="search titles and abstracts; prints key, year, title")
    search.add_argument("dumps", **dumps)
    search.add_argument("-q", "--query", required=True, help="search words (typos are tolerated)")
    search.add_argument("-n", "--limit", type=_positive, default=10, help="at most this many results (default 10)")
    search.set_defaults(run=_search)

    bibtex = commands.add_parser("bibtex", help="export every paper as BibTeX")
    bibtex.add_argument("dumps", **dumps)
    bibtex.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout (e.g. refs.bib)")
    bibtex.set_defaults(run=_bibtex)

    csl = commands.add_parser("csl", help="export every paper as CSL-JSON (pandoc citeproc, Zotero)")
    csl.add_argument("dumps", **dumps)
    csl.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout (e.g. refs.json)")
    csl.set_defaults(run=_csl)

    refs = commands.add_parser("refs", help="the References section (markdown) for the papers a notebook cites")
    refs.add_argument("notebook", help="the .ipynb file")
    refs.add_argument("dumps", **{**dumps, "nargs": "*", "help": "sources to cite from (default: your library)"})
    refs.add_argument("-s", "--style", choices=STYLES, default="text", help="entry style (default text)")
    refs.add_argument("--csl", metavar="STYLE", help="CSL style name or .csl file (default: yours, else apa)")
    refs.add_argument("--write", action="store_true", help="update the notebook's References cell and write the .bib")
    refs.add_argument("--bib", metavar="NAME", default="references.bib", help="the .bib beside the notebook (--write)")
    refs.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    refs.set_defaults(run=_refs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = _parser().parse_args(argv)  # exits with status 2 on bad usage
    try:
        return args.run(args)
    except _Failure as failure:
        print(f"{PROG}: error: {failure}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `paper-widgets bibtex … | head`
        sys.stderr.close()
        return 1
