"""The kernel → JupyterLab comm protocol (comm bridge stage).

The target name, version, vocabulary, notebook metadata key and the kernel code of the palette
command live in ``protocol.json`` next to this file; the TypeScript plugin compiles a copy
generated from it (``labextension/src/protocolSpec.ts``), so both sides agree by construction.
Every request is ``{"version", "request_id", "action", ...}``; the plugin answers once on the
same comm with ``{"version", "request_id", "ok", "message", ...}`` and closes it.
"""

from __future__ import annotations

import json
import uuid
from importlib import resources
from typing import Any

__all__ = [
    "ACTIONS",
    "CELL_TYPES",
    "COMM_TARGET",
    "METADATA_KEY",
    "PROTOCOL_VERSION",
    "REFERENCES_ROLE",
    "REMOVE_TAG",
    "UPDATE_REFERENCES_CODE",
    "WHERE",
    "make_request",
]

_SPEC: dict[str, Any] = json.loads(resources.files("paper_widgets").joinpath("protocol.json").read_text("utf-8"))

COMM_TARGET: str = _SPEC["target"]
PROTOCOL_VERSION: int = _SPEC["version"]
METADATA_KEY: str = _SPEC["metadata_key"]
#: ``role`` (under METADATA_KEY) of the one References cell a notebook has.
REFERENCES_ROLE: str = _SPEC["references_role"]
#: Tag on the References cell: Jupyter Book 1 (myst-nb) and mystmd leave such cells out.
REMOVE_TAG: str = _SPEC["remove_tag"]
#: The code JupyterLab's "Update paper_widgets References cell" command runs silently in the kernel.
UPDATE_REFERENCES_CODE: str = _SPEC["update_references_code"]
ACTIONS: tuple[str, ...] = tuple(_SPEC["actions"])
CELL_TYPES: tuple[str, ...] = tuple(_SPEC["cell_types"])
WHERE: tuple[str, ...] = tuple(_SPEC["where"])


def _check(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {value!r}")


def make_request(action: str, **fields: Any) -> dict[str, Any]:
    """A request message with a fresh id; raises ValueError for values the plugin would refuse."""
    _check("action", action, ACTIONS)
    if "cell_type" in fields:
        _check("cell_type", fields["cell_type"], CELL_TYPES)
    if "where" in fields:
        _check("where", fields["where"], WHERE)
    if "text" in fields and not isinstance(fields["text"], str):
        raise TypeError(f"text must be a str, not {type(fields['text']).__name__}")
    return {"version": PROTOCOL_VERSION, "request_id": uuid.uuid4().hex, "action": action, **fields}
