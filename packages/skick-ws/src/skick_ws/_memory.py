"""In-memory websocket connections: a session without a socket, for tests.

:func:`memory_pair` returns the two ends of one connection. The server end offers
the part of ``websockets.asyncio.server.ServerConnection`` that a
:class:`~skick_ws.Session` uses (``recv``, ``send``, ``close``, ``wait_closed``,
``paused``, ``transport``, ``close_code``/``close_reason``, ``request``,
``remote_address``); the client end is what ``skick_ws.testing`` drives, with the
``recv``/``send``/``close`` of ``websockets.asyncio.client.ClientConnection``.
``WebsocketServer.serve_connection(server_end)`` runs the session.

What websockets itself enforces is enforced here too: a client frame larger than
*max_size* closes the connection with 1009; both directions are bounded (the
client's unread frames count as the server's write buffer, so flow control and the
slow-consumer limit apply; a client ``send`` waits while *max_queue* frames are
unread by the server). Closing follows websockets: the first close wins, frames
sent before it are still delivered, then ``recv`` raises ``ConnectionClosed``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Mapping
from typing import Any

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK
from websockets.frames import Close

__all__ = ["MemoryClientConnection", "MemoryServerConnection", "memory_pair"]

_ids = itertools.count(1)

ABNORMAL = 1006
TOO_BIG = 1009
_OK_CODES = (1000, 1001)


class _Signal:
    """Wake every coroutine waiting for a change."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    async def wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def fire(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class _Channel:
    """The state both ends share."""

    def __init__(
        self, max_size: int | None, max_queue: int, limits: tuple[int, int], name: tuple[str, int]
    ) -> None:
        self.max_size = max_size
        self.max_queue = max_queue
        self.low, self.high = limits
        self.name = name
        self.to_server: deque[str | bytes] = deque()
        self.to_client: deque[tuple[str | bytes, int]] = deque()
        self.client_bytes = 0
        self.code: int | None = None
        self.reason = ""
        self.closed_by: str | None = None
        self.server_side = _Signal()  # frames for the server, or the close
        self.client_side = _Signal()  # frames for the client, or the close
        self.room = _Signal()  # the client read (server drain) or the server read (room)
        self.closed = asyncio.Event()

    def close(self, code: int, reason: str, by: str, abort: bool = False) -> None:
        if self.code is None:
            self.code, self.reason, self.closed_by = code, reason, by
            if abort:
                self.to_client.clear()
                self.client_bytes = 0
            self.closed.set()
        self.server_side.fire()
        self.client_side.fire()
        self.room.fire()

    def error(self, side: str) -> ConnectionClosed:
        """What ``recv``/``send`` raise on *side* once the connection is closed."""
        code, reason = self.code, self.reason
        if code is None or code == ABNORMAL:
            return ConnectionClosedError(None, None)
        frame = Close(code, reason)
        rcvd_then_sent = self.closed_by != side
        if code in _OK_CODES:
            return ConnectionClosedOK(frame, frame, rcvd_then_sent)
        return ConnectionClosedError(frame, frame, rcvd_then_sent)


class _Transport:
    """The transport calls a session makes: write-buffer size and limits, abort."""

    __slots__ = ("_channel",)

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._channel.low, self._channel.high

    def get_write_buffer_size(self) -> int:
        return self._channel.client_bytes

    def abort(self) -> None:
        self._channel.close(ABNORMAL, "", "server", abort=True)

    def is_closing(self) -> bool:
        return self._channel.code is not None


class _Request:
    """The upgrade request, as far as a memory connection has one."""

    __slots__ = ("headers", "path")

    def __init__(self, path: str, headers: Headers) -> None:
        self.path = path
        self.headers = headers


