"""The ``Skick`` object: one shard, its plugins, signals and a graceful shutdown."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable, Generator, Mapping
from ssl import SSLContext
from typing import Any, TypeVar

from skick_core import Directory, Hash, Runtime, RuntimeOptions, Shard
from skick_core.abc import SessionServer
from skick_core.exceptions import ConfigurationError
from skick_core.plugins import (
    load_hash_backend,
    load_server,
    load_transport,
    server_installed,
)

__all__ = ["Skick"]

logger = logging.getLogger("skick")

F = TypeVar("F", bound=Callable[..., Any])
OnStart = Callable[[Shard], Awaitable[Any]]

_WS_HINT = 'sessions need the websocket server: pip install "skick[ws]"'


class _Done:
    """An already-finished awaitable (``stop()`` before ``start()``)."""

    def __await__(self) -> Generator[None, None, None]:
        yield from ()


class Skick(Directory):
    """A Skick application: declare actors and sessions on it, then ``start()`` it.

    The options are the guide's: *on_start* (``async f(shard)``), *message_system*
    (a transport URL such as ``amqp://…``; in-memory when omitted), the websocket
    server's *websocket_host*, *websocket_port*, *websocket_server* (``False``
    disables it), *ssl*, *websocket_options*, and *dict_type* (a hash backend URL
    such as ``redis://…``). The keyword-only options tune the runtime; any other
    keyword goes to the websocket server plugin.
    """

    def __init__(
        self,
        on_start: OnStart | None = None,
        message_system: str | None = None,
        websocket_host: str = "localhost",
        websocket_port: int = 8000,
        websocket_server: Any = None,
        ssl: str | tuple[str, str] | SSLContext | None = None,
        websocket_options: Mapping[str, Any] | None = None,
        dict_type: str | None = None,
        *,
        conversation_timeout: float = RuntimeOptions.conversation_timeout,
        mailbox_size: int = RuntimeOptions.mailbox_size,
        send_timeout: float = RuntimeOptions.send_timeout,
        stop_timeout: float = RuntimeOptions.stop_timeout,
        spawn_timeout: float = RuntimeOptions.spawn_timeout,
        strict: bool = False,
        shard_id: str | None = None,
        **server_options: Any,
    ) -> None:
        super().__init__()
        self._on_start = on_start
        self._options = RuntimeOptions(
            mailbox_size=mailbox_size,
            send_timeout=send_timeout,
            conversation_timeout=conversation_timeout,
            spawn_timeout=spawn_timeout,
            stop_timeout=stop_timeout,
            strict=strict,
        )
        # Plugins are looked up now, so a wrong URL fails here and not at start().
        if message_system is not None:
            load_transport(message_system)
        if dict_type is not None:
            load_hash_backend(dict_type)
        self.message_system = message_system
        self.dict_type = dict_type
        self._shard_id = shard_id
        self._runtime: Runtime | None = None
        self._ws_installed = server_installed()
        # The guide: setting websocket_server to any value disables the server;
        # True is the one exception and demands it.
        if websocket_server is True and not self._ws_installed:
            raise ConfigurationError(f"websocket_server=True but {_WS_HINT}")
        self._serve = self._ws_installed and websocket_server in (None, True)
        if server_options and not self._ws_installed:
            raise TypeError(f"unexpected options {sorted(server_options)} ({_WS_HINT})")
        self.server_options: dict[str, Any] = {
            "host": websocket_host,
            "port": websocket_port,
            "ssl": ssl,
            "websocket_options": dict(websocket_options or {}),
            **server_options,
        }
        self.server: SessionServer | None = None
        self._stop_event: asyncio.Event | None = None
        self._done: asyncio.Future[None] | None = None

    # ------------------------------------------------------------ declarations

    def session(self, name: str) -> Callable[[F], F]:
        """Declare a websocket session (needs ``skick[ws]``)."""
        self._need_ws()
        return super().session(name)

    def subsession(self, name: str) -> Callable[[F], F]:
        """Declare a websocket subsession (needs ``skick[ws]``)."""
        self._need_ws()
        return super().subsession(name)

    def handshake(self, name: str) -> Any:
        """Declare a handshake sequence (needs ``skick[ws]``)."""
        self._need_ws()
        return super().handshake(name)

    def add_directory(self, other: Directory) -> None:
        """Adopt every declaration of *other*."""
        if other.sessions or other.subsessions or other.handshakes:
            self._need_ws()
        super().add_directory(other)

    def _need_ws(self) -> None:
        if not self._ws_installed:
            raise ConfigurationError(_WS_HINT)

    # ----------------------------------------------------------------- running

    def configure(
        self,
        *,
        host: str | None = None,
        port: int | None = None,
        message_system: str | None = None,
        dict_type: str | None = None,
    ) -> None:
        """Override options before the app starts (what ``skick run`` flags do)."""
        if host is not None:
            self.server_options["host"] = host
        if port is not None:
            self.server_options["port"] = port
        if message_system is None and dict_type is None:
            return
        if self._runtime is not None:
            raise ConfigurationError(
                "message_system and dict_type cannot change once the runtime exists "
                "(skick.hash() or skick.shard was already used)"
            )
        if message_system is not None:
            load_transport(message_system)
            self.message_system = message_system
        if dict_type is not None:
            load_hash_backend(dict_type)
            self.dict_type = dict_type

    @property
    def serves(self) -> bool:
        """Whether ``start()`` will run the websocket server."""
        return self._serve

    @property
    def runtime(self) -> Runtime:
        """The runtime behind this app, built on first use."""
        if self._runtime is None:
            self._runtime = Runtime(
                self,
                transport=self.message_system,
                hashes=self.dict_type,
                options=self._options,
                shard_id=self._shard_id,
            )
        return self._runtime

    @property
    def shard(self) -> Shard:
        """The shard actor of this instance."""
        return self.runtime.shard

    def hash(self, name: str) -> Hash:
        """The hash table *name* (in memory, or in Redis with ``dict_type``)."""
        return self.runtime.hash(name)

    def start(self) -> None:
        """Run until ``stop()`` or SIGINT/SIGTERM, then shut down gracefully.

        With uvloop installed (``pip install "skick[fast]"``) it runs on uvloop.
        """
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(self.run())

    async def run(self) -> None:
        """The body of :meth:`start`, for use inside a running event loop."""
        loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        self._done = loop.create_future()
        signals = _install_signals(loop, self.stop)
        try:
            async with self.runtime:
                try:
                    if self._serve:
                        server_cls = load_server()
                        self.server = server_cls(self.runtime, self, self.server_options)
                        await self.server.start()
                    if self._on_start is not None:
                        await self._on_start(self.runtime.shard)
                    await self._stop_event.wait()
                finally:
                    logger.info("shutting down")
                    if self.server is not None:
                        await self.server.close()
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            if not self._done.done():
                self._done.set_result(None)
            logger.info("stopped")

    def stop(self) -> Awaitable[None]:
        """Begin the shutdown (idempotent); await the result to wait for its end."""
        if self._stop_event is None or self._done is None:
            return _Done()
        self._stop_event.set()
        return asyncio.shield(self._done)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when it is installed and not disabled by ``SKICK_NO_UVLOOP``."""
    if os.environ.get("SKICK_NO_UVLOOP"):
        return None
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _install_signals(
    loop: asyncio.AbstractEventLoop, stop: Callable[[], Any]
) -> list[signal.Signals]:
    if threading.current_thread() is not threading.main_thread():
        return []
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            continue
        installed.append(sig)
    return installed
