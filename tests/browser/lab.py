"""A real JupyterLab on 127.0.0.1 and helpers to drive it from Playwright.

Everything JupyterLab writes (config, runtime, settings, workspaces) and the
paper_widgets store go to temporary directories, so tests never touch the
user's setup.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from jupyter_app import Running, start_jupyter
from playwright.sync_api import Page

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# No news pop-up over the notebook; all cells attached so DOM queries see every cell.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("Debian Chromium is not installed: apt-get install -y chromium")
    return path


@dataclass
class Lab:
    """A running JupyterLab server."""

    url: str
    token: str
    root: Path
    running: Running

    @property
    def log(self) -> Path:
        return self.running.log

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"

    def write_notebook(self, name: str, *sources: str, markdown: tuple[int, ...] = ()) -> Path:
        """A notebook of code cells (indices in ``markdown`` become markdown cells)."""
        cells = [
            nbformat.v4.new_markdown_cell(src) if i in markdown else nbformat.v4.new_code_cell(src)
            for i, src in enumerate(sources)
        ]
        notebook = nbformat.v4.new_notebook(cells=cells)
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = self.root / name
        nbformat.write(notebook, path)
        return path

    def read_notebook(self, name: str) -> nbformat.NotebookNode:
        return nbformat.read(self.root / name, as_version=4)

    def stop(self) -> None:
        self.running.stop()


def start_lab(base: Path, *, disabled: tuple[str, ...] = ()) -> Lab:
    """Start JupyterLab with everything it writes under ``base``; ``disabled`` labextensions are switched off."""
    root, home = base / "root", base / "paper_widgets_home"
    dirs = {name: base / name for name in ("config", "runtime", "settings", "workspaces")}
    for path in (root, home, *dirs.values()):
        path.mkdir(parents=True, exist_ok=True)
    for name, values in LAB_SETTINGS.items():
        target = dirs["settings"] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    if disabled:
        page_config = dirs["config"] / "labconfig" / "page_config.json"
        page_config.parent.mkdir(parents=True, exist_ok=True)
        page_config.write_text(json.dumps({"disabledExtensions": dict.fromkeys(disabled, True)}))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "PAPER_WIDGETS_HOME": str(home),
    }
    running = start_jupyter(
        "lab",
        root,
        env,
        base / "jupyterlab.log",
        "--LabApp.expose_app_in_browser=True",
        "--ServerApp.open_browser=False",
    )
    return Lab(url=running.url, token=running.token, root=root, running=running)


# -- driving the page -------------------------------------------------------------------------------

_CURRENT = "window.jupyterapp.shell.currentWidget"


def open_notebook(page: Page, lab: Lab, name: str) -> None:
    """Open ``name`` and wait until its kernel is idle."""
    page.goto(lab.notebook_url(name))
    wait_for_idle_kernel(page, name)


def open_another_notebook(page: Page, name: str) -> None:
    """Open ``name`` in a new tab of the running JupyterLab and wait for its idle kernel."""
    page.evaluate("name => window.jupyterapp.commands.execute('docmanager:open', {path: name})", name)
    wait_for_idle_kernel(page, name)


def wait_for_idle_kernel(page: Page, name: str, timeout: float = 60_000) -> None:
    page.wait_for_function(
        """name => {
            const panel = window.jupyterapp && [...window.jupyterapp.shell.widgets('main')]
                .find(w => w.context && w.context.path === name);
            const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
            return !!(kernel && kernel.status === 'idle' && panel.content.widgets.length > 0);
        }""",
        arg=name,
        timeout=timeout,
    )


def activate(page: Page, name: str) -> None:
    page.evaluate(
        """name => {
            const panel = [...window.jupyterapp.shell.widgets('main')].find(w => w.context && w.context.path === name);
            window.jupyterapp.shell.activateById(panel.id);
        }""",
        name,
    )


def run_all(page: Page) -> None:
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


def run_cell(page: Page, name: str, index: int) -> None:
    """Run cell ``index`` of ``name`` alone, as a person pressing Shift+Enter would, and wait for it."""
    activate(page, name)
    page.evaluate(
        """index => {
            const notebook = window.jupyterapp.shell.currentWidget.content;
            notebook.activeCellIndex = index;
            return window.jupyterapp.commands.execute('notebook:run-cell');
        }""",
        index,
    )
    page.wait_for_function(
        """([name, index]) => {
            const panel = [...window.jupyterapp.shell.widgets('main')].find(w => w.context && w.context.path === name);
            return panel.content.model.sharedModel.cells[index].execution_count !== null &&
                panel.sessionContext.session.kernel.status === 'idle';
        }""",
        arg=[name, index],
    )


def wait_until_executed(page: Page, name: str, timeout: float = 60_000) -> None:
    """Wait until every code cell of ``name`` has an execution count and the kernel is idle again."""
    page.wait_for_function(
        """name => {
            const panel = [...window.jupyterapp.shell.widgets('main')].find(w => w.context && w.context.path === name);
            const cells = panel.content.model.sharedModel.cells.filter(c => c.cell_type === 'code');
            return cells.every(c => c.execution_count !== null) &&
                panel.sessionContext.session.kernel.status === 'idle';
        }""",
        arg=name,
        timeout=timeout,
    )


def cells(page: Page, name: str) -> list[dict[str, Any]]:
    """Type, source and metadata of every cell of ``name`` as the notebook model holds them."""
    return page.evaluate(
        """name => {
            const panel = [...window.jupyterapp.shell.widgets('main')].find(w => w.context && w.context.path === name);
            return panel.content.model.sharedModel.cells.map(
                c => ({cell_type: c.cell_type, source: c.getSource(), metadata: c.getMetadata()}));
        }""",
        name,
    )


def save(page: Page, name: str) -> None:
    activate(page, name)
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(
        """name => {
            const panel = [...window.jupyterapp.shell.widgets('main')].find(w => w.context && w.context.path === name);
            return !panel.context.model.dirty;
        }""",
        arg=name,
    )
