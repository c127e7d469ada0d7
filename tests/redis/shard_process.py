"""A shard in its own process, driven over stdin/stdout by ``test_two_processes.py``.

``python shard_process.py REDIS_URL TABLE`` starts a :class:`Runtime` on REDIS_URL,
prints ``{"ready": true}``, then answers one JSON line per JSON command line:

- ``{"op": "set", "key": k, "value": v}`` — ``await h.set(k, v)``
- ``{"op": "put", "key": k, "value": v}`` — ``h[k] = v`` (fire and forget)
- ``{"op": "del", "key": k}`` — ``del h[k]`` (fire and forget)
- ``{"op": "get", "key": k}`` — ``await h.get(k)``, answered as ``{"value": …}``
- ``{"op": "has", "key": k}`` — ``await h.contains(k)``
- ``{"op": "quit"}`` — stop the runtime (flushing pending writes) and exit.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from skick_core import Runtime


async def serve(url: str, table: str) -> None:
    async with Runtime(hashes=url) as runtime:
        h = runtime.hash(table)
        reply(ready=True)
        while line := await asyncio.to_thread(sys.stdin.readline):
            command = json.loads(line)
            op, key = command["op"], command.get("key", "")
            if op == "set":
                await h.set(key, command["value"])
                reply(ok=True)
            elif op == "put":
                h[key] = command["value"]
                reply(ok=True)
            elif op == "del":
                del h[key]
                reply(ok=True)
            elif op == "get":
                reply(value=await h.get(key))
            elif op == "has":
                reply(value=await h.contains(key))
            elif op == "quit":
                break
            else:
                reply(error=f"unknown op {op!r}")
    reply(closed=True, failed_writes=h.failed_writes)


def reply(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
