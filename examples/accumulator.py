"""The guide's accumulator, as an actor-only Skick program.

An ``accumulator`` keeps a tally; a ``caller`` adds to it in conversations and a
daemon reports the tally every second. Run it with ``hatch run python
examples/accumulator.py`` and stop it with Ctrl-C (the shutdown runs every on_stop).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

from skick import Actor, Call, Respond, Skick
from skick_core import Shard

log = logging.getLogger("accumulator")


async def on_start(shard: Shard) -> None:
    adder = await shard.spawn("accumulator", {"initial_tally": 420})
    await shard.spawn("caller", {"adder": adder})


skick = Skick(on_start=on_start, websocket_server=False)


@skick.actor("accumulator")
def accumulator(inst: Actor, message: dict[str, Any]) -> None:
    """An actor that adds numbers to an internal tally."""
    tally = message.get("initial_tally", 0)

    @inst.action("add", schema={"action": "add", "number": int})
    async def adder(msg: dict[str, Any]) -> AsyncGenerator[Any, Any]:
        """Answers every call with the new tally."""
        nonlocal tally
        yield Respond(msg)
        tally += msg["number"]
        yield {"tally": tally}

    @inst.on_stop
    async def report_final() -> None:
        log.info("final tally: %d", tally)


@skick.actor("caller")
def caller(inst: Actor, message: dict[str, Any]) -> None:
    """Adds 10 to the accumulator every second and logs the answer."""

    @inst.daemon("ticker")
    async def tick() -> None:
        while True:
            await inst.converse({}, add_ten)
            await asyncio.sleep(1)

    async def add_ten(_: dict[str, Any]) -> AsyncGenerator[Any, Any]:
        reply = yield Call(message["adder"], {"action": "add", "number": 10})
        log.info("tally is now %d", reply["tally"])


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    skick.start()
