"""Fixtures for the Redis backend tests.

The shared Redis (``redis_url``, from the root conftest) is used by other test runs at
the same time, so every test works under its own random key prefix and deletes what it
wrote. Tests that stop or reconfigure a server start their *own* throwaway
``redis-server`` on a free port instead (:class:`RedisServer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
from redis.asyncio import Redis

START_TIMEOUT = 10.0
"""Bound on a throwaway redis-server becoming ready, or exiting after a kill."""


def with_query(url: str, **params: str) -> str:
    """*url* with *params* added to its query string."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A private ``redis-server`` (no persistence) that a test may kill and restart."""

    def __init__(self, binary: str, port: int, extra: list[str]) -> None:
        self.binary = binary
        self.port = port
        self.extra = extra
        self._proc: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        """Start it and wait for its "Ready to accept connections" log line (bounded)."""
        assert self._proc is None, "already running"
        args = [
            "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--logfile", "", "--daemonize", "no",
            *self.extra,
        ]  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            self.binary,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._proc = proc
        assert proc.stdout is not None
        seen: list[bytes] = []
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while True:
                    line = await proc.stdout.readline()
                    if not line:
                        raise RuntimeError(f"redis-server exited: {b''.join(seen).decode()}")
                    seen.append(line)
                    if b"Ready to accept connections" in line:
                        break
        except BaseException:
            await self.kill()
            raise
        self._drain = asyncio.get_running_loop().create_task(_drain(proc.stdout))

    async def kill(self) -> None:
        """SIGKILL it and wait until it is gone (bounded)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            proc.kill()
        async with asyncio.timeout(START_TIMEOUT):
            await proc.wait()
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain
            self._drain = None


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


StartRedis = Callable[..., Awaitable[RedisServer]]


@pytest.fixture
async def start_redis() -> AsyncIterator[StartRedis]:
    """Start throwaway redis-servers: ``await start_redis("--requirepass", "pw")``."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server is not installed"
        if os.environ.get("SKICK_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}; SKICK_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
        pytest.skip(reason)
    servers: list[RedisServer] = []

    async def start(*extra: str, port: int | None = None) -> RedisServer:
        server = RedisServer(binary, port or free_port(), list(extra))
        servers.append(server)
        await server.start()
        return server

    yield start
    for server in servers:
        await server.kill()


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test run uses."""
    return f"skick-test:{uuid.uuid4().hex}:"


@pytest.fixture
async def raw_redis(redis_url: str, prefix: str) -> AsyncIterator[Redis]:
    """A bare redis-py client on the shared server; deletes every key under *prefix* after."""
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def url(redis_url: str, prefix: str, raw_redis: Redis) -> str:
    """The shared server's URL with this test's private prefix (cleaned up after)."""
    return with_query(redis_url, prefix=prefix)


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost and its key."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return cert, key
