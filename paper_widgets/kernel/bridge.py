"""Kernel side of the comm bridge: ask the paper-widgets JupyterLab plugin to edit this kernel's notebook.

A kernel cannot wait for a frontend reply while a cell runs (replies queue on the
shell channel until the cell ends), so requests are fire-and-forget with a
:class:`Delivery` that resolves later. Whether a receiver exists is learned from
the first answer: a reply means the plugin is there; a ``comm_close`` without a
reply (JupyterLab without the plugin) or silence for ``timeout`` seconds after
the asking cell ended (VS Code, Colab, nbclient) means it is not, and later
inserts fall back to ``set_next_input`` plus plain text ready to copy.
"""

from __future__ import annotations

import functools
import html
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from paper_widgets.kernel.protocol import COMM_TARGET, PROTOCOL_VERSION, make_request

__all__ = ["Bridge", "Delivery", "current_shell", "get_bridge", "insert", "read_cells", "upsert_cell"]

Status = Literal["pending", "ok", "failed", "no_receiver"]
Callback = Callable[["Delivery"], None]

NO_RECEIVER = (
    "No paper-widgets JupyterLab extension answered (VS Code, Colab, Notebook 6, or the extension "
    "is disabled: check `jupyter labextension list`)."
)


class CommLike(Protocol):
    def on_msg(self, callback: Callable[[dict[str, Any]], None]) -> None: ...
    def on_close(self, callback: Callable[[dict[str, Any]], None]) -> None: ...


@dataclass(eq=False)
class Delivery:
    """One request to the JupyterLab plugin and, once known, its outcome."""

    request: dict[str, Any]
    status: Status = "pending"
    message: str = "Waiting for the paper-widgets JupyterLab extension to answer."
    reply: dict[str, Any] | None = None
    #: Sent while a cell ran (not from a widget event): if it never arrives, the next cell run says so.
    from_cell: bool = False
    _callbacks: list[Callback] = field(default_factory=list, repr=False)

    @property
    def done(self) -> bool:
        return self.status != "pending"

    def __repr__(self) -> str:
        return f"<Delivery of {self.request.get('action', '?')}: {self.status}. {self.message}>"

    def _repr_html_(self) -> str:
        # Shown when a cell ends in pw.insert(...): what happened, not the request's internals.
        return (
            f'<span class="pw-delivery">paper_widgets {html.escape(str(self.request.get("action", "?")))}: '
            f"<b>{html.escape(self.status)}</b>. {html.escape(self.message)}</span>"
        )

    def add_done_callback(self, callback: Callback) -> None:
        """Call ``callback(self)`` once the outcome is known (at once if it already is)."""
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def _resolve(self, status: Status, message: str, reply: dict[str, Any] | None = None) -> None:
        if self.done:
            return
        self.status, self.message, self.reply = status, message, reply
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)


class _UntilNextEvent:
    """Deliveries held until IPython's next ``event``; the hook is registered only while any wait."""

    def __init__(self, shell: Callable[[], Any], event: str, handle: Callable[[list[Delivery]], None]) -> None:
        self._shell, self._event, self._handle = shell, event, handle
        self._waiting: list[Delivery] = []
        self._lock = threading.Lock()

    def add(self, delivery: Delivery) -> None:
        with self._lock:
            first = not self._waiting
            self._waiting.append(delivery)
        if first:
            self._shell().events.register(self._event, self._fire)

    def _fire(self, *_info: Any) -> None:
        self._shell().events.unregister(self._event, self._fire)
        with self._lock:
            waiting, self._waiting = self._waiting, []
        self._handle(waiting)


def _open_kernel_comm(request: dict[str, Any]) -> CommLike:
    from comm import create_comm

    return create_comm(target_name=COMM_TARGET, data=request)


def _start_timer(seconds: float, function: Callable[[], None]) -> None:
    timer = threading.Timer(seconds, function)
    timer.daemon = True
    timer.start()


