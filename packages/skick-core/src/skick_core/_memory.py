"""The built-in in-memory transport and hash backend.

``memory://`` (the default) is private to one runtime: two ``Skick`` objects in a
process share nothing. ``memory://<name>`` joins an in-process cluster of that name,
so several shards in one process can talk as if over a broker — messages still
cross as JSON. That is how the cluster logic is tested without RabbitMQ.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .abc import HashBackend, HashTable, HashWrite, PeerInfo, Transport, TransportHost
from .exceptions import ConfigurationError

__all__ = ["MemoryHashBackend", "MemoryTransport"]


class _Hub:
    """The members of one in-process cluster."""

    def __init__(self) -> None:
        self.members: dict[str, MemoryTransport] = {}


class _Store:
    """The tables of one in-memory hash namespace."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, str]] = {}


_hubs: weakref.WeakValueDictionary[str, _Hub] = weakref.WeakValueDictionary()
_stores: weakref.WeakValueDictionary[str, _Store] = weakref.WeakValueDictionary()


def _namespace(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "memory":
        raise ConfigurationError(f"not a memory URL: {url!r}")
    return (parts.netloc + parts.path).strip("/")


class MemoryTransport(Transport):
    """Messages between shards of one process, as JSON, in order per pair."""

    schemes: ClassVar[tuple[str, ...]] = ("memory",)

    def __init__(self, url: str = "memory://", **options: Any) -> None:
        super().__init__(url, **options)
        name = _namespace(url)
        hub = _hubs.get(name) if name else None
        if hub is None:
            hub = _Hub()
            if name:
                _hubs[name] = hub
        self._hub = hub
        self._host: TransportHost | None = None
        self._info: PeerInfo = {}

    async def start(self, host: TransportHost) -> None:
        self._host = host
        self._info = host.local_info()
        for peer in list(self._hub.members.values()):
            if peer._host is not None:
                peer._host.peer_up(host.shard_id, self._info)
                host.peer_up(peer._host.shard_id, peer._info)
        self._hub.members[host.shard_id] = self

    async def close(self) -> None:
        host, self._host = self._host, None
        if host is None:
            return
        if self._hub.members.get(host.shard_id) is self:
            del self._hub.members[host.shard_id]
        for peer in list(self._hub.members.values()):
            if peer._host is not None:
                peer._host.peer_down(host.shard_id)

    async def send(self, address: str, message: dict[str, Any]) -> bool:
        peer = self._hub.members.get(address.partition(":")[0])
        if peer is None or peer._host is None or self._host is None:
            if self._host is not None:
                self._host.dead_letters.record("no such shard", address, message)
            return False
        crossed = json.loads(json.dumps(message))
        return await peer._host.deliver(address, crossed)

    def announce(self, info: PeerInfo) -> None:
        self._info = json.loads(json.dumps(info))
        if self._host is None:
            return
        for peer in list(self._hub.members.values()):
            if peer is not self and peer._host is not None:
                peer._host.peer_up(self._host.shard_id, self._info)

    def peers(self) -> Mapping[str, PeerInfo]:
        own = self._host.shard_id if self._host is not None else None
        return {sid: m._info for sid, m in self._hub.members.items() if sid != own}


class _MemoryTable(HashTable):
    def __init__(self, data: dict[str, str]) -> None:
        self._data = data

    async def get(self, key: str) -> str | None:
        return self._data.get(key)

    async def contains(self, key: str) -> bool:
        return key in self._data

    async def apply(self, writes: Sequence[HashWrite]) -> None:
        data = self._data
        for op, key, value in writes:
            if op == "set":
                assert value is not None
                data[key] = value
            else:
                data.pop(key, None)


class MemoryHashBackend(HashBackend):
    """Tables in this process; ``memory://<name>`` shares them between runtimes."""

    schemes: ClassVar[tuple[str, ...]] = ("memory",)

    def __init__(self, url: str = "memory://", **options: Any) -> None:
        super().__init__(url, **options)
        name = _namespace(url)
        store = _stores.get(name) if name else None
        if store is None:
            store = _Store()
            if name:
                _stores[name] = store
        self._store = store

    def table(self, name: str) -> HashTable:
        return _MemoryTable(self._store.tables.setdefault(name, {}))
