"""Server stage, HTTP: the ``/paper-widgets/…`` REST routes over :class:`~paper_widgets.server.service.LibraryService`.

Every handler is a jupyter_server ``APIHandler`` behind ``@tornado.web.authenticated``, so the
server's token, cookie and XSRF rules apply as to its own API; bodies and answers are JSON.
Library calls run on the service's executor, never on the event loop.

While the library (re)loads (on the service's loading thread, started when the server starts and
whenever the library's files change), every route that needs it answers **503 Service
Unavailable** with a ``Retry-After`` header and the load's status as its JSON body (``state``
"loading", ``phase``, ``done``, ``total``, ``papers``), instead of holding the request for
minutes: the sidebar polls ``status`` and asks again once it says "ready".  503, not 202, because
nothing of the request was done or queued; a client that does not poll sees a failure, not a
success without results.  A load that failed answers 500 with the same body (``state`` "failed",
``error``).  Saving a note, tags or status during a reload goes to the library served before.

=======  ==========================================  ==============================================
method   route                                       body / query → answer
=======  ==========================================  ==============================================
GET      ``/paper-widgets/search``                   ``q, limit, sort, year_from, year_to,
                                                     min_upvotes, tags, status`` → ``results,
                                                     indexing`` (``{done, total}`` abstracts
                                                     indexed while titles alone rank, else null)
GET      ``/paper-widgets/papers/<key>``             ``q`` (highlights) → the paper's details
PUT      ``/paper-widgets/papers/<key>``             ``note, tags, status`` → the paper's details
POST     ``/paper-widgets/cite``                     ``keys, style`` → ``text``
POST     ``/paper-widgets/snippet``                  ``key, query, style`` → ``text``
POST     ``/paper-widgets/bibtex``                   ``keys`` → ``text``
POST     ``/paper-widgets/cited``                    ``cells`` → ``keys, papers``
POST     ``/paper-widgets/references``               ``cells, style, path, bib_name`` → ``text, keys,
                                                     bib`` (the .bib written beside ``path``)
POST     ``/paper-widgets/files``                    ``name, content`` → ``file, added, warnings``
GET/PUT  ``/paper-widgets/config``                   ``style, csl_style, library_paths``
GET      ``/paper-widgets/status``                   → ``state, phase, done, total, papers, error,
                                                     indexing`` (as in ``search``, read live)
=======  ==========================================  ==============================================
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from paper_widgets.output.bibliography import BIB_NAME
from paper_widgets.server.service import LibraryNotReady, LibraryService

__all__ = ["setup_handlers"]

_T = TypeVar("_T")
SERVICE = "paper_widgets_service"  # key of the service in the tornado application's settings
RETRY_AFTER_SECONDS = 1  # told to clients while the library loads


class _Handler(APIHandler):
    """Shared plumbing: the service, JSON in and out, library errors as 4xx answers."""

    @property
    def service(self) -> LibraryService:
        service: LibraryService = self.settings[SERVICE]
        return service

    def body(self) -> dict[str, Any]:
        try:
            data = self.get_json_body() or {}
        except Exception as error:  # jupyter_server raises a bare HTTPError for bad JSON
            raise tornado.web.HTTPError(400, "the request body is not JSON") from error
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, "the request body must be a JSON object")
        return data

    async def answer(self, call: Callable[..., _T], *args: Any, **kwargs: Any) -> None:
        """Run ``call`` off the event loop and write its result; unknown keys are 404, bad values 400."""
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.service.executor, functools.partial(call, *args, **kwargs))
        except LibraryNotReady as error:
            loading = error.status.state == "loading"
            self.set_status(503 if loading else 500)
            if loading:
                self.set_header("Retry-After", str(RETRY_AFTER_SECONDS))
            self.write_json(error.status.as_json())
            return
        except KeyError as error:
            raise tornado.web.HTTPError(404, reason=str(error.args[0] if error.args else error)) from error
        except (ValueError, TypeError) as error:
            raise tornado.web.HTTPError(400, reason=str(error)) from error
        self.write_json(result)

    def write_json(self, answer: object) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(answer))


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise tornado.web.HTTPError(400, reason=f"{name} must be a list of strings")
    return value


def _cells(body: dict[str, Any]) -> list[dict[str, Any]]:
    cells = body.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise tornado.web.HTTPError(400, reason="cells must be a list of notebook cells")
    return cells


class SearchHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        def number(name: str) -> int | None:
            text = self.get_query_argument(name, "")
            try:
                return int(text) if text else None
            except ValueError as error:
                raise tornado.web.HTTPError(400, reason=f"{name} must be a whole number") from error

        filters: dict[str, Any] = {"sort": self.get_query_argument("sort", "relevance")}
        year_from, year_to = number("year_from"), number("year_to")
        if year_from is not None or year_to is not None:
            filters["year"] = (year_from, year_to)
        if (min_upvotes := number("min_upvotes")) is not None:
            filters["min_upvotes"] = min_upvotes
        if tags := [t for t in self.get_query_argument("tags", "").split(",") if t.strip()]:
            filters["tags"] = tags
        if status := self.get_query_argument("status", ""):
            filters["status"] = status
        query = self.get_query_argument("q", "")
        await self.answer(self.service.search, query, number("limit") or 20, **filters)


class PaperHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, key: str) -> None:
        await self.answer(self.service.paper, key, self.get_query_argument("q", ""))

    @tornado.web.authenticated
    async def put(self, key: str) -> None:
        body = self.body()
        note, status = body.get("note"), body.get("status")
        if note is not None and not isinstance(note, str):
            raise tornado.web.HTTPError(400, reason="note must be text")
        if status is not None and not isinstance(status, str):
            raise tornado.web.HTTPError(400, reason="status must be text")
        tags = _strings(body["tags"], "tags") if body.get("tags") is not None else None
        await self.answer(self.service.annotate, key, note=note, tags=tags, status=status)


class CiteHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        await self.answer(self.service.cite, _strings(body.get("keys"), "keys"), body.get("style"))


class SnippetHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        key = body.get("key")
        if not isinstance(key, str):
            raise tornado.web.HTTPError(400, reason="key must be text")
        await self.answer(self.service.snippet, key, body.get("query"), body.get("style"))


class BibtexHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        await self.answer(self.service.bibtex, _strings(self.body().get("keys"), "keys"))


class CitedHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        await self.answer(self.service.cited, _cells(self.body()))


class ReferencesHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        path, bib_name = body.get("path"), body.get("bib_name", BIB_NAME)
        if path is not None and not isinstance(path, str):
            raise tornado.web.HTTPError(400, reason="path must be text")
        if not isinstance(bib_name, str):
            raise tornado.web.HTTPError(400, reason="bib_name must be text")
        # The notebook's folder is found under the root the server serves files from, and nowhere else.
        root = self.settings["server_root_dir"]
        await self.answer(
            self.service.references, _cells(body), body.get("style"), root=root, path=path, bib_name=bib_name
        )


class FilesHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        name, content = body.get("name"), body.get("content")
        if not isinstance(name, str) or not isinstance(content, str):
            raise tornado.web.HTTPError(400, reason="name and content must be text")
        await self.answer(self.service.add_file, name, content)


class ConfigHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer(self.service.configure)

    @tornado.web.authenticated
    async def put(self) -> None:
        body = self.body()
        paths = _strings(body["library_paths"], "library_paths") if body.get("library_paths") is not None else None
        style, csl_style = body.get("style"), body.get("csl_style")
        if not all(value is None or isinstance(value, str) for value in (style, csl_style)):
            raise tornado.web.HTTPError(400, reason="style and csl_style must be text")
        await self.answer(self.service.configure, style, paths, csl_style)


class StatusHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        # Straight from the event loop: reading the status never waits for the executor or the load.
        self.write_json(self.service.status().as_json())


def setup_handlers(web_app: Any, service: LibraryService | None = None) -> None:
    """Add the routes under ``<base_url>paper-widgets/`` with one shared :class:`LibraryService`.

    The library starts loading now, in the background, so it is ready (or shows its progress)
    by the time the sidebar first asks.
    """
    service = service or LibraryService()
    web_app.settings[SERVICE] = service
    service.executor.submit(service.start_loading)
    base = url_path_join(web_app.settings["base_url"], "paper-widgets")
    routes: list[tuple[str, type[_Handler]]] = [
        ("search", SearchHandler),
        ("papers/(?P<key>[^/]+)", PaperHandler),
        ("cite", CiteHandler),
        ("snippet", SnippetHandler),
        ("bibtex", BibtexHandler),
        ("cited", CitedHandler),
        ("references", ReferencesHandler),
        ("files", FilesHandler),
        ("config", ConfigHandler),
        ("status", StatusHandler),
    ]
    web_app.add_handlers(".*$", [(url_path_join(base, route), handler) for route, handler in routes])
