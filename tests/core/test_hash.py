"""Hashes: the async dictionary of the guide, over the in-memory backend and failing ones."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

import pytest

from skick_core import ConfigurationError, HashError, Runtime
from skick_core._memory import MemoryHashBackend
from skick_core.abc import HashTable, HashWrite
from skick_core.testing import check_hash
from tests.core.helpers import WAIT


async def test_conformance_of_the_private_memory_backend() -> None:
    await check_hash(MemoryHashBackend, shared=False)


async def test_conformance_of_a_shared_memory_namespace() -> None:
    url = f"memory://conformance-{uuid.uuid4().hex}"
    await check_hash(lambda: MemoryHashBackend(url))


async def test_guide_operations(runtime: Runtime) -> None:
    h = runtime.hash("table_name")
    assert runtime.hash("table_name") is h
    assert "table_name" in repr(h)
    with pytest.raises(KeyError):
        await h["our_key"]
    assert await h.get("our_key") is None
    assert not await h.contains("our_key")
    await h.set("our_key", {"v": [1, 2]})
    assert await h["our_key"] == {"v": [1, 2]}
    assert await h.get("our_key") == {"v": [1, 2]}
    assert await h.contains("our_key")
    h["other"] = 5  # fire and forget, but ordered before the next read
    assert await h["other"] == 5
    del h["other"]
    assert not await h.contains("other")
    await h.delete("our_key")
    assert await h.get("our_key", "gone") == "gone"


async def test_hash_refusals(runtime: Runtime) -> None:
    h = runtime.hash("t")
    with pytest.raises(TypeError, match="contains"):
        _ = "k" in h
    with pytest.raises(TypeError, match="iterated"):
        iter(h)
    with pytest.raises(TypeError, match="str"):
        await h.get(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        h[2] = "x"  # type: ignore[index]
    with pytest.raises(TypeError, match="JSON"):
        await h.set("k", {1, 2})
    with pytest.raises(TypeError, match="JSON"):
        h["k"] = float("inf")
    with pytest.raises(TypeError, match="name"):
        runtime.hash("")
    with pytest.raises(TypeError, match="name"):
        runtime.hash(None)  # type: ignore[arg-type]


async def test_runtimes_do_not_share_the_default_memory_hashes() -> None:
    async with Runtime() as one, Runtime() as two:
        await one.hash("shared?").set("k", 1)
        assert await two.hash("shared?").get("k") is None
    name = f"memory://ns-{uuid.uuid4().hex}"
    async with Runtime(hashes=name) as one, Runtime(hashes=name) as two:
        await one.hash("t").set("k", 1)
        assert await two.hash("t").get("k") == 1


def test_memory_backend_needs_a_memory_url() -> None:
    with pytest.raises(ConfigurationError):
        MemoryHashBackend("redis://localhost")


async def test_writes_issued_before_close_are_applied() -> None:
    async with Runtime() as rt:
        h = rt.hash("t")
        for n in range(50):
            h["k"] = n
    # The backend outlives the runtime here; the last write landed.
    table = rt.hashes.backend.table("t")
    assert await table.get("k") == "49"


# ------------------------------------------------------------------ failing backends


class _FailingTable(HashTable):
    def __init__(self, error: BaseException | None = None, hang: bool = False) -> None:
        self.error = error
        self.hang = hang

    async def get(self, key: str) -> str | None:
        if self.error is not None:
            raise self.error
        return None

    async def contains(self, key: str) -> bool:
        if self.error is not None:
            raise self.error
        return False

    async def apply(self, writes: Sequence[HashWrite]) -> None:
        if self.hang:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error


class _FailingBackend(MemoryHashBackend):
    def __init__(self, table: _FailingTable) -> None:
        super().__init__()
        self._failing = table

    def table(self, name: str) -> HashTable:
        return self._failing


async def test_backend_errors_become_hash_errors(caplog: pytest.LogCaptureFixture) -> None:
    backend = _FailingBackend(_FailingTable(ConnectionResetError("redis went away")))
    async with Runtime(hashes=backend) as rt:
        h = rt.hash("t")
        with pytest.raises(HashError, match="redis went away"):
            await h.get("k")
        with pytest.raises(HashError):
            await h.contains("k")
        with pytest.raises(HashError):
            await h.set("k", 1)
        with pytest.raises(HashError):
            await h.delete("k")
        with caplog.at_level(logging.ERROR, logger="skick.hash"):
            h["a"] = 1
            del h["b"]
            with pytest.raises(HashError):  # reads wait for earlier writes; this one fails
                await h.get("a")
        assert h.failed_writes == 2
        assert any("background writes" in r.getMessage() for r in caplog.records)


async def test_foreign_errors_that_are_not_io_pass_through() -> None:
    backend = _FailingBackend(_FailingTable(ZeroDivisionError("bug in the backend")))
    async with Runtime(hashes=backend) as rt:
        with pytest.raises(ZeroDivisionError):
            await rt.hash("t").get("k")


async def test_close_bounds_writes_that_never_finish(caplog: pytest.LogCaptureFixture) -> None:
    backend = _FailingBackend(_FailingTable(hang=True))
    rt = Runtime(hashes=backend, stop_timeout=0.05)
    await rt.start()
    h = rt.hash("t")
    h["detached"] = 1
    awaited = asyncio.ensure_future(h.set("awaited", 2))
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="skick.hash"):
        await asyncio.wait_for(rt.close(), WAIT)
    with pytest.raises(HashError, match="closed"):
        await asyncio.wait_for(awaited, WAIT)
    assert h.failed_writes == 1
