"""Helpers of the websocket tests: run a ``Skick`` on a free port, drive real clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from skick import Skick
from skick_core import Shard
from skick_ws import WebsocketServer

WAIT = 5.0
"""Upper bound of every wait: a broken server fails a test, it never hangs it."""

Message = dict[str, Any]


def make_skick(**options: Any) -> Skick:
    """A ``Skick`` listening on 127.0.0.1 on a free port (override with options)."""
    options.setdefault("websocket_host", "127.0.0.1")
    options.setdefault("websocket_port", 0)
    return Skick(**options)


class Running:
    """A ``Skick`` whose ``run()`` is a task of the test."""

    def __init__(self, skick: Skick, task: asyncio.Task[None]) -> None:
        self.skick = skick
        self.task = task

    @property
    def server(self) -> WebsocketServer:
        server = self.skick.server
        assert isinstance(server, WebsocketServer)
        return server

    @property
    def port(self) -> int:
        port = self.server.port
        assert port is not None
        return port

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def shard(self) -> Shard:
        return self.skick.shard

    def session_actors(self) -> list[Any]:
        """Every FrontActor and BackActor alive on the shard."""
        return [a for a in self.shard.actors.values() if a is not self.shard._actor]

    async def stop(self) -> None:
        await asyncio.wait_for(self.skick.stop(), WAIT * 3)
        await asyncio.wait_for(self.task, WAIT)


@asynccontextmanager
async def running(skick: Skick) -> AsyncIterator[Running]:
    """Run *skick* until the block ends; wait until its server listens."""
    ready = asyncio.Event()
    user_on_start = skick._on_start

    async def on_start(shard: Shard) -> None:
        if user_on_start is not None:
            await user_on_start(shard)
        ready.set()

    skick._on_start = on_start
    task = asyncio.create_task(skick.run())
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait((task, waiter), timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    if not ready.is_set():
        waiter.cancel()
        if task.done():
            await task  # raises what run() raised
        task.cancel()
        raise TimeoutError("Skick did not start")
    run = Running(skick, task)
    try:
        yield run
    finally:
        if not task.done():
            await run.stop()


class Client:
    """A JSON client over a real websocket connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: Any) -> None:
        await self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    async def recv(self, timeout: float = WAIT) -> Any:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        return json.loads(raw)

    async def ask(self, message: Any) -> Any:
        await self.send(message)
        return await self.recv()

    async def error(self, message: Any) -> Message:
        """Send *message*, expect an error frame, return it."""
        reply: Message = await self.ask(message)
        assert reply.get("action") == "error", reply
        assert set(reply) >= {"action", "code", "detail"}
        return reply

    async def closed(self, timeout: float = WAIT) -> tuple[int | None, str | None]:
        """Wait for the server to close; return (code, reason), skipping other frames."""

        async def drain() -> None:
            try:
                while True:
                    await self.ws.recv()
            except ConnectionClosed:
                pass

        await asyncio.wait_for(drain(), timeout)
        await asyncio.wait_for(self.ws.wait_closed(), timeout)
        return self.ws.close_code, self.ws.close_reason

    async def close(self) -> None:
        await asyncio.wait_for(self.ws.close(), WAIT)


@asynccontextmanager
async def client(
    run: Running, session_type: str | None = None, **connect_options: Any
) -> AsyncIterator[Client]:
    """A connected client; with *session_type*, the handshake frame is already sent."""
    connect_options.setdefault("open_timeout", WAIT)
    connect_options.setdefault("compression", None)
    async with connect(run.url, **connect_options) as ws:
        c = Client(ws)
        if session_type is not None:
            await c.send({"session_type": session_type})
        yield c


async def until(predicate: Any, timeout: float = WAIT) -> None:
    """Wait (bounded) until *predicate()* is true, checking after every loop turn."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.005)
