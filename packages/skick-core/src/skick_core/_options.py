"""Tunable limits of a runtime, with safe defaults."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RuntimeOptions"]


@dataclass(frozen=True)
class RuntimeOptions:
    """Every bound the runtime enforces; all times are in seconds."""

    mailbox_size: int = 10_000
    """Messages an actor may have queued before senders wait (then dead-letter)."""
    send_timeout: float = 1.0
    """How long a ``send`` to a full mailbox waits for room."""
    conversation_timeout: float = 30.0
    """Default timeout of every conversation turn (``Call(..., timeout=)`` overrides)."""
    spawn_timeout: float = 10.0
    """How long a (remote) spawn may take before it fails."""
    stop_timeout: float = 5.0
    """Bound on each ``on_stop`` hook and on waiting for daemons to end."""
    strict: bool = False
    """Round-trip every local message through JSON, as a shard crossing would."""

    def __post_init__(self) -> None:
        for name in ("send_timeout", "conversation_timeout", "spawn_timeout", "stop_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.mailbox_size < 1:
            raise ValueError("mailbox_size must be at least 1")
