"""Redis going away and coming back, unreachable at start, passwords and TLS.

These use throwaway redis-servers (``start_redis``), never the shared one.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from skick_core import Runtime
from skick_core.exceptions import HashError
from skick_redis import RedisHashBackend, RedisHashError

from .conftest import StartRedis, free_port, with_query

TIMEOUT = 10.0
FAIL_FAST = 2.0
"""An operation against a dead Redis must fail within this many seconds."""


async def test_restart_while_idle_is_transparent(start_redis: StartRedis) -> None:
    server = await start_redis()
    async with asyncio.timeout(TIMEOUT), Runtime(hashes=server.url) as runtime:
        h = runtime.hash("t")
        await asyncio.gather(*(h.set(f"k{i}", i) for i in range(5)))  # several pooled connections
        await server.kill()
        await server.start()
        # The data is gone (no persistence), but the very first operations succeed:
        # the pool replaces the connections the restart broke.
        assert await h.get("k0") is None
        await h.set("k", "again")
        assert await h["k"] == "again"
        assert await asyncio.gather(*(h.contains("k") for _ in range(5))) == [True] * 5


async def test_down_then_back_without_restarting_the_shard(
    start_redis: StartRedis, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_redis()
    async with asyncio.timeout(TIMEOUT), Runtime(hashes=server.url) as runtime:
        h = runtime.hash("t")
        await h.set("k", 1)
        await server.kill()

        operations: list[Callable[[], Awaitable[object]]] = [
            lambda: h.get("k"),
            lambda: h["k"],
            lambda: h.contains("k"),
            lambda: h.set("k", 2),
            lambda: h.delete("k"),
        ]
        for operation in operations:
            started = time.monotonic()
            with pytest.raises(RedisHashError, match=r"127\.0\.0\.1") as info:
                await operation()
            assert time.monotonic() - started < FAIL_FAST
            assert isinstance(info.value, HashError)
            assert info.value.__cause__ is not None

        with caplog.at_level(logging.ERROR, logger="skick.hash"):
            h["k"] = 3
            del h["other"]
            with pytest.raises(RedisHashError):
                await h.contains("k")  # settles the background writes, which failed
        assert h.failed_writes == 2
        assert "background writes" in caplog.text

        await server.start()
        await h.set("k", 4)
        assert await h.get("k") == 4
        h["k"] = 5
        assert await h["k"] == 5
        assert runtime.running


async def test_unreachable_at_start() -> None:
    port = free_port()
    runtime = Runtime(hashes=f"redis://127.0.0.1:{port}/0")
    started = time.monotonic()
    with pytest.raises(RedisHashError, match=f"cannot use Redis at redis://127.0.0.1:{port}/0"):
        async with asyncio.timeout(TIMEOUT):
            await runtime.start()
    assert time.monotonic() - started < FAIL_FAST
    assert not runtime.running


async def test_silent_server_at_start_is_bounded() -> None:
    # A socket that accepts connections (the kernel does) but never answers PING.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        runtime = Runtime(hashes=f"redis://127.0.0.1:{port}/0?open_timeout=0.3")
        started = time.monotonic()
        with pytest.raises(RedisHashError, match=r"no answer within 0\.3 s"):
            async with asyncio.timeout(TIMEOUT):
                await runtime.start()
        assert time.monotonic() - started < FAIL_FAST


async def test_password_url(start_redis: StartRedis) -> None:
    server = await start_redis("--requirepass", "s3 cr/et")
    good = f"redis://:s3%20cr%2Fet@127.0.0.1:{server.port}/0"
    async with asyncio.timeout(TIMEOUT), Runtime(hashes=good) as runtime:
        await runtime.hash("t").set("k", "v")
        assert await runtime.hash("t").get("k") == "v"

    for bad in (f"redis://:wrong@127.0.0.1:{server.port}/0", server.url):
        runtime = Runtime(hashes=bad)
        with pytest.raises(RedisHashError) as info:
            async with asyncio.timeout(TIMEOUT):
                await runtime.start()
        assert "wrong" not in str(info.value)

    server2 = await start_redis("--user", "app", "on", ">pw", "~*", "+@all")
    acl = f"redis://app:pw@127.0.0.1:{server2.port}/1"
    async with asyncio.timeout(TIMEOUT), Runtime(hashes=acl) as runtime:
        await runtime.hash("t").set("k", [1])
        assert await runtime.hash("t")["k"] == [1]


async def test_tls(start_redis: StartRedis, tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    port = free_port()
    await start_redis(
        "--tls-port", str(port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
        "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
        port=free_port(),
    )  # fmt: skip
    url = with_query(f"rediss://127.0.0.1:{port}/0", ssl_ca_certs=str(cert), prefix="tls:")
    async with asyncio.timeout(TIMEOUT), Runtime(hashes=url) as runtime:
        backend = runtime.hashes.backend
        assert isinstance(backend, RedisHashBackend)
        assert backend.where.startswith("rediss://")
        h = runtime.hash("t")
        await h.set("k", {"secure": True})
        assert await h.get("k") == {"secure": True}

    # Without trusting the self-signed certificate the handshake is refused, clearly.
    with pytest.raises(RedisHashError, match="cannot use Redis at rediss://"):
        async with asyncio.timeout(TIMEOUT), Runtime(hashes=f"rediss://127.0.0.1:{port}/0"):
            pass
