"""Small helpers shared by the core tests: bounded waits, probes and the sentinel schema."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from schema import Const, Optional, Or, Schema

from skick_core import Actor, Directory, Message

T = TypeVar("T")

WAIT = 5.0
"""Upper bound of every wait in the tests: a broken runtime fails, it never hangs."""

SENTINEL_SCHEMA = Schema(
    {
        "action": "sentinel",
        "address": str,
        "type": Or(Const("done"), Const("cancellation"), Const("exception")),
        Optional("exception"): str,
        "tag": str,
    }
)
"""The guide's sentinel message, exactly."""


async def take(queue: asyncio.Queue[T], timeout: float = WAIT) -> T:
    """The next item of *queue*, failing the test after *timeout* seconds."""
    return await asyncio.wait_for(queue.get(), timeout)


async def until(predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    """Wait (bounded) for a condition that no event announces."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - the one place that polls, bounded
            await asyncio.sleep(0.005)


def check_sentinel(message: Message, address: str, kind: str, exception: str | None = None) -> None:
    """Assert that *message* is the guide's sentinel for *address* with *kind*."""
    SENTINEL_SCHEMA.validate(message)
    assert message["address"] == address
    assert message["type"] == kind
    assert message["tag"] == "main_task"
    if exception is None:
        assert "exception" not in message
    else:
        assert message["exception"] == exception


def add_probe(directory: Directory, inbox: asyncio.Queue[Message], name: str = "probe") -> None:
    """Declare an actor that puts every ``report`` and every sentinel it gets in *inbox*.

    ``{"action": "ping", "reply_to": address}`` is answered with ``{"action": "report",
    "pong": True}``: a round trip that proves everything queued before it was handled.
    """

    @directory.actor(name)
    def probe(inst: Actor, message: Message) -> None:
        @inst.action("report")
        async def report(msg: Message) -> None:
            await inbox.put(msg)

        @inst.action("ping")
        async def ping(msg: Message) -> None:
            await inst.send(msg["reply_to"], {"action": "report", "pong": True})

        @inst.default_sentinel
        async def sentinel(msg: Message) -> None:
            await inbox.put(msg)


def actor_of(directory_owner: Any, address: str) -> Actor:
    """The live :class:`Actor` behind *address* (a ``Runtime`` or ``Shard`` is accepted)."""
    shard = getattr(directory_owner, "shard", directory_owner)
    actor: Actor = shard.actors[address]
    return actor
