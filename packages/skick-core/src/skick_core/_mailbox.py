"""A bounded mailbox tuned for one consumer: the actor's main task.

``asyncio.Queue`` is general (many getters, task accounting) and pays for it on every
message. An actor has exactly one reader, so a deque plus one waiter future is enough.
System events (conversation timeouts, sentinels) may exceed the capacity with
:meth:`force`, so that they are never lost to a full mailbox; they are bounded by
the actor's own open conversations and monitors.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

__all__ = ["Mailbox"]


class Mailbox:
    """Bounded FIFO with a single reader and backpressure for writers."""

    __slots__ = ("_capacity", "_reader", "_writers", "items")

    def __init__(self, capacity: int) -> None:
        self.items: deque[Any] = deque()
        self._capacity = capacity
        self._reader: asyncio.Future[None] | None = None
        # Created on the first wait for room: an empty deque costs ~760 bytes, and
        # most mailboxes (one per actor, two per websocket session) never fill.
        self._writers: deque[asyncio.Future[None]] | None = None

    def __len__(self) -> int:
        return len(self.items)

    def offer(self, item: Any) -> bool:
        """Append *item* unless the mailbox is full."""
        if len(self.items) >= self._capacity:
            return False
        self.items.append(item)
        reader = self._reader
        if reader is not None:
            self._reader = None
            if not reader.done():
                reader.set_result(None)
        return True

    def force(self, item: Any) -> None:
        """Append *item* even past capacity (system events only)."""
        self.items.append(item)
        reader = self._reader
        if reader is not None:
            self._reader = None
            if not reader.done():
                reader.set_result(None)

    async def put(self, item: Any, timeout: float) -> bool:
        """Wait up to *timeout* seconds for room; False if there was none."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.items) >= self._capacity:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            waiter = loop.create_future()
            if self._writers is None:
                self._writers = deque()
            writers = self._writers
            writers.append(waiter)
            try:
                async with asyncio.timeout(remaining):
                    await waiter
            except TimeoutError:
                return False
            finally:
                if waiter in writers:
                    writers.remove(waiter)
        return self.offer(item)

    async def wait(self) -> None:
        """Suspend until an item is available (the single reader only)."""
        while not self.items:
            self._reader = asyncio.get_running_loop().create_future()
            await self._reader

    def pop(self) -> Any:
        """Take the oldest item and let one waiting writer in."""
        item = self.items.popleft()
        if self._writers:
            writer = self._writers.popleft()
            if not writer.done():
                writer.set_result(None)
        return item

    def drain(self) -> list[Any]:
        """Remove and return everything, waking every waiting writer."""
        items = list(self.items)
        self.items.clear()
        while self._writers:
            writer = self._writers.popleft()
            if not writer.done():
                writer.set_result(None)
        return items
