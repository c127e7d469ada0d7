"""The seams plugins implement: transports, hash backends and the session server.

Plugins are found through entry points (see :mod:`skick_core.plugins`); first-party
ones are loaded exactly like a third party's. :mod:`skick_core.testing` holds the
conformance suites every implementation should pass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from ._deadletters import DeadLetters
    from ._directory import Directory
    from ._runtime import Runtime

__all__ = [
    "HashBackend",
    "HashTable",
    "HashWrite",
    "PeerInfo",
    "SessionServer",
    "Transport",
    "TransportHost",
]

PeerInfo = Mapping[str, Any]
"""What a shard tells its peers about itself: ``{"services": {name: [address]},
"types": [actor type]}``. JSON only."""


class TransportHost(Protocol):
    """What a transport may call on the shard that started it."""

    @property
    def shard_id(self) -> str:
        """This shard's id: the part of its addresses before the first ``:``."""
        ...

    def local_info(self) -> PeerInfo:
        """The current services and actor types of this shard, to announce."""
        ...

    @property
    def dead_letters(self) -> DeadLetters:
        """Where the transport records every message it could not deliver."""
        ...

    async def deliver(self, address: str, message: dict[str, Any]) -> bool:
        """Hand a message that arrived from another shard to a local actor."""
        ...

    def peer_up(self, shard_id: str, info: PeerInfo) -> None:
        """A shard joined, or announced new services or types."""
        ...

    def peer_down(self, shard_id: str) -> None:
        """A shard left or was declared lost."""
        ...


class Transport(ABC):
    """Carries messages between shards and keeps the membership view.

    A transport never sees same-shard traffic: the shard delivers that itself.
    Messages are JSON-compatible dicts; per (sender, receiver) pair they must arrive
    in the order sent. Delivery is at most once.
    """

    schemes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.options = options

    @abstractmethod
    async def start(self, host: TransportHost) -> None:
        """Connect and join the cluster; raise a ``TransportError`` if that fails."""

    @abstractmethod
    async def close(self) -> None:
        """Announce departure and disconnect (idempotent)."""

    @abstractmethod
    async def send(self, address: str, message: dict[str, Any]) -> bool:
        """Send to an actor on another shard; False when it surely cannot arrive.

        The transport records each message it cannot deliver in
        ``host.dead_letters`` (with a reason), whether it knows at once (returning
        False) or only later (a batch the broker refused); the shard does not count
        a False again. It must not wait long: with the broker down it returns False.
        """

    def send_nowait(self, address: str, message: dict[str, Any]) -> bool | None:
        """Like :meth:`send`, for transports that never wait to accept a message.

        The shard uses it for system messages (conversation turns, sentinels) so they
        need no task of their own and keep their order with other sends. None (the
        default) means "not supported: use send()".
        """
        return None

    @abstractmethod
    def announce(self, info: PeerInfo) -> None:
        """Tell peers this shard's services or actor types changed (may batch)."""

    @abstractmethod
    def peers(self) -> Mapping[str, PeerInfo]:
        """The live peers and what each last announced."""


HashWrite = tuple[str, str, str | None]
"""``("set", key, json_text)`` or ``("delete", key, None)``."""


class HashTable(ABC):
    """One named table of a backend. Values are JSON text; the front decodes them."""

    @abstractmethod
    async def get(self, key: str) -> str | None:
        """The stored JSON text, or None when the key is missing."""

    @abstractmethod
    async def contains(self, key: str) -> bool:
        """Whether *key* is present."""

    @abstractmethod
    async def apply(self, writes: Sequence[HashWrite]) -> None:
        """Apply *writes* in order (pipelined where the backend can)."""


class HashBackend(ABC):
    """A family of named tables, e.g. a Redis server."""

    schemes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.options = options

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Connect; raise a ``HashError`` if the backend is unreachable."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections (idempotent)."""

    @abstractmethod
    def table(self, name: str) -> HashTable:
        """The table called *name* (no I/O; created on first write)."""


class SessionServer(ABC):
    """Accepts client connections and runs sessions (the ``skick.servers`` group).

    It receives the running :class:`Runtime`, the registered sessions (a
    :class:`Directory`) and the server options given to ``Skick``.
    """

    def __init__(self, runtime: Runtime, directory: Directory, options: Mapping[str, Any]) -> None:
        self.runtime = runtime
        self.directory = directory
        self.options = options

    @abstractmethod
    async def start(self) -> None:
        """Start accepting connections."""

    @abstractmethod
    async def close(self) -> None:
        """Close every session (1001), wait for their ``on_stop`` (bounded), stop."""
