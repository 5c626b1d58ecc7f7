"""The demo notebook runs top to bottom in a real kernel (no JupyterLab: inserts fall back quietly)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

DEMO = Path(__file__).resolve().parent.parent / "notebooks" / "browse_papers.ipynb"


def test_demo_notebook_runs_without_errors(tmp_path: Path) -> None:
    path = tmp_path / DEMO.name
    shutil.copy(DEMO, path)
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "papers match “failure detector for generalist robot policies”" in text and "pandoc: [@" in text
    rich = [o["data"] for o in outputs if o.output_type in ("execute_result", "display_data")]
    assert any("application/vnd.jupyter.widget-view+json" in data for data in rich), "the browser is displayed"
    assert any("## References" in data.get("text/markdown", "") for data in rich)
    assert any("<table" in data.get("text/html", "") and "papers" in data.get("text/html", "") for data in rich)
