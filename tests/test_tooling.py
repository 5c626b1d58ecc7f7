"""One source per fact and the project's tooling files: version, vocabularies, license, type marker."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import paper_widgets
from paper_widgets import vocabulary
from paper_widgets.cli import main

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_the_version_is_set_only_in_package_json_and_the_build_reads_it() -> None:
    metadata = pytest.importorskip("hatchling.metadata.core")
    plugins = pytest.importorskip("hatchling.plugin.manager")
    nodejs = pytest.importorskip("hatch_nodejs_version.version_source")
    assert re.search(r'^dynamic = \["version"\]', PYPROJECT, re.MULTILINE)
    assert not re.search(r"^version\s*=", PYPROJECT, re.MULTILINE), "no static version in pyproject.toml"
    package_json = json.loads((ROOT / "labextension" / "package.json").read_text(encoding="utf-8"))
    built = metadata.ProjectMetadata(str(ROOT), plugins.PluginManager()).version
    assert built == nodejs.NodeJSVersionSource.node_version_to_python(package_json["version"])
    assert package_json["version"] not in (ROOT / "paper_widgets" / "__init__.py").read_text(), "no copy in the code"


def test_every_stage_takes_its_choices_from_the_vocabulary(capsys: pytest.CaptureFixture[str]) -> None:
    from paper_widgets.widget.browser import PaperBrowser

    assert tuple(PaperBrowser.style.values) == vocabulary.STYLES
    assert tuple(PaperBrowser.sort.values) == vocabulary.SORTS
    with pytest.raises(SystemExit):
        main(["refs", "--help"])
    assert "{" + ",".join(vocabulary.STYLES) + "}" in capsys.readouterr().out
    lib = paper_widgets.load_sample()
    key = lib.df["key"].iloc[0]
    assert len({lib.cite(key, style) for style in vocabulary.STYLES}) == len(vocabulary.STYLES)
    assert lib.cite(key) == lib.cite(key, vocabulary.DEFAULT_STYLE)
    for sort in vocabulary.SORTS:
        assert len(lib.search("", limit=3, sort=sort)) == 3
    for status in vocabulary.STATUSES:
        lib.set_status(key, status)
        assert lib.status(key) == status
    assert lib.df["status"].iloc[1] == vocabulary.DEFAULT_STATUS
    with pytest.raises(ValueError, match=", ".join(vocabulary.STATUSES)):
        lib.set_status(key, "skimmed")


def test_license_and_type_marker_ship_with_the_package() -> None:
    assert re.search(r'^license = "BSD-3-Clause"$', PYPROJECT, re.MULTILINE)
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("BSD 3-Clause License")
    assert (ROOT / "paper_widgets" / "py.typed").is_file()
    assert "## 0.2.0" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
