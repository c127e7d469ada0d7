"""Helpers of the RabbitMQ transport tests: URLs, bounded waits, shard processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def with_query(url: str, **params: Any) -> str:
    """*url* with *params* added to (or replacing those in) its query string."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: str(v) for k, v in params.items()})
    return urlunsplit(parts._replace(query=urlencode(query)))


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll *predicate* every 10 ms; fail with *what* when it stays false for *timeout*."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                if predicate():
                    return
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"not within {timeout} s: {what}") from None


SHARD_SCRIPT = Path(__file__).with_name("shard_process.py")


class ShardProcess:
    """A shard in a child process (``shard_process.py``), started and stopped with bounds."""

    def __init__(self, url: str, shard_id: str, *extra: str) -> None:
        self.url = url
        self.shard_id = shard_id
        self.extra = extra
        self.proc: asyncio.subprocess.Process | None = None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()

    async def start(self, timeout: float = 20.0) -> ShardProcess:
        """Start the process and wait (bounded) until it reports that it runs."""
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SHARD_SCRIPT),
            self.url,
            self.shard_id,
            *self.extra,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._stderr,
        )
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(timeout):
                line = await self.proc.stdout.readline()
        except TimeoutError:
            raise AssertionError(f"shard {self.shard_id} did not start: {self.errors()}") from None
        if not line:
            await self.proc.wait()
            raise AssertionError(f"shard {self.shard_id} exited: {self.errors()}")
        assert json.loads(line) == {"ready": self.shard_id}, line
        return self

    def errors(self) -> str:
        """What the process wrote to stderr so far (the tail)."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no goodbye, no cleanup."""
        assert self.proc is not None
        self.proc.kill()

    async def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM (a clean shutdown), then SIGKILL if it takes longer than *timeout*."""
        proc = self.proc
        if proc is None:
            return 0
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(timeout):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self._stderr.close()
        assert proc.returncode is not None
        return proc.returncode


@contextlib.asynccontextmanager
async def shard_processes(url: str, *shard_ids: str) -> AsyncIterator[list[ShardProcess]]:
    """Start shard processes side by side; stop every one of them on the way out."""
    shards = [ShardProcess(url, sid) for sid in shard_ids]
    try:
        await asyncio.gather(*(s.start() for s in shards))
        yield shards
    finally:
        await asyncio.gather(*(s.stop() for s in shards), return_exceptions=True)
