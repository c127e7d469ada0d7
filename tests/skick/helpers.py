"""Helpers of the facade tests: run a ``Skick`` app inside the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

from skick import Skick
from tests.core.helpers import until

T = TypeVar("T")

WAIT = 5.0
"""Upper bound of every wait: a broken runtime fails the test, it never hangs it."""


async def take(queue: asyncio.Queue[T], timeout: float = WAIT) -> T:
    """The next item of *queue*, failing the test after *timeout* seconds."""
    return await asyncio.wait_for(queue.get(), timeout)


@asynccontextmanager
async def running(app: Skick) -> AsyncIterator[asyncio.Task[None]]:
    """Run *app* (``await app.run()``, the body of ``start()``) until the block ends.

    Leaving the block stops the app and waits, bounded, for its shutdown.
    """
    task = asyncio.create_task(app.run())
    try:
        await until(lambda: app.runtime.running or task.done())
        if task.done():
            await task  # it failed while starting: raise its error here
        yield task
    finally:
        await asyncio.wait_for(app.stop(), WAIT)
        await asyncio.wait_for(task, WAIT)
