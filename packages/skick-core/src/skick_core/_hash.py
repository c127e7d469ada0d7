"""Hashes: small asynchronous dictionaries shared by every actor (and, with Redis,
every shard).

The front (:class:`Hash`) gives every backend the same semantics: keys are strings,
values are JSON and come back as they would after a round trip, and writes are
applied in the order they were issued on this shard — including the fire-and-forget
``h[k] = v`` and ``del h[k]``, whose failures are logged. Reads wait for the writes
issued before them, so an actor always reads its own writes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Generator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .abc import HashBackend, HashTable, HashWrite
from .exceptions import HashError

__all__ = ["Hash", "Hashes"]

logger = logging.getLogger("skick.hash")

_MISSING: Any = object()

_Pending = tuple[HashWrite, "asyncio.Future[None]", bool]
"""A queued write, the future its issuer may await, and whether it is detached."""


class Hash:
    """An eventually consistent, asynchronous dictionary named *name*."""

    def __init__(self, name: str, table: HashTable, owner: Hashes) -> None:
        self.name = name
        self._table = table
        self._owner = owner
        self._writes: deque[_Pending] = deque()
        self._tail: asyncio.Future[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._inline = False  # an awaited write is being applied without the flusher
        self.failed_writes = 0

    def __repr__(self) -> str:
        return f"<Hash {self.name!r}>"

    # ----------------------------------------------------------------- reading

    async def get(self, key: str, default: Any = None) -> Any:
        """The value under *key*, or *default* when it is missing."""
        _check_key(key)
        await self._settle()
        try:
            text = await self._table.get(key)
        except OSError as exc:
            raise self._owner.failure(exc) from exc
        return default if text is None else json.loads(text)

    def __getitem__(self, key: str) -> Awaitable[Any]:
        """``await h[key]``: the value, or ``KeyError`` when it is missing."""
        return self._getitem(key)

    async def _getitem(self, key: str) -> Any:
        value = await self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    async def contains(self, key: str) -> bool:
        """Whether *key* is in the table."""
        _check_key(key)
        await self._settle()
        try:
            return bool(await self._table.contains(key))
        except OSError as exc:
            raise self._owner.failure(exc) from exc

    def __contains__(self, key: object) -> bool:
        raise TypeError("use 'await h.contains(key)': 'in' cannot wait for the backend")

    # ----------------------------------------------------------------- writing

    async def set(self, key: str, value: Any) -> None:
        """Store *value* under *key* and wait until it is stored."""
        await self._write_and_wait(("set", _check_key(key), _encode(value)))

    def __setitem__(self, key: str, value: Any) -> None:
        """``h[key] = value``: store in the background, in order with other writes."""
        self._write(("set", _check_key(key), _encode(value)), detached=True)

    async def delete(self, key: str) -> None:
        """Remove *key* (missing keys are fine) and wait until it is gone."""
        await self._write_and_wait(("delete", _check_key(key), None))

    def __delitem__(self, key: str) -> None:
        """``del h[key]``: remove in the background, in order with other writes."""
        self._write(("delete", _check_key(key), None), detached=True)

    def __iter__(self) -> Generator[Any, None, None]:
        raise TypeError("hashes cannot be iterated")

    def _write(self, write: HashWrite, detached: bool) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._writes.append((write, future, detached))
        self._tail = future
        if self._flusher is None and not self._inline:
            self._flusher = self._owner.track(self._flush())
        return future

    async def _write_and_wait(self, write: HashWrite) -> None:
        """An awaited write: applied inline when nothing is queued, else queued in order.

        The inline path saves a task and several loop turns per call; cancelling it
        cancels the backend call itself (the write may or may not have happened).
        """
        if self._flusher is not None or self._inline or self._writes:
            await self._write(write, detached=False)
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tail = done
        self._inline = True
        try:
            await self._apply((write,))
        finally:
            self._inline = False
            done.set_result(None)
            if self._writes:  # writes issued meanwhile waited for this one
                self._flusher = self._owner.track(self._flush())

    async def _apply(self, writes: Sequence[HashWrite]) -> None:
        try:
            await self._table.apply(writes)
        except OSError as exc:
            raise self._owner.failure(exc) from exc

    async def _settle(self) -> None:
        tail = self._tail
        if tail is not None and not tail.done():
            await asyncio.wait((tail,))

    async def _flush(self) -> None:
        """Apply queued writes in order, several at a time when they pile up."""
        batch: list[_Pending] = []
        try:
            while self._writes:
                batch = list(self._writes)
                self._writes.clear()
                try:
                    await self._apply([w for w, _, _ in batch])
                except HashError as exc:
                    self._fail(batch, exc)
                else:
                    for _, future, _ in batch:
                        if not future.done():
                            future.set_result(None)
                batch = []
        finally:
            self._flusher = None
            leftover = batch + list(self._writes)
            self._writes.clear()
            if leftover:  # cancelled (closing): these writes may not have happened
                self._fail(leftover, HashError("the hash closed before the write completed"))

    def _fail(self, batch: list[_Pending], exc: HashError) -> None:
        detached = sum(1 for _, _, d in batch if d)
        if detached:
            self.failed_writes += detached
            logger.error("%d background writes to %r failed: %s", detached, self, exc)
        for _, future, is_detached in batch:
            if future.done():
                continue
            if is_detached:
                future.set_result(None)
            else:
                future.set_exception(exc)


class Hashes:
    """The hashes of one runtime: one :class:`Hash` per name over one backend."""

    def __init__(self, backend: HashBackend) -> None:
        self.backend = backend
        self._hashes: dict[str, Hash] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, name: str) -> Hash:
        """The hash called *name* (the same object for the same name)."""
        if not isinstance(name, str) or not name:
            raise TypeError("a hash name must be a non-empty string")
        found = self._hashes.get(name)
        if found is None:
            found = self._hashes[name] = Hash(name, self.backend.table(name), self)
        return found

    def track(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def failure(self, exc: OSError) -> HashError:
        """The :class:`HashError` for a socket error a backend let through.

        Backends should raise ``HashError`` subclasses themselves; this is the safety
        net for plain ``OSError`` (``ConnectionError`` included).
        """
        return HashError(f"hash backend {_redact(self.backend.url)} failed: {exc}")

    async def close(self, timeout: float = 5.0) -> None:
        """Let pending writes finish (bounded), then close the backend."""
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await self.backend.close()


def _redact(url: str) -> str:
    """*url* without its password, fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


def _check_key(key: Any) -> str:
    if type(key) is not str:
        raise TypeError(f"hash keys are strings, not {type(key).__name__}")
    return key


def _encode(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"hash values must be JSON: {exc}") from exc
