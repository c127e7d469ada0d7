"""Settings of the AMQP transport, from the URL query and keyword options.

Every option can be given in the URL (``amqp://host/?namespace=prod&loss_window=5``),
which is the only way through ``Skick(message_system=…)``, or as a keyword of
:class:`~skick_amqp.AmqpTransport`; keywords win. Query parameters that are not
Skick options (``heartbeat``, ``name``, TLS options, …) pass through to aio-pika.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from skick_core.exceptions import ConfigurationError

__all__ = ["AmqpSettings"]

_NAMESPACE = re.compile(r"[A-Za-z0-9_.\-]{1,100}")


@dataclass(frozen=True)
class AmqpSettings:
    """Every tunable of the transport; times are in seconds."""

    namespace: str = "skick"
    """Prefix of the exchanges and queues: shards with the same namespace form a cluster."""
    beat_interval: float = 1.0
    """How often a shard tells the cluster it is alive."""
    loss_window: float = 3.0
    """A peer unheard for this long is declared lost (checked every ``check_interval``)."""
    batch_size: int = 1000
    """Most shard messages carried by one AMQP message."""
    batch_bytes: int = 256 * 1024
    """Most body bytes of one AMQP message (a larger single message travels alone)."""
    linger: float = 0.0
    """Extra wait before a flush, to gather bigger batches (0: flush on the next loop turn)."""
    prefetch: int = 64
    """AMQP messages (batches) the broker may push before they are acknowledged."""
    connect_timeout: float = 5.0
    """Bound on reaching the broker and declaring the topology at start."""
    publish_timeout: float = 5.0
    """Bound on one publish; a batch that does not go out in time becomes dead letters."""
    reconnect_interval: float = 1.0
    """Pause between reconnection attempts after the broker went away."""
    close_timeout: float = 5.0
    """Bound on flushing, saying goodbye and disconnecting at close."""

    @property
    def check_interval(self) -> float:
        """How often peers are checked for silence."""
        return min(self.beat_interval, self.loss_window / 4, 0.25)

    @property
    def direct_exchange(self) -> str:
        """The exchange for shard-addressed messages (routing key: the shard id)."""
        return f"{self.namespace}.direct"

    @property
    def members_exchange(self) -> str:
        """The fanout exchange for membership (heartbeats, announcements, departures)."""
        return f"{self.namespace}.members"

    def queue_name(self, shard_id: str) -> str:
        """The data queue of one shard (routing key: the shard id)."""
        return f"{self.namespace}.shard.{shard_id}"

    def members_queue_name(self, shard_id: str) -> str:
        """The membership queue of one shard (fanout, and routing key ``<shard id>:m``)."""
        return f"{self.namespace}.members.{shard_id}"

    def __post_init__(self) -> None:
        if not _NAMESPACE.fullmatch(self.namespace):
            raise ConfigurationError(
                f"namespace must be 1-100 of [A-Za-z0-9_.-], not {self.namespace!r}"
            )
        for name in (
            "beat_interval",
            "loss_window",
            "connect_timeout",
            "publish_timeout",
            "reconnect_interval",
            "close_timeout",
        ):
            if not getattr(self, name) > 0:
                raise ConfigurationError(f"{name} must be positive")
        if self.linger < 0:
            raise ConfigurationError("linger must not be negative")
        if self.loss_window <= self.beat_interval:
            raise ConfigurationError("loss_window must be longer than beat_interval")
        for name in ("batch_size", "batch_bytes", "prefetch"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be at least 1")

    @classmethod
    def parse(cls, url: str, options: Mapping[str, Any]) -> tuple[AmqpSettings, str]:
        """The settings from *url*'s query and *options*, and the URL to give aio-pika."""
        parts = urlsplit(url)
        if parts.scheme not in ("amqp", "amqps"):
            raise ConfigurationError(f"not an AMQP URL: {url!r}")
        known = {f.name: f for f in fields(cls)}
        unknown = set(options) - set(known)
        if unknown:
            raise ConfigurationError(
                f"unknown AMQP transport options: {', '.join(sorted(unknown))}"
            )
        values: dict[str, Any] = {}
        passthrough: list[tuple[str, str]] = []
        for key, text in parse_qsl(parts.query, keep_blank_values=True):
            if key in known:
                values[key] = _convert(key, text, _CONVERTERS[key])
            else:
                passthrough.append((key, text))
        values.update(options)
        broker_url = urlunsplit(parts._replace(query=urlencode(passthrough)))
        return cls(**values), broker_url


def _convert(key: str, text: str, kind: Callable[[str], Any]) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise ConfigurationError(f"bad value for {key!r} in the AMQP URL: {text!r}") from None


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "namespace": str,
    "beat_interval": float,
    "loss_window": float,
    "batch_size": int,
    "batch_bytes": int,
    "linger": float,
    "prefetch": int,
    "connect_timeout": float,
    "publish_timeout": float,
    "reconnect_interval": float,
    "close_timeout": float,
}
