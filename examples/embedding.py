"""Running Skick actors inside an asyncio application you already have.

``skick_core.Runtime`` is an async context manager: no ``Skick`` object, no websocket
server, no signal handling — your application owns the loop. Only ``skick-core``
is needed (``pip install skick-core``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

from skick_core import Actor, Directory, Respond, Runtime

actors = Directory()


@actors.actor("counter")
def counter(inst: Actor, message: dict[str, Any]) -> None:
    count = message.get("start", 0)

    @inst.action("increment", schema={"action": "increment", "by": int})
    async def increment(msg: dict[str, Any]) -> AsyncGenerator[Any, Any]:
        nonlocal count
        yield Respond(msg)
        count += msg["by"]
        yield {"count": count}


async def application() -> int:
    """Your application: it starts the runtime, uses actors, and stops them."""
    async with Runtime(actors) as runtime:
        address = await runtime.spawn("counter", {"start": 40})
        reply = await runtime.call(address, {"action": "increment", "by": 2})
        logging.getLogger("embedding").info("the counter says %s", reply)
        hits = runtime.hash("hits")
        await hits.set("answer", reply["count"])
        answer: int = await hits["answer"]
        return answer


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(asyncio.run(application()))