class Bridge:
    """Sends requests to the plugin and remembers whether anyone is listening.

    ``open_comm``, ``shell`` and ``schedule`` are injectable so unit tests can use
    a recording fake comm and fire timeouts by hand.
    """

    def __init__(
        self,
        *,
        open_comm: Callable[[dict[str, Any]], CommLike] = _open_kernel_comm,
        shell: Any = None,
        schedule: Callable[[float, Callable[[], None]], None] = _start_timer,
        timeout: float = 3.0,
    ) -> None:
        self._open_comm = open_comm
        self._shell = shell
        self._schedule = schedule
        self.timeout = timeout
        #: True once the plugin answered, False once it evidently is not there, None until then.
        self.receiver: bool | None = None
        # Replies to a request sent from a running cell arrive only after the cell ends: count from then.
        self._after_cell = _UntilNextEvent(lambda: self.shell, "post_run_cell", self._start_timeouts)
        # Inserts lost after their cell ended are shown, ready to copy, when the user runs the next cell.
        self._undelivered = _UntilNextEvent(lambda: self.shell, "pre_run_cell", self._report_undelivered)

    # -- sending ---------------------------------------------------------------------------------
    def send(self, action: str, *, on_done: Callback | None = None, **fields: Any) -> Delivery:
        """Open a comm carrying one request; the returned Delivery resolves when the plugin answers."""
        delivery = Delivery(make_request(action, **fields), from_cell=self.in_cell_run())
        if on_done is not None:
            delivery.add_done_callback(on_done)
        comm = self._open_comm(delivery.request)
        comm.on_msg(lambda msg: self._on_reply(delivery, msg))
        comm.on_close(lambda _msg: self._on_close(delivery))
        self._arm_timeout(delivery)
        return delivery

    def in_cell_run(self) -> bool:
        """Whether the kernel is executing a cell now (as opposed to handling a widget event)."""
        kernel = getattr(self.shell, "kernel", None)
        if kernel is None:
            return False
        header = kernel.get_parent().get("header", {})
        return bool(header.get("msg_type") == "execute_request")

    @property
    def shell(self) -> Any:
        return current_shell() if self._shell is None else self._shell

    # -- answers ---------------------------------------------------------------------------------
    def _on_reply(self, delivery: Delivery, msg: object) -> None:
        content = msg.get("content") if isinstance(msg, dict) else None
        data = content.get("data") if isinstance(content, dict) else None
        if (
            not isinstance(data, dict)
            or data.get("request_id") != delivery.request["request_id"]
            or data.get("version") != PROTOCOL_VERSION
        ):
            return  # not this request's answer (malformed, another request, another protocol): ignored
        self.receiver = True
        status: Status = "ok" if data.get("ok") is True else "failed"
        delivery._resolve(status, str(data.get("message", "")), data)

    def _on_close(self, delivery: Delivery) -> None:
        # JupyterLab closes comms for targets nobody registered: the plugin is not there.
        if not delivery.done:
            self.receiver = False
            self._undeliverable(delivery, NO_RECEIVER)

    def _expire(self, delivery: Delivery) -> None:
        if delivery.done:
            return
        if self.receiver:
            self._undeliverable(
                delivery, f"JupyterLab did not answer within {self.timeout:g} s; is the notebook still open?"
            )
        else:
            self.receiver = False
            self._undeliverable(delivery, NO_RECEIVER)

    def _undeliverable(self, delivery: Delivery, reason: str) -> None:
        delivery._resolve("no_receiver", reason)
        if delivery.request["action"] != "insert" or not delivery.from_cell:
            return  # a widget shows its own undelivered text
        # The asking cell has ended (under Run All the answer queues behind every later cell).
        self._undelivered.add(delivery)

    @staticmethod
    def _report_undelivered(lost: list[Delivery]) -> None:
        texts = "\n\n".join(delivery.request["text"] for delivery in lost)
        print(
            f"paper_widgets: {len(lost)} earlier insert(s) did not arrive. {lost[-1].message}\nHere they are to copy:\n\n{texts}\n"
        )

    def _arm_timeout(self, delivery: Delivery) -> None:
        if delivery.from_cell:
            self._after_cell.add(delivery)
        else:
            self._schedule(self.timeout, lambda: self._expire(delivery))

    def _start_timeouts(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            self._schedule(self.timeout, functools.partial(self._expire, delivery))

    # -- fallback --------------------------------------------------------------------------------
    def fall_back(self, text: str, cell_type: str, on_done: Callback | None = None) -> Delivery:
        """Without a receiver: put the text in the next cell when a cell is running, and show it to copy."""
        delivery = Delivery(make_request("insert", text=text, cell_type=cell_type, where="below"))
        if on_done is not None:
            delivery.add_done_callback(on_done)
        if self.in_cell_run():
            next_input = f"%%markdown\n{text}" if cell_type == "markdown" else text
            self.shell.set_next_input(next_input, replace=False)
            print(f"paper_widgets: {NO_RECEIVER}\nThe text went into a new cell below; here it is to copy:\n\n{text}")
            delivery._resolve("no_receiver", f"{NO_RECEIVER} The text was put in the next cell instead.")
        else:
            delivery._resolve("no_receiver", f"{NO_RECEIVER} Copy the text instead.")
        return delivery


_SHELL_ATTRIBUTE = "paper_widgets_bridge"


def current_shell() -> Any:
    """This process's IPython shell, or None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return None
    return get_ipython()


def get_bridge() -> Bridge:
    """The kernel's bridge, kept on its IPython shell (it belongs to the kernel, not to this module).

    The first call in a kernel also says hello, so the plugin's presence is known early.  Outside
    IPython there is no notebook to reach: each call gets a fresh bridge that falls back to printing.
    """
    shell = current_shell()
    if shell is None:
        return Bridge()
    kept: Bridge | None = getattr(shell, _SHELL_ATTRIBUTE, None)
    if kept is not None:
        return kept
    bridge = Bridge()
    setattr(shell, _SHELL_ATTRIBUTE, bridge)
    if getattr(shell, "kernel", None) is not None:
        bridge.send("hello")
    return bridge


def insert(
    text: str,
    *,
    cell_type: str = "markdown",
    where: str = "below",
    after: str | None = None,
    cell_id: str | None = None,
    on_done: Callback | None = None,
) -> Delivery:
    """Insert ``text`` into the notebook whose kernel runs this code.

    ``where="below"`` makes a new cell below the cell that called (or below the
    clicked widget's cell); ``where="cursor"`` types it at the cursor of the
    markdown cell being edited (a new cell below when none is). Markdown cells
    are shown rendered. Returns a :class:`Delivery`; ``on_done`` gets it when
    the plugin has answered. Without the plugin the text goes to
    ``set_next_input`` (from a running cell) and is printed ready to copy.
    ``cell_id`` names the new cell; ``after`` is the id of a cell the new one goes right after
    while that cell exists. Naming each cell and passing it as the next ``after`` keeps successive
    inserts in the order they were made, even those sent before any answer came back.
    """
    bridge = get_bridge()
    if bridge.receiver is False:
        return bridge.fall_back(text, cell_type, on_done)
    ids = {name: value for name, value in (("after", after), ("cell_id", cell_id)) if value is not None}
    return bridge.send("insert", text=text, cell_type=cell_type, where=where, on_done=on_done, **ids)


def upsert_cell(text: str, *, role: str, cell_type: str = "markdown", on_done: Callback | None = None) -> Delivery:
    """Replace the notebook's one cell tagged ``role`` (e.g. ``"references"``), or append it at the end."""
    return get_bridge().send("upsert", text=text, role=role, cell_type=cell_type, on_done=on_done)


def read_cells(on_done: Callback) -> Delivery:
    """Ask for the notebook's cells; ``on_done`` finds them in ``delivery.reply["cells"]``."""
    return get_bridge().send("read", on_done=on_done)
