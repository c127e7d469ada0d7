"""The websocket server's options: the guide's, plus limits with safe defaults.

``Skick(...)`` passes ``host``, ``port``, ``ssl`` and ``websocket_options`` and every
keyword it does not know itself; :func:`parse_options` checks them all and turns
unknown names and bad values into a :class:`ConfigurationError`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import ssl as ssl_lib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from skick_core.exceptions import ConfigurationError

__all__ = ["WsOptions", "make_ssl_context", "parse_options"]

Origins = Sequence[str | re.Pattern[str] | None]


@dataclass(frozen=True)
class WsOptions:
    """Everything the server enforces. Sizes are bytes, times seconds, rates per second."""

    host: str | None = "localhost"
    """Interface to listen on (``websocket_host``)."""
    port: int = 8000
    """TCP port (``websocket_port``); 0 picks a free one, see ``WebsocketServer.port``."""
    ssl: str | tuple[str, str] | ssl_lib.SSLContext | None = None
    """A PEM file (certificate and key), ``(pem, password)`` or an ``SSLContext``."""
    websocket_options: Mapping[str, Any] = field(default_factory=dict)
    """Passed to ``websockets.asyncio.server.serve`` as is; they win over the above."""
    max_frame_size: int = 64 * 1024
    """Largest inbound message; a bigger one closes the connection with 1009."""
    rate_limit: float | None = 100.0
    """Sustained inbound frames per second per connection (token bucket); None: off."""
    rate_burst: int = 200
    """Bucket size: frames a client may send at once before the rate applies."""
    handshake_timeout: float = 10.0
    """Time allowed between the websocket upgrade and the ``session_type`` frame."""
    max_connections: int = 10_000
    """Open connections; more get HTTP 503 (or a 1013 close in a race)."""
    allowed_origins: Origins | str | None = None
    """None: only same-origin browsers and clients without an ``Origin`` header;
    ``"*"``: any origin; or a list of exact origins / compiled patterns (``None`` in
    the list admits clients that send no ``Origin``)."""
    max_pending_frames: int = 1024
    """Outbound frames queued for a client that does not read; beyond: close 1008."""
    compression: bool = False
    """Per-message deflate (costs ~34 KB per connection and ~20 % throughput)."""
    query_schemas: Mapping[str, Any] = field(default_factory=dict)
    """Extra SocketQuery subschemas available to every session (``schema`` specs)."""
    static_dir: str | os.PathLike[str] | None = None
    """A directory of files served over plain HTTP on the same port (``/`` is its
    ``index.html``); ``/skick.js`` and ``/skick.d.ts`` are served in any case."""

    def __post_init__(self) -> None:
        positive_ints = ("max_frame_size", "rate_burst", "max_connections", "max_pending_frames")
        for name in positive_ints:
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ConfigurationError(f"{name} must be a positive int, got {value!r}")
        if not _positive(self.handshake_timeout):
            raise ConfigurationError(
                f"handshake_timeout must be a positive number, got {self.handshake_timeout!r}"
            )
        if self.rate_limit is not None and not _positive(self.rate_limit):
            raise ConfigurationError(
                f"rate_limit must be a positive number or None, got {self.rate_limit!r}"
            )
        if type(self.port) is not int or not 0 <= self.port <= 65535:
            raise ConfigurationError(
                f"websocket_port must be an int in 0..65535, got {self.port!r}"
            )
        if self.host is not None and not isinstance(self.host, str):
            raise ConfigurationError(f"websocket_host must be a string, got {self.host!r}")
        if not isinstance(self.websocket_options, Mapping):
            raise ConfigurationError("websocket_options must be a mapping")
        if not isinstance(self.query_schemas, Mapping):
            raise ConfigurationError("query_schemas must be a mapping of name to schema")
        if not isinstance(self.compression, bool):
            raise ConfigurationError(f"compression must be a bool, got {self.compression!r}")
        origins = self.allowed_origins
        if origins is not None and origins != "*":
            if isinstance(origins, str) or not isinstance(origins, Sequence):
                raise ConfigurationError(
                    'allowed_origins must be None, "*" or a list of origins/patterns'
                )
            for item in origins:
                if item is not None and not isinstance(item, str | re.Pattern):
                    raise ConfigurationError(f"allowed_origins: {item!r} is not a str or pattern")
        static_dir = self.static_dir
        if static_dir is not None:
            if not isinstance(static_dir, str | os.PathLike):
                raise ConfigurationError(f"static_dir must be a path, got {static_dir!r}")
            if not os.path.isdir(static_dir):
                raise ConfigurationError(f"static_dir {os.fspath(static_dir)!r} is not a directory")


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


_FIELDS = frozenset(f.name for f in dataclasses.fields(WsOptions))


def parse_options(options: Mapping[str, Any]) -> WsOptions:
    """Validate the options ``Skick`` forwarded; unknown names are an error."""
    unknown = set(options) - _FIELDS
    if unknown:
        raise ConfigurationError(
            f"unknown websocket server options: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(_FIELDS))})"
        )
    return WsOptions(**options)


def make_ssl_context(
    spec: str | tuple[str, str] | ssl_lib.SSLContext | None,
) -> ssl_lib.SSLContext | None:
    """The guide's three forms of ``ssl``: PEM path, ``(pem, password)``, a context."""
    if spec is None or isinstance(spec, ssl_lib.SSLContext):
        return spec
    if isinstance(spec, str):
        pem, password = spec, None
    elif isinstance(spec, tuple) and len(spec) == 2 and all(isinstance(s, str) for s in spec):
        pem, password = spec
    else:
        raise ConfigurationError("ssl must be a PEM path, a (pem, password) tuple or an SSLContext")
    context = ssl_lib.create_default_context(ssl_lib.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(pem, password=password)
    except (OSError, ssl_lib.SSLError) as exc:
        raise ConfigurationError(f"cannot load the TLS certificate {pem!r}: {exc}") from exc
    return context
