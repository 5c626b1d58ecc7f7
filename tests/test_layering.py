"""The package's layout is its pipeline: a module imports only from its own stage or lower ones
(the README's stage table), and the data layer never imports the notebook stack."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "paper_widgets"

# Stage of each module, by dotted-name prefix (longest prefix wins); the README's table, in code.
STAGES = {
    "paper_widgets.vocabulary": 0,
    "paper_widgets.kernel.protocol": 0,
    "paper_widgets.workers": 0,
    "paper_widgets.data": 1,
    "paper_widgets.store": 2,
    "paper_widgets.search": 3,
    "paper_widgets.output": 4,
    "paper_widgets.library": 5,
    "paper_widgets.cli": 6,
    "paper_widgets.kernel": 7,
    "paper_widgets.widget": 8,
    "paper_widgets.server": 9,
}
NOTEBOOK_STACK = ("ipywidgets", "IPython", "ipykernel", "comm", "traitlets")


def stage(module: str) -> int | None:
    prefixes = [p for p in STAGES if module == p or module.startswith(p + ".")]
    return STAGES[max(prefixes, key=len)] if prefixes else None


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "labextension" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path, name: str) -> set[str]:
    """Every module ``path`` imports, at any depth (function-level imports included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_every_module_has_a_stage() -> None:
    unplaced = [
        name for name in modules() if name not in ("paper_widgets", "paper_widgets.__main__") and stage(name) is None
    ]
    assert unplaced == []


def test_no_module_imports_a_higher_stage() -> None:
    upward = []
    for name, path in modules().items():
        own = stage(name)
        if own is None:  # the package's __init__ and __main__ sit on top
            continue
        for imported in imports(path, name):
            theirs = stage(imported)
            if theirs is not None and theirs > own:
                upward.append(f"{name} (stage {own}) imports {imported} (stage {theirs})")
    assert upward == []


def test_the_data_layer_never_imports_the_notebook_stack() -> None:
    offending = [
        f"{name} imports {imported}"
        for name, path in modules().items()
        if stage(name) in (0, 1)
        for imported in imports(path, name)
        if imported.split(".")[0] in NOTEBOOK_STACK
    ]
    assert offending == []


def test_importing_the_package_and_the_first_browser_never_import_nbformat(tmp_path: Path) -> None:
    """nbformat pulls in jsonschema (~1 s): only reading or writing a notebook file may import it."""
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "import paper_widgets as pw\n"
        "pw.PaperBrowser()\n"
        "print(sorted(m for m in ('nbformat', 'jsonschema') if m in sys.modules))\n"
    )
    env = os.environ | {"PYTHONPATH": str(PACKAGE.parent), "PAPER_WIDGETS_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "[]"


# What a reopened library's first search never needs: BibTeX parsing, CSL citations, the package
# version and progress bars (output to a pipe) are imported when used, not by the import or the search.
NOT_FOR_A_SEARCH = ("bibtexparser", "pylatexenc", "citeproc", "lxml", "importlib.metadata", "tqdm", "nbformat")


def test_importing_and_a_reopened_librarys_first_search_import_no_more_than_they_need(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import paper_widgets as pw\n"
        f"unneeded = {NOT_FOR_A_SEARCH!r}\n"
        "print(sorted(m for m in unneeded if m in sys.modules))\n"
        "found = pw.load_sample().search('multi task failure detecton', limit=3)\n"
        "print(sorted(m for m in unneeded if m in sys.modules))\n"
        "print(found['title'].iloc[0])\n"
        "pw.load_sample().to_bibtex()\n"  # they still load when used
        "print(sorted(m for m in unneeded if m in sys.modules))\n"
    )
    env = os.environ | {"PYTHONPATH": str(PACKAGE.parent), "PAPER_WIDGETS_HOME": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    reopened = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    for run in (first, reopened):
        imported, searched, title, used = run.stdout.strip().splitlines()
        assert imported == searched == "[]"
        assert "Failure" in title, title
        assert "bibtexparser" in used
