"""SessionKit: an ActorKit with the session server, in memory or on a real socket."""

from __future__ import annotations

import asyncio
import os
import ssl as ssl_lib
from collections.abc import Coroutine, Generator, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from skick_core import Directory, Runtime, RuntimeOptions
from skick_core.exceptions import SkickError
from skick_core.testing import DEFAULT_TIMEOUT, DEFAULT_WITHIN, ActorKit
from skick_core.testing._kit import OnStart

from .._memory import connection_limits, memory_pair
from .._server import WebsocketServer
from ._client import TestClient

if TYPE_CHECKING:
    from types import TracebackType

    from .._session import Session

__all__ = ["SOCKET_ENV", "Refused", "SessionKit", "socket_default"]

SOCKET_ENV = "SKICK_TEST_SOCKET"
"""Set to ``1`` to run every kit whose ``socket`` is not given over a real socket."""

RUNTIME_OPTIONS = frozenset(f.name for f in fields(RuntimeOptions)) | {
    "transport",
    "hashes",
    "shard_id",
}

SHUTDOWN_CODE = 1001
SHUTDOWN_REASON = "server shutting down"


def socket_default() -> bool:
    """Whether kits run over a real socket when not told (``SKICK_TEST_SOCKET=1``)."""
    return os.environ.get(SOCKET_ENV, "").strip().lower() in ("1", "true", "yes", "socket")


class Refused(Exception):
    """The server refused the websocket upgrade (socket mode): ``status`` is HTTP's."""

    def __init__(self, status: int, body: str = "") -> None:
        super().__init__(f"the server refused the connection: HTTP {status} {body.strip()}")
        self.status = status
        self.body = body


class _Connecting:
    """``await kit.connect(…)`` gives a client; ``async with kit.connect(…)`` closes it."""

    __slots__ = ("_client", "_open")

    def __init__(self, open_: Coroutine[Any, Any, TestClient]) -> None:
        self._open = open_
        self._client: TestClient | None = None

    def __await__(self) -> Generator[Any, None, TestClient]:
        return self._open.__await__()

    async def __aenter__(self) -> TestClient:
        self._client = await self._open
        return self._client

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.close()


