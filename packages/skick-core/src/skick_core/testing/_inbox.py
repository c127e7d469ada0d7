"""What a probe or a test client has received, consumed by selective receive.

``take(pattern)`` returns the oldest pending item that matches and leaves the others
pending for later expectations, as Erlang's ``receive`` does. Every wait is bounded;
a failed expectation raises ``AssertionError`` listing what is pending (with the
reason each item missed), the last items consumed, and why nothing more can come
(a closed connection, a stopped probe).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Generic, TypeVar

from ._match import ANY, describe, mismatch

__all__ = ["Inbox"]

T = TypeVar("T")

_HISTORY = 200
_SHOWN = 10
_CONSUMED_SHOWN = 3


def _render(item: Any, limit: int = 200) -> str:
    text = repr(item)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Inbox(Generic[T]):
    """A list of received items, pending until an expectation consumes them."""

    def __init__(self, noun: str = "message") -> None:
        self.noun = noun
        self.pending: deque[T] = deque()
        self.history: deque[T] = deque(maxlen=_HISTORY)
        self.ended: str | None = None
        self.failure: BaseException | None = None
        self._waiters: list[asyncio.Future[None]] = []

    def put(self, item: T) -> None:
        """A new item arrived."""
        self.pending.append(item)
        self.history.append(item)
        self._wake()

    def end(self, why: str) -> None:
        """Nothing more can arrive (*why* goes into failure messages)."""
        if self.ended is None:
            self.ended = why
        self._wake()

    def fail(self, error: BaseException) -> None:
        """Make the next expectation (or the one waiting) raise *error* at once."""
        if self.failure is None:
            self.failure = error
        self._wake()

    def check(self) -> None:
        """Raise the failure set by :meth:`fail`, once."""
        failure, self.failure = self.failure, None
        if failure is not None:
            raise failure

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _find(self, pattern: Any) -> T | None:
        for item in self.pending:
            if mismatch(pattern, item) is None:
                self.pending.remove(item)
                return item
        return None

    async def _changed(self, deadline: float) -> bool:
        """Wait for an arrival until *deadline* (loop time); False once it passed."""
        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        waiter = loop.create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(remaining):
                await waiter
        except TimeoutError:
            return False
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return True

    async def take(self, pattern: Any = ANY, timeout: float = 2.0, what: str | None = None) -> T:
        """The oldest pending item matching *pattern*, waiting up to *timeout* seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self.check()
            found = self._find(pattern)
            if found is not None:
                return found
            if self.ended is not None or not await self._changed(deadline):
                found = self._find(pattern)
                if found is not None:
                    return found
                raise AssertionError(self._failure(pattern, timeout, what))

    async def refute(
        self, pattern: Any = ANY, within: float = 0.1, what: str | None = None
    ) -> None:
        """Fail if an item matching *pattern* is pending or arrives within *within* s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            self.check()
            for item in self.pending:
                if mismatch(pattern, item) is None:
                    head = what or self._expected("no", pattern)
                    raise AssertionError(
                        f"{head} within {within:g} s, but got:\n  {_render(item)}"
                        + self.listing(ANY, exclude=item)
                    )
            if self.ended is not None or not await self._changed(deadline):
                if any(mismatch(pattern, item) is None for item in self.pending):
                    continue
                return

    def _expected(self, article: str, pattern: Any) -> str:
        if pattern is ANY:
            return f"expected {article} {self.noun}"
        return f"expected {article} {self.noun} matching {describe(pattern)}"

    def _failure(self, pattern: Any, timeout: float, what: str | None) -> str:
        head = what or self._expected("a", pattern)
        if self.ended is not None:
            head += f", but {self.ended}"
        else:
            head += f" within {timeout:g} s"
        if not self.pending:
            head += f"; no {self.noun} arrived that was not consumed already"
        return head + self.listing(pattern)

    def listing(self, pattern: Any, exclude: Any = None) -> str:
        """Lines for a failure message: what is pending (and why each item misses
        *pattern*) and the last items consumed."""
        lines: list[str] = []
        others = [item for item in self.pending if item is not exclude]
        if others:
            lines.append(f"pending (received, not consumed): {len(others)}")
            for item in others[:_SHOWN]:
                lines.append(f"  {_render(item)}")
                reason = mismatch(pattern, item) if pattern is not ANY else None
                if reason is not None:
                    lines.append(f"      ↳ {reason}")
            if len(others) > _SHOWN:
                lines.append(f"  … and {len(others) - _SHOWN} more")
        pending_ids = {id(item) for item in self.pending}
        consumed = [item for item in self.history if id(item) not in pending_ids]
        if consumed:
            shown = min(len(consumed), _CONSUMED_SHOWN)
            lines.append(f"consumed before ({len(consumed)}; the last {shown}):")
            lines.extend(f"  {_render(item)}" for item in consumed[-_CONSUMED_SHOWN:])
        return "".join("\n" + line for line in lines)
