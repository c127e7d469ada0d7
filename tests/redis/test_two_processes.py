"""Two shard processes share one table through Redis."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

SCRIPT = Path(__file__).with_name("shard_process.py")
TIMEOUT = 20.0


class Shard:
    """One ``shard_process.py`` child (first saying ``{"ready": true}``), one line at a time."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, url: str, table: str) -> Shard:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPT),
            url,
            table,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        assert line, f"the shard process exited ({await self.proc.wait()})"
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def ask(self, op: str, key: str = "", value: Any = None) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, "key": key, "value": value}).encode() + b"\n")
        await self.proc.stdin.drain()
        answer = await self.read()
        assert "error" not in answer, answer
        return answer.get("value")

    async def quit(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b'{"op": "quit"}\n')
        await self.proc.stdin.drain()
        answer = await self.read()
        assert await self.proc.wait() == 0
        return answer

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


async def test_two_shard_processes_share_a_table(url: str, prefix: str, raw_redis: Redis) -> None:
    table = f"shared-{uuid.uuid4().hex}"
    shards: list[Shard] = []
    try:
        async with asyncio.timeout(TIMEOUT):
            for _ in range(2):
                shards.append(await Shard.start(url, table))
            a, b = shards
            for shard in shards:
                assert await shard.read() == {"ready": True}
            await a.ask("set", "greeting", {"from": "a", "text": "hej"})
            assert await b.ask("get", "greeting") == {"from": "a", "text": "hej"}
            assert await b.ask("has", "greeting") is True

            # Fire-and-forget writes of one process, in issue order, seen by the other.
            for n in range(50):
                await a.ask("put", "counter", n)
            await a.ask("del", "greeting")
            assert await a.ask("get", "counter") == 49  # a reads its own writes...
            assert await b.ask("get", "counter") == 49  # ...so they are in Redis for b
            assert await b.ask("has", "greeting") is False

            await b.ask("set", "reply", ["from", "b"])
            assert await a.ask("get", "reply") == ["from", "b"]

            # Background writes issued just before a clean stop are flushed by the stop.
            await b.ask("put", "last-words", "bye")
            assert await b.quit() == {"closed": True, "failed_writes": 0}
            assert await a.ask("get", "last-words") == "bye"
            assert await a.quit() == {"closed": True, "failed_writes": 0}
        assert await raw_redis.hget(f"{prefix}{table}", "counter") == b"49"
    finally:
        for shard in shards:
            shard.kill()
            await shard.proc.wait()
