"""The ``websockets`` session server plugin (entry point ``skick.servers:websockets``)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import Awaitable, Hashable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve

from skick_core._validation import Validator, compile_schema
from skick_core.abc import SessionServer
from skick_core.exceptions import ConfigurationError

from ._http import HttpFiles, base_url, is_upgrade
from ._options import make_ssl_context, parse_options
from ._protocol import query_validators
from ._session import TRY_LATER, Session

if TYPE_CHECKING:
    from websockets.http11 import Request, Response

    from skick_core import Directory, Runtime, Shard

__all__ = ["WebsocketServer"]

logger = logging.getLogger("skick.ws")

_DEFAULT_CLOSE_TIMEOUT = 10.0
_VALIDATOR_CACHE = 4096
_CONSTANTS = (str, int, float, bool, type(None))


def _freeze(spec: Any) -> Hashable | None:
    """A hashable image of a plain schema (None when it is not plain).

    Constants carry their type, since ``1``, ``1.0`` and ``True`` are equal keys.
    """
    if type(spec) is dict:
        items = []
        for key, value in spec.items():
            frozen = _freeze(value)
            if type(key) is not str or frozen is None:
                return None
            items.append((key, frozen))
        return ("dict", tuple(items))
    if type(spec) is list:
        members = tuple(_freeze(value) for value in spec)
        return None if None in members else ("list", members)
    if isinstance(spec, type):
        return spec
    if type(spec) in _CONSTANTS:
        return (type(spec), spec)
    return None


class WebsocketServer(SessionServer):
    """Serves Skick sessions over websockets (``websockets.asyncio.server``).

    Options (all keyword arguments of ``Skick``) are described by
    :class:`~skick_ws.WsOptions`; unknown ones raise ``ConfigurationError`` here,
    before anything listens.
    """

    def __init__(self, runtime: Runtime, directory: Directory, options: Mapping[str, Any]) -> None:
        super().__init__(runtime, directory, options)
        self.settings = parse_options(options)
        self.query_table = query_validators(self.settings.query_schemas)
        self.sessions: set[Session] = set()
        self._ssl = make_ssl_context(self.settings.ssl)
        self._server: Server | None = None
        self._ids = itertools.count(1)
        self._closing = False
        self._validators: dict[Hashable, Validator] = {}
        self.http = HttpFiles(self.settings.static_dir)

    def compile(self, spec: Any) -> Validator:
        """``compile_schema(spec)``, shared by every session that declares the same one.

        A session function runs for every connection and builds its schema dicts
        again each time; equal plain schemas (dicts, types, constants) share one
        compiled validator instead of costing a compile and its memory per session.
        """
        key = _freeze(spec)
        if key is None:
            return compile_schema(spec)
        validator = self._validators.get(key)
        if validator is None:
            if len(self._validators) >= _VALIDATOR_CACHE:
                self._validators.clear()
            validator = self._validators[key] = compile_schema(spec)
        return validator

    @property
    def shard(self) -> Shard:
        """The shard the sessions' actors run on."""
        return self.runtime.shard

    @property
    def port(self) -> int | None:
        """The port listened on (useful with ``websocket_port=0``); None before start."""
        if self._server is None or not self._server.sockets:
            return None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def stop_timeout(self) -> float:
        """The runtime's bound on each ``on_stop``."""
        return self.runtime.options.stop_timeout

    @property
    def close_timeout(self) -> float:
        """The bound on one websocket closing handshake."""
        value = self.settings.websocket_options.get("close_timeout", _DEFAULT_CLOSE_TIMEOUT)
        return float(value) if value is not None else _DEFAULT_CLOSE_TIMEOUT

    async def start(self) -> None:
        """Listen; raise ``ConfigurationError`` if the address cannot be bound."""
        settings = self.settings
        kwargs: dict[str, Any] = {
            "process_request": self._process_request,
            "max_size": settings.max_frame_size,
            "compression": "deflate" if settings.compression else None,
            "close_timeout": _DEFAULT_CLOSE_TIMEOUT,
            "ssl": self._ssl,
        }
        kwargs.update(settings.websocket_options)
        try:
            self._server = await serve(self._handle, settings.host, settings.port, **kwargs)
        except OSError as exc:
            where = f"{settings.host}:{settings.port}"
            raise ConfigurationError(
                f"the websocket server cannot listen on {where}: {exc}"
            ) from exc
        page = base_url(settings.host, self.port, self._ssl is not None)
        socket_url = page.replace("http", "ws", 1).rstrip("/")
        if settings.static_dir is not None:
            logger.info("listening on %s (open %s in a browser)", socket_url, page)
        else:
            logger.info("listening on %s (browser client: %sskick.js)", socket_url, page)

    async def close(self) -> None:
        """Close every session with 1001, wait for their ``on_stop`` (bounded), stop."""
        server = self._server
        if server is None or self._closing:
            return
        self._closing = True
        server.close(close_connections=True, code=1001, reason="server shutting down")
        bound = self.close_timeout + 4 * self.stop_timeout + 1.0  # two stops per session
        try:
            async with asyncio.timeout(bound):
                await server.wait_closed()
        except TimeoutError:
            logger.warning("%d sessions outlived the shutdown bound; aborting", len(self.sessions))
            tasks = []
            for session in list(self.sessions):
                session.abort()
                if session.task is not None:
                    session.task.cancel()
                    tasks.append(session.task)
            if tasks:
                await asyncio.wait(tasks, timeout=self.stop_timeout)

    async def serve_connection(self, connection: Any) -> None:
        """Run one session over an already-open connection, without a listening socket.

        *connection* offers the part of ``ServerConnection`` a session uses (``recv``,
        ``send``, ``close``, ``paused``, ``transport``), like the in-memory
        connections of ``skick_ws.testing``. Its frames take the same path as a
        socket's: handshake, limits, decoding, validation. Returns when the session
        has ended.
        """
        await self._handle(connection)

    # -------------------------------------------------------------- handlers

    def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | Awaitable[Response] | None:
        """Refuse before the upgrade: shutting down, at capacity, foreign origin.

        A plain HTTP request (no ``Upgrade: websocket``) is answered by ``_http``.
        """
        if self._closing:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "shutting down\n")
        if not is_upgrade(request):
            return self.http.respond(connection, request)
        if len(self.sessions) >= self.settings.max_connections:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "too many connections\n")
        origin = request.headers.get("Origin")
        if not self._origin_allowed(origin, request.headers.get("Host")):
            return connection.respond(HTTPStatus.FORBIDDEN, "origin not allowed\n")
        return None

    def _origin_allowed(self, origin: str | None, host: str | None) -> bool:
        allowed = self.settings.allowed_origins
        if allowed == "*":
            return True
        if allowed is None:  # same origin, or no browser at all
            if origin is None:
                return True
            netloc = urlsplit(origin).netloc
            return bool(netloc) and host is not None and netloc.lower() == host.lower()
        for item in allowed:
            if item is None:
                if origin is None:
                    return True
            elif origin is not None:
                if isinstance(item, re.Pattern):
                    if item.fullmatch(origin):
                        return True
                elif item == origin:
                    return True
        return False

    async def _handle(self, ws: ServerConnection) -> None:
        if len(self.sessions) >= self.settings.max_connections:
            await ws.close(TRY_LATER, "too many connections")
            return
        session = Session(self, ws, next(self._ids))
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