class SessionKit(ActorKit):
    """An :class:`~skick_core.testing.ActorKit` that also serves sessions::

        async with SessionKit(directory) as kit:
            client = await kit.connect("hello")
            await client.expect({"greeting": "Hello, use the action 'greet' to receive a greeting"})
            await client.send({"action": "greet"})
            await client.expect({"greeting": "Hello good sir"})

    By default the sessions run over in-memory connections: no port, no network,
    but the very frames, limits and checks of a socket (the server's
    ``serve_connection``). With ``socket=True`` (or ``SKICK_TEST_SOCKET=1`` in the
    environment when *socket* is not given) the server listens on 127.0.0.1 on a
    free port and the clients are real ``websockets`` clients; the test does not
    change.

    Keyword options that are ``Runtime`` options (``strict``,
    ``conversation_timeout``, ``transport``, …) go to the runtime; the others
    (``rate_limit``, ``max_frame_size``, ``query_schemas``, …, see ``WsOptions``)
    to the server, as do *server_options*. Leaving the block closes every session
    with 1001 and waits for their ``on_stop``, as ``skick.stop()`` does.
    """

    def __init__(
        self,
        app: Directory | Runtime | None = None,
        *,
        socket: bool | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        within: float = DEFAULT_WITHIN,
        on_start: OnStart | None = None,
        server_options: Mapping[str, Any] | None = None,
        strict: bool | None = None,
        **options: Any,
    ) -> None:
        runtime_options = {k: v for k, v in options.items() if k in RUNTIME_OPTIONS}
        super().__init__(
            app, timeout=timeout, within=within, on_start=on_start, strict=strict, **runtime_options
        )
        self.socket = socket_default() if socket is None else bool(socket)
        settings = {**(server_options or {})}
        settings.update({k: v for k, v in options.items() if k not in RUNTIME_OPTIONS})
        if self.socket:
            settings.setdefault("host", "127.0.0.1")
            settings["port"] = settings.get("port") or 0
        self.server = WebsocketServer(self.runtime, self.directory, settings)
        self.clients: list[TestClient] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    def __repr__(self) -> str:
        mode = f"socket {self.url}" if self.socket and self.server.port else "memory"
        return f"<SessionKit {mode}>"

    # -------------------------------------------------------------- lifecycle

    async def _start_services(self) -> None:
        if self.socket:
            await self.server.start()

    async def _stop_services(self) -> None:
        self._closing = True
        try:
            if self.socket:
                await self.server.close()
            else:
                await self._close_memory_sessions()
        finally:
            for client in self.clients:
                await client.close()
            for task in self._tasks:
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=self.timeout)

    async def _close_memory_sessions(self) -> None:
        """What ``WebsocketServer.close`` does for a listening server: 1001, bounded."""
        server = self.server
        for session in list(server.sessions):
            session.close(SHUTDOWN_CODE, SHUTDOWN_REASON)
        handlers = [t for t in self._tasks if not t.done()]
        if not handlers:
            return
        bound = server.close_timeout + 4 * server.stop_timeout + 1.0
        _, late = await asyncio.wait(handlers, timeout=bound)
        if late:
            for session in list(server.sessions):
                session.abort()
            for task in late:
                task.cancel()
            await asyncio.wait(late, timeout=server.stop_timeout)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A task the kit owns (cancelled when it closes)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------ accessors

    @property
    def url(self) -> str:
        """The server's ``ws://127.0.0.1:port`` in socket mode (for other clients)."""
        port = self.server.port
        if not self.socket or port is None:
            raise SkickError("the kit has no listening server (socket=False, or not started)")
        host = self.server.settings.host or "127.0.0.1"
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        scheme = "wss" if self.server.settings.ssl is not None else "ws"
        return f"{scheme}://{host}:{port}"

    @property
    def sessions(self) -> list[Session]:
        """The sessions the server runs now."""
        return list(self.server.sessions)

    # ---------------------------------------------------------------- clients

    def connect(self, session_type: str | None = None, /, **handshake: Any) -> _Connecting:
        """Open a connection and ask for *session_type*, as a client would.

        ``client = await kit.connect("chat", name="ann")`` sends
        ``{"session_type": "chat", "name": "ann"}`` first; without *session_type*
        nothing is sent (test the handshake yourself). ``async with
        kit.connect(…) as client`` closes the client at the end of the block.
        """
        if session_type is None and handshake:
            raise TypeError("handshake fields need a session_type")
        return _Connecting(self._connect(session_type, handshake))

    async def _connect(self, session_type: str | None, handshake: dict[str, Any]) -> TestClient:
        client = await self.open()
        if session_type is not None:
            await client.send({"session_type": session_type, **handshake})
        return client

    async def open(
        self, *, headers: Mapping[str, str] | None = None, origin: str | None = None
    ) -> TestClient:
        """A connected client that has sent nothing yet.

        *headers* and *origin* go into the upgrade request (over a socket the
        server checks ``allowed_origins`` against *origin*; a refused upgrade raises
        :class:`Refused`).
        """
        if self._closing or not self.runtime.running:
            raise SkickError("the kit is not running: connect inside its async with block")
        if self.socket:
            connection: Any = await self._open_socket(headers, origin)
        else:
            settings = self.server.settings
            limits = connection_limits(settings.websocket_options, settings.max_frame_size)
            request_headers = dict(headers or {})
            if origin is not None:
                request_headers["Origin"] = origin
            server_end, connection = memory_pair(**limits, headers=request_headers)
            self._spawn(self.server.serve_connection(server_end))
        client = TestClient(connection, self)
        self.clients.append(client)
        return client

    async def _open_socket(self, headers: Mapping[str, str] | None, origin: str | None) -> Any:
        context = None
        if self.server.settings.ssl is not None:
            context = ssl_lib.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl_lib.CERT_NONE
        try:
            return await ws_connect(
                self.url,
                open_timeout=self.timeout,
                close_timeout=self.timeout,
                max_size=None,
                compression=None,
                origin=origin,  # type: ignore[arg-type]
                additional_headers=headers,
                ssl=context,
            )
        except InvalidStatus as exc:
            response = exc.response
            body = response.body.decode(errors="replace") if response.body else ""
            raise Refused(response.status_code, body) from None
