"""Recording fakes for the comm bridge: a fake comm the "plugin" answers by hand, a fake IPython shell,
and a Harness wiring them into a :class:`~paper_widgets.kernel.bridge.Bridge` (shared by the bridge and browser tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paper_widgets.kernel.bridge import Bridge
from paper_widgets.kernel.protocol import PROTOCOL_VERSION

__all__ = ["FakeEvents", "FakeKernel", "FakeShell", "Harness", "RecordingComm"]


class RecordingComm:
    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request
        self.msg_handlers: list[Callable[[dict[str, Any]], None]] = []
        self.close_handlers: list[Callable[[dict[str, Any]], None]] = []

    def on_msg(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self.msg_handlers.append(callback)

    def on_close(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self.close_handlers.append(callback)

    def reply(self, **data: Any) -> None:
        """What the plugin does: one message, then close."""
        message = {"content": {"data": {"version": PROTOCOL_VERSION, "request_id": self.request["request_id"], **data}}}
        for handler in self.msg_handlers:
            handler(message)
        self.close()

    def close(self) -> None:
        for handler in self.close_handlers:
            handler({})


class FakeEvents:
    def __init__(self) -> None:
        self.callbacks: dict[str, list[Callable[..., None]]] = {}

    def register(self, name: str, callback: Callable[..., None]) -> None:
        self.callbacks.setdefault(name, []).append(callback)

    def unregister(self, name: str, callback: Callable[..., None]) -> None:
        self.callbacks[name].remove(callback)

    def trigger(self, name: str) -> None:
        for callback in list(self.callbacks.get(name, [])):
            callback(None)


class FakeKernel:
    def __init__(self) -> None:
        self.parent_msg_type = "execute_request"

    def get_parent(self) -> dict[str, Any]:
        return {"header": {"msg_type": self.parent_msg_type}}


class FakeShell:
    def __init__(self) -> None:
        self.kernel = FakeKernel()
        self.events = FakeEvents()
        self.next_inputs: list[tuple[str, bool]] = []

    def set_next_input(self, text: str, replace: bool = False) -> None:
        self.next_inputs.append((text, replace))


class Harness:
    def __init__(self) -> None:
        self.comms: list[RecordingComm] = []
        self.timers: list[tuple[float, Callable[[], None]]] = []
        self.shell = FakeShell()
        self.bridge = Bridge(open_comm=self.open, shell=self.shell, schedule=self.schedule, timeout=2.5)

    def open(self, request: dict[str, Any]) -> RecordingComm:
        comm = RecordingComm(request)
        self.comms.append(comm)
        return comm

    def schedule(self, seconds: float, function: Callable[[], None]) -> None:
        self.timers.append((seconds, function))

    def fire_timers(self) -> None:
        timers, self.timers = self.timers, []
        for _seconds, function in timers:
            function()
