"""The runtime: a shard, its transport and its hashes, as one async context manager.

This is how Skick runs inside an application that already has an event loop::

    async with Runtime(directory) as runtime:
        address = await runtime.spawn("accumulator", {"initial_tally": 1})
        reply = await runtime.call(address, {"action": "add", "number": 2})

The ``Skick`` facade builds one of these and adds signals and the websocket server.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from ._actor import Message
from ._directory import Directory
from ._hash import Hash, Hashes
from ._options import RuntimeOptions
from ._shard import Shard
from .abc import HashBackend, Transport
from .exceptions import HashError, SkickError, TransportError
from .plugins import load_hash_backend, load_transport

__all__ = ["Runtime"]

logger = logging.getLogger("skick.runtime")


class Runtime:
    """Actors, routing and hashes of one shard, started and stopped together.

    *transport* and *hashes* take a URL (``memory://`` by default, ``amqp://…``,
    ``redis://…`` with the plugins installed) or a ready instance. Keyword options
    not given in *options* override :class:`RuntimeOptions` fields.
    """

    def __init__(
        self,
        directory: Directory | None = None,
        *,
        transport: str | Transport | None = None,
        hashes: str | HashBackend | None = None,
        options: RuntimeOptions | None = None,
        shard_id: str | None = None,
        **overrides: Any,
    ) -> None:
        if overrides:
            base = options or RuntimeOptions()
            fields = {f: getattr(base, f) for f in RuntimeOptions.__dataclass_fields__}
            unknown = set(overrides) - set(fields)
            if unknown:
                raise TypeError(f"unknown runtime options: {', '.join(sorted(unknown))}")
            options = RuntimeOptions(**{**fields, **overrides})
        self.directory = directory if directory is not None else Directory()
        # A lone shard needs no transport at all: same-shard traffic never uses one.
        transport_obj = (
            load_transport(transport)(transport) if isinstance(transport, str) else transport
        )
        if hashes is None or isinstance(hashes, str):
            url = hashes or "memory://"
            backend = load_hash_backend(url)(url)
        else:
            backend = hashes
        self.shard = Shard(self.directory, options, transport_obj, shard_id)
        self.hashes = Hashes(backend)
        self._state = "new"

    @property
    def options(self) -> RuntimeOptions:
        """The limits in force."""
        return self.shard.options

    @property
    def running(self) -> bool:
        """True between a successful :meth:`start` and :meth:`close`."""
        return self._state == "running"

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the hash backend, start the shard and join the cluster."""
        if self._state != "new":
            raise SkickError(f"a runtime can be started once (it is {self._state})")
        self._state = "starting"
        try:
            await _wrap(self.hashes.backend.open(), HashError, "hash backend")
            await _wrap(self.shard.start(), TransportError, "transport")
        except BaseException:
            await self.close()
            raise
        self._state = "running"

    async def close(self) -> None:
        """Stop every actor (running ``on_stop``), flush hashes, leave the cluster."""
        if self._state in ("closing", "closed"):
            return
        self._state = "closing"
        try:
            await self.shard.close()
        finally:
            await self.hashes.close(self.options.stop_timeout)
            self._state = "closed"

    # ----------------------------------------------------------------- helpers

    async def spawn(self, actor_type: str, message: Message | None = None) -> str:
        """Start an actor (monitored by the shard only) and return its address."""
        return await self.shard.spawn(actor_type, message)

    async def send(self, address: str, message: Message) -> bool:
        """Send a message from outside any actor; False when it became a dead letter."""
        return await self.shard.send(address, message)

    async def call(self, address: str, message: Message, timeout: float | None = None) -> Any:
        """Open a conversation with *address*, return its first answer, and end it."""
        if self.shard._actor is None:
            raise SkickError("the runtime is not running")
        limit = timeout if timeout is not None else self.options.conversation_timeout
        return await self.shard._actor._ask(address, message, limit)

    def hash(self, name: str) -> Hash:
        """The hash table *name* on this runtime's backend."""
        return self.hashes.get(name)


async def _wrap(operation: Any, error: type[SkickError], what: str) -> None:
    try:
        await operation
    except SkickError:
        raise
    except (OSError, ConnectionError, TimeoutError) as exc:
        raise error(f"the {what} could not start: {exc}") from exc
