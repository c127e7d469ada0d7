"""The service registry: an internal DNS from service names to actor addresses.

Local registrations are authoritative; remote ones are the last view each peer
announced through the transport and vanish with the peer.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ServiceRegistry"]

_MODES = ("local", "mixed", "remote")


class ServiceRegistry:
    """Providers per service name, on this shard and (as announced) on its peers."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self.local: dict[str, list[str]] = {}
        self.remote: dict[str, dict[str, list[str]]] = {}
        self._on_change = on_change

    def register(self, name: str, address: str) -> None:
        """Add *address* as a provider of *name* (idempotent)."""
        providers = self.local.setdefault(name, [])
        if address not in providers:
            providers.append(address)
            self._changed()

    def unregister(self, address: str) -> None:
        """Remove *address* from every service."""
        changed = False
        for name in [n for n, p in self.local.items() if address in p]:
            providers = self.local[name]
            providers.remove(address)
            if not providers:
                del self.local[name]
            changed = True
        if changed:
            self._changed()

    def pick(self, name: str, local: str = "mixed") -> str | None:
        """A random provider of *name*, or None; *local* chooses where to look."""
        if local not in _MODES:
            raise ValueError(f"local must be one of {_MODES}, not {local!r}")
        if local != "remote":
            providers = self.local.get(name)
            if providers:
                return random.choice(providers)
            if local == "local":
                return None
        remote = [a for services in self.remote.values() for a in services.get(name, ())]
        return random.choice(remote) if remote else None

    def set_peer(self, shard_id: str, services: Mapping[str, Any]) -> None:
        """Replace what is known of a peer's services."""
        self.remote[shard_id] = {
            str(name): [a for a in addresses if isinstance(a, str)]
            for name, addresses in services.items()
            if isinstance(addresses, list)
        }

    def drop_peer(self, shard_id: str) -> None:
        """Forget a peer's services (it left or was lost)."""
        self.remote.pop(shard_id, None)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()
