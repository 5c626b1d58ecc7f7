"""Command line: the ``paper-widgets`` console script, a shell front end to the Library facade.

``paper-widgets info DUMPS…``, ``search DUMPS… -q QUERY``, ``bibtex DUMPS… [-o refs.bib]``,
``csl DUMPS… [-o refs.json]``, ``refs NOTEBOOK [DUMPS…] [--write]``, ``library add|remove|show`` (the
user's library, which ``load_default()`` and ``PaperBrowser()`` open; no other command changes it),
and for a team store on PostgreSQL ``db init`` and ``db grant ROLE…``.
Results go to stdout (or ``-o``, which never replaces an existing file without ``--force``), load
warnings and errors to stderr; terminal control characters from dump text are never printed.
Exit status: 0 success, 1 nothing loaded / nothing found / a file could not be written, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from collections import Counter
from collections.abc import Sequence

import pandas as pd

from paper_widgets import __version__
from paper_widgets.data.readers.sources import detect_format, expand_paths
from paper_widgets.data.records import LoadWarning, PaperWidgetsWarning, summarised
from paper_widgets.library import Library, forget_paths, load, load_default, remember_paths, user_library
from paper_widgets.output.bibliography import references, update_notebook
from paper_widgets.output.files import write_text_atomic
from paper_widgets.store import StoreError, is_postgres_url
from paper_widgets.vocabulary import STYLES

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
    for problem in summarised(lib.warnings):
        _say(_field(problem), "warning")
    if len(lib) == 0:
        raise _Failure(f"no papers could be loaded from {', '.join(paths)}")
    return lib


def _write(text: str, args: argparse.Namespace, what: str) -> None:
    """``text`` to stdout, or to ``-o FILE`` atomically (an existing FILE only with ``--force``)."""
    if args.output is None or args.output == "-":
        sys.stdout.write(_printable(text))
        return
    try:
        write_text_atomic(args.output, text, overwrite=args.force)
    except FileExistsError as exc:
        raise _Failure(f"{args.output} already exists; add --force to overwrite it") from exc
    except OSError as exc:
        raise _Failure(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    _say(f"wrote {what} to {args.output}")


# Terminal control: C0 (ESC starts ANSI/OSC sequences: window title, clipboard, clear screen),
# DEL and C1 (0x9b is a one-byte CSI).  Tab and newline stay where the output has them.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TAB_OR_NEWLINE = re.compile("[\t\n]")


def _printable(text: str) -> str:
    """``text`` without terminal control characters (tabs and newlines kept)."""
    return _CONTROL.sub("", text)


def _field(text: object) -> str:
    """One tab-separated field: control characters dropped, tabs and newlines made spaces."""
    return _printable(_TAB_OR_NEWLINE.sub(" ", str(text)))


def _say(message: str, kind: str = "") -> None:
    """``paper-widgets: [kind: ]message`` on stderr, control characters dropped."""
    print(_printable(f"{PROG}: {kind + ': ' if kind else ''}{message}"), file=sys.stderr)


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
    print(_printable("\n".join(lines)))
    return 0


def _search(args: argparse.Namespace) -> int:
    lib = _load(args.dumps)
    found = lib.search(args.query, limit=args.limit)
    if found.empty:
        raise _Failure(f"no papers match {args.query!r}")
    for _, row in found.iterrows():
        year = "" if pd.isna(row["published"]) else row["published"].year
        print("\t".join(map(_field, (row["key"], year, row["title"]))))
    return 0


def _bibtex(args: argparse.Namespace) -> int:
    lib = _load(args.dumps)
    _write(lib.to_bibtex(), args, f"{len(lib)} BibTeX entries")
    return 0


def _csl(args: argparse.Namespace) -> int:
    lib = _load(args.dumps)
    _write(json.dumps(lib.to_csl_json(), indent=2, ensure_ascii=False) + "\n", args, f"{len(lib)} CSL-JSON items")
    return 0


def _refs(args: argparse.Namespace) -> int:
    lib = _load(args.dumps) if args.dumps else load_default()
    csl = args.csl or lib.csl_style
    try:
        if args.write:
            bib = update_notebook(args.notebook, lib, style=args.style, csl=csl, bib_name=args.bib)
            _say(f"updated the References cell of {args.notebook} and wrote {bib}")
            return 0
        text = references(args.notebook, lib, style=args.style, csl=csl)
    except (OSError, ValueError) as exc:  # unreadable or invalid notebook, unknown CSL style
        raise _Failure(f"cannot update notebook {args.notebook}: {exc}") from exc
    _write(text, args, "the references section")
    return 0


def _library_add(args: argparse.Namespace) -> int:
    problems: list[LoadWarning] = []
    empty = [path for path in args.paths if not expand_paths([path], problems)]
    if empty:  # all or nothing: a typo must not leave half the paths added
        reasons = "; ".join(str(problem) for problem in problems) or f"no files in {', '.join(empty)}"
        raise _Failure(f"{reasons}; the library is unchanged")
    for path in remember_paths(args.paths):
        print(_printable(path))
    return 0


def _library_remove(args: argparse.Namespace) -> int:
    missing = forget_paths(args.paths)
    for path in user_library():
        print(_printable(path))
    if missing:
        raise _Failure(f"not in the library: {', '.join(missing)}")
    return 0


def _library_show(_args: argparse.Namespace) -> int:
    paths = user_library()
    if not paths:
        raise _Failure("the library is empty (load_default() opens the bundled samples); add paths with `library add`")
    print(_printable("\n".join(paths)))
    return 0


def _db(args: argparse.Namespace) -> int:
    from paper_widgets.store.schema import SCHEMA_VERSION
    from paper_widgets.store.team import TEAM_ROLE, grant_team, init_team_database

    url = args.url or os.environ.get("PAPER_WIDGETS_DB")
    if not is_postgres_url(url):
        raise _Failure("db commands need the team database: pass --url postgresql://… or set PAPER_WIDGETS_DB")
    assert url is not None
    if args.db_command == "init":
        before = init_team_database(url)
        print(f"schema version {before} -> {SCHEMA_VERSION}; role {TEAM_ROLE}; row-level security on notes and status")
    else:
        for role in grant_team(url, args.roles):
            print(_printable(f"{role} is a member of {TEAM_ROLE}"))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Search, cite and export Hugging Face Daily Papers dumps (and JSON, JSON-lines, BibTeX).",
        epilog="Exit status: 0 success, 1 nothing loaded / nothing found / write failed, 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add_dumps(command: argparse.ArgumentParser) -> None:
        command.add_argument("dumps", nargs="+", metavar="DUMPS", help="files, directories or globs to load")

    info = commands.add_parser("info", help="count papers, input formats and load warnings")
    add_dumps(info)
    info.set_defaults(run=_info)

    search = commands.add_parser("search", help="search titles and abstracts; prints key, year, title")
    add_dumps(search)
    search.add_argument("-q", "--query", required=True, help="search words (typos are tolerated)")
    search.add_argument("-n", "--limit", type=_positive, default=10, help="at most this many results (default 10)")
    search.set_defaults(run=_search)

    bibtex = commands.add_parser("bibtex", help="export every paper as BibTeX")
    add_dumps(bibtex)
    bibtex.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout (e.g. refs.bib)")
    bibtex.add_argument("-f", "--force", action="store_true", help="overwrite FILE if it exists")
    bibtex.set_defaults(run=_bibtex)

    csl = commands.add_parser("csl", help="export every paper as CSL-JSON (pandoc citeproc, Zotero)")
    add_dumps(csl)
    csl.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout (e.g. refs.json)")
    csl.add_argument("-f", "--force", action="store_true", help="overwrite FILE if it exists")
    csl.set_defaults(run=_csl)

    refs = commands.add_parser("refs", help="the References section (markdown) for the papers a notebook cites")
    refs.add_argument("notebook", help="the .ipynb file")
    refs.add_argument("dumps", nargs="*", metavar="DUMPS", help="sources to cite from (default: your library)")
    refs.add_argument("-s", "--style", choices=STYLES, default="text", help="entry style (default text)")
    refs.add_argument("--csl", metavar="STYLE", help="CSL style name or .csl file (default: yours, else apa)")
    refs.add_argument("--write", action="store_true", help="update the notebook's References cell and write the .bib")
    refs.add_argument("--bib", metavar="NAME", default="references.bib", help="the .bib beside the notebook (--write)")
    refs.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    refs.add_argument("-f", "--force", action="store_true", help="overwrite FILE if it exists")
    refs.set_defaults(run=_refs)

    library = commands.add_parser("library", help="show or change the user's library (what load_default() opens)")
    actions = library.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add files, directories or globs; prints the library")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.set_defaults(run=_library_add)
    remove = actions.add_parser("remove", help="remove paths as they were added; prints the library")
    remove.add_argument("paths", nargs="+", metavar="PATH")
    remove.set_defaults(run=_library_remove)
    show = actions.add_parser("show", help="print the library's paths, one per line")
    show.set_defaults(run=_library_show)
    db = commands.add_parser("db", help="set up a team library on PostgreSQL (run by the database owner)")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    url_help = "postgresql://owner@host/database (default: $PAPER_WIDGETS_DB)"
    db_init = db_commands.add_parser("init", help="create or upgrade the schema, the team role and its policies")
    db_init.add_argument("--url", metavar="URL", help=url_help)
    db_grant = db_commands.add_parser("grant", help="make existing login roles members of the team")
    db_grant.add_argument("roles", nargs="+", metavar="ROLE", help="PostgreSQL roles (CREATE ROLE name LOGIN)")
    db_grant.add_argument("--url", metavar="URL", help=url_help)
    db.set_defaults(run=_db)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = _parser().parse_args(argv)  # exits with status 2 on bad usage
    try:
        status: int = args.run(args)
        return status
    except (_Failure, StoreError) as failure:
        _say(str(failure), "error")
        return 1
    except BrokenPipeError:  # `paper-widgets bibtex … | head`
        sys.stderr.close()
        return 1
