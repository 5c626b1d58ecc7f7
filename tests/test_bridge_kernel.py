"""The bridge in a real IPython kernel with no JupyterLab plugin listening (as under VS Code or nbclient)."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient


def test_without_a_plugin_insert_learns_there_is_no_receiver_and_falls_back() -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("import paper_widgets, time\nfirst = paper_widgets.insert('FIRST')"),
            # Nobody answers: the timeout counts from the end of the asking cell.
            nbformat.v4.new_code_cell(
                "time.sleep(1.5)\nprint(first.status, paper_widgets.kernel.bridge.get_bridge().receiver)"
            ),
            nbformat.v4.new_code_cell("second = paper_widgets.insert('SECOND ' + 'TEXT')\nprint(second.status)"),
        ]
    )
    code = "import paper_widgets.kernel.bridge as b\nb.get_bridge().timeout = 0.5"
    notebook.cells.insert(0, nbformat.v4.new_code_cell(code))
    NotebookClient(notebook, timeout=60, kernel_name="python3").execute()

    def text(index: int) -> str:
        return "".join(o.get("text", "") for o in notebook.cells[index].outputs if o.output_type == "stream")

    assert text(2).strip() == "no_receiver False"
    third = text(3)
    assert "No paper-widgets JupyterLab extension answered" in third
    assert "SECOND TEXT" in third  # ready to copy
    assert third.strip().endswith("no_receiver")
