"""Finding transports, hash backends and session servers through entry points.

==================  ======================  ==========================================
group               entry-point name        value
==================  ======================  ==========================================
skick.transports    URL scheme (``amqp``)   a :class:`~skick_core.abc.Transport` class
skick.hashes        URL scheme (``redis``)  a :class:`~skick_core.abc.HashBackend` class
skick.servers       ``websockets``          a :class:`~skick_core.abc.SessionServer` class
==================  ======================  ==========================================

``memory`` is built in for both transports and hashes. Nothing is imported until it
is asked for, so ``skick-core`` runs without any plugin's dependencies.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, cast
from urllib.parse import urlsplit

from ._memory import MemoryHashBackend, MemoryTransport
from .abc import HashBackend, SessionServer, Transport
from .exceptions import ConfigurationError

__all__ = [
    "available",
    "load_hash_backend",
    "load_server",
    "load_transport",
    "server_installed",
]

TRANSPORTS = "skick.transports"
HASHES = "skick.hashes"
SERVERS = "skick.servers"

_BUILTIN: dict[str, dict[str, type[Any]]] = {
    TRANSPORTS: {"memory": MemoryTransport},
    HASHES: {"memory": MemoryHashBackend},
    SERVERS: {},
}
_EXTRAS = {"amqp": "amqp", "amqps": "amqp", "redis": "redis", "rediss": "redis", "websockets": "ws"}


def available(group: str) -> list[str]:
    """Names usable in *group*: the built-ins plus every installed entry point."""
    return sorted({*_BUILTIN.get(group, {}), *(ep.name for ep in entry_points(group=group))})


def _load(group: str, name: str, base: type[Any], what: str) -> type[Any]:
    builtin = _BUILTIN.get(group, {}).get(name)
    if builtin is not None:
        return builtin
    found = [ep for ep in entry_points(group=group) if ep.name == name]
    if not found:
        extra = _EXTRAS.get(name)
        hint = f'; install it with: pip install "skick[{extra}]"' if extra else ""
        raise ConfigurationError(
            f"no {what} for {name!r} is installed (available: {', '.join(available(group))}){hint}"
        )
    try:
        loaded = found[0].load()
    except ImportError as exc:
        raise ConfigurationError(
            f"the {what} plugin {found[0].value!r} failed to import: {exc}"
        ) from exc
    if not (isinstance(loaded, type) and issubclass(loaded, base)):
        raise ConfigurationError(f"{found[0].value!r} is not a {base.__name__} subclass")
    return loaded


def _scheme(url: str) -> str:
    if not isinstance(url, str) or "://" not in url:
        raise ConfigurationError(f"expected a URL such as 'amqp://host', got {url!r}")
    return urlsplit(url).scheme


def load_transport(url: str) -> type[Transport]:
    """The transport class for *url*'s scheme."""
    return cast("type[Transport]", _load(TRANSPORTS, _scheme(url), Transport, "transport"))


def load_hash_backend(url: str) -> type[HashBackend]:
    """The hash backend class for *url*'s scheme."""
    return cast("type[HashBackend]", _load(HASHES, _scheme(url), HashBackend, "hash backend"))


def load_server(name: str = "websockets") -> type[SessionServer]:
    """The session server plugin called *name*."""
    return cast("type[SessionServer]", _load(SERVERS, name, SessionServer, "session server"))


def server_installed(name: str = "websockets") -> bool:
    """Whether a session server plugin called *name* is installed."""
    return name in available(SERVERS)