class _End:
    __slots__ = ("_channel",)

    _side = ""

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel

    @property
    def close_code(self) -> int | None:
        """The close code, once the connection is closed (1006: aborted)."""
        return self._channel.code

    @property
    def close_reason(self) -> str | None:
        """The close reason, once the connection is closed."""
        return self._channel.reason if self._channel.code is not None else None

    async def wait_closed(self) -> None:
        """Return once the connection is closed."""
        await self._channel.closed.wait()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (the other end acknowledges at once)."""
        self._channel.close(code, reason, self._side)


class MemoryServerConnection(_End):
    """The server's end: what a ``Session`` reads from and writes to."""

    __slots__ = ("remote_address", "request", "transport")

    _side = "server"

    def __init__(self, channel: _Channel, request: _Request) -> None:
        super().__init__(channel)
        self.transport = _Transport(channel)
        self.request = request
        self.remote_address = channel.name

    def __repr__(self) -> str:
        return f"<MemoryServerConnection {self.remote_address}>"

    @property
    def paused(self) -> bool:
        """True while the client has a full write buffer's worth of frames unread."""
        return self._channel.client_bytes >= self._channel.high

    async def recv(self) -> str | bytes:
        """The client's next frame: ``str`` for text, ``bytes`` for binary."""
        channel = self._channel
        while True:
            if channel.to_server:
                frame = channel.to_server.popleft()
                channel.room.fire()
                return frame
            if channel.code is not None:
                raise channel.error("server")
            await channel.server_side.wait()

    async def send(self, message: str | bytes, text: bool | None = None) -> None:
        """Send one frame; ``bytes`` with ``text=True`` is UTF-8 text, as in websockets."""
        channel = self._channel
        if channel.code is not None:
            raise channel.error("server")
        if isinstance(message, bytes):
            size = len(message)
            frame: str | bytes = message.decode() if text else message
        else:
            frame = message
            size = len(message.encode())
        channel.to_client.append((frame, size))
        channel.client_bytes += size
        channel.client_side.fire()
        # Like a socket: written at once, then wait for the buffer to drain.
        while channel.client_bytes > channel.high and channel.code is None:
            await channel.room.wait()


class MemoryClientConnection(_End):
    """The client's end, driven by the test client."""

    __slots__ = ("local_address",)

    _side = "client"

    def __init__(self, channel: _Channel) -> None:
        super().__init__(channel)
        self.local_address = channel.name

    def __repr__(self) -> str:
        return f"<MemoryClientConnection {self.local_address}>"

    async def recv(self) -> str | bytes:
        """The server's next frame; ``ConnectionClosed`` once closed and drained."""
        channel = self._channel
        while True:
            if channel.to_client:
                frame, size = channel.to_client.popleft()
                channel.client_bytes -= size
                if channel.client_bytes <= channel.low:
                    channel.room.fire()
                return frame
            if channel.code is not None:
                raise channel.error("client")
            await channel.client_side.wait()

    async def send(self, message: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) frame."""
        channel = self._channel
        if channel.code is not None:
            raise channel.error("client")
        size = len(message.encode()) if isinstance(message, str) else len(message)
        if channel.max_size is not None and size > channel.max_size:
            # websockets fails the connection on the server side, as here.
            detail = f"frame with {size} bytes exceeds limit of {channel.max_size} bytes"
            channel.close(TOO_BIG, detail, "server")
            return
        while len(channel.to_server) >= channel.max_queue and channel.code is None:
            await channel.room.wait()
        if channel.code is not None:
            raise channel.error("client")
        channel.to_server.append(message)
        channel.server_side.fire()


def memory_pair(
    *,
    max_size: int | None = 64 * 1024,
    max_queue: int = 64,
    write_limit: int | tuple[int, int] = 32 * 1024,
    headers: Mapping[str, str] | None = None,
    path: str = "/",
) -> tuple[MemoryServerConnection, MemoryClientConnection]:
    """The server end and the client end of one in-memory connection.

    *max_size* bounds a client frame (None: no limit), *max_queue* the client frames
    the server has not read yet, *write_limit* (high, or (high, low)) the bytes of
    server frames the client has not read before the server's ``send`` waits.
    """
    if isinstance(write_limit, tuple):
        high, low = write_limit
    else:
        high, low = write_limit, write_limit // 4
    if max_queue < 1:
        raise ValueError("max_queue must be at least 1")
    channel = _Channel(max_size, max_queue, (low, high), ("memory", next(_ids)))
    request = _Request(path, Headers(dict(headers or {})))
    return MemoryServerConnection(channel, request), MemoryClientConnection(channel)


def connection_limits(websocket_options: Mapping[str, Any], max_frame_size: int) -> dict[str, Any]:
    """``memory_pair`` keywords equivalent to a server's settings."""
    max_size = websocket_options.get("max_size", max_frame_size)
    queue = websocket_options.get("max_queue", 16)
    if isinstance(queue, tuple):
        queue = queue[0]
    write_limit = websocket_options.get("write_limit", 32 * 1024)
    return {
        "max_size": max_size,
        "max_queue": max(int(queue or 0), 64),
        "write_limit": write_limit,
    }
