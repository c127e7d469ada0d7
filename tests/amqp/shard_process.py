"""One shard of a test cluster, run as its own process by the multi-process tests.

    python shard_process.py URL SHARD_ID [--ws-port PORT]

It runs ``Skick(websocket_server=False, message_system=URL, shard_id=SHARD_ID)`` (with
the websocket server and a ``calc`` session when ``--ws-port`` is given), registers
the actor types below, starts a ``probe`` actor that provides the services
``probe-<SHARD_ID>`` and ``adder``, prints one JSON line ``{"ready": SHARD_ID}`` to
stdout once it runs, and stops cleanly on SIGTERM/SIGINT.

Actor types (every shard has them, plus ``only-<SHARD_ID>``):

``echo``          ``ping`` -> sends ``pong`` to ``reply_to``; ``ask`` answers twice n;
                  ``hang`` answers the opening turn never; ``crash`` raises.
``bad-start``     its on_start raises.
``slow-start``    its on_start takes 30 s (only on shard ``A``).
``probe``         ``stats`` answers dead-letter and transport counters; ``add`` adds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import AsyncGenerator
from typing import Any

from skick import Skick
from skick_core import Actor, Call, Respond, Shard

Message = dict[str, Any]


def build(url: str, shard_id: str, ws_port: int | None) -> Skick:
    async def on_start(shard: Shard) -> None:
        await shard.spawn("probe", {})
        sys.stdout.write(json.dumps({"ready": shard.shard_id}) + "\n")
        sys.stdout.flush()

    skick = Skick(
        on_start=on_start,
        message_system=url,
        websocket_server=None if ws_port else False,
        websocket_host="127.0.0.1",
        websocket_port=ws_port or 8000,
        shard_id=shard_id,
    )

    def echo(inst: Actor, message: Message) -> None:
        @inst.action("ping")
        async def ping(msg: Message) -> None:
            await inst.send(msg["reply_to"], {"action": "pong", "n": msg["n"], "shard": shard_id})

        @inst.action("ask")
        async def ask(msg: Message) -> AsyncGenerator[Any, Any]:
            yield Respond(msg)
            yield {"twice": msg["n"] * 2, "shard": shard_id}

        @inst.action("hang")
        async def hang(msg: Message) -> AsyncGenerator[Any, Any]:
            yield Respond(msg)
            await asyncio.sleep(3600)
            yield {}

        @inst.action("crash")
        async def crash(msg: Message) -> None:
            raise RuntimeError("asked to crash")

    skick.actor("echo")(echo)
    skick.actor(f"only-{shard_id}")(echo)

    @skick.actor("bad-start")
    def bad_start(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def start() -> None:
            raise ValueError("bad-start refuses to start")

    if shard_id == "A":
        # Only on A: the shard actor spawns one actor at a time, so a pending slow
        # start holds up every other remote spawn on that shard.
        @skick.actor("slow-start")
        def slow_start(inst: Actor, message: Message) -> None:
            @inst.on_start
            async def start() -> None:
                await asyncio.sleep(30)

    @skick.actor("probe")
    def probe(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def start() -> None:
            inst.register_service(f"probe-{shard_id}")
            inst.register_service("adder")

        @inst.action("stats")
        async def stats(msg: Message) -> AsyncGenerator[Any, Any]:
            yield Respond(msg)
            shard = skick.shard
            transport = shard.transport
            yield {
                "dead_letters": shard.dead_letters.total,
                "dead_by_reason": dict(shard.dead_letters.counts),
                "transport": dict(getattr(transport, "stats", {})),
                "peers": sorted(transport.peers()) if transport is not None else [],
            }

        @inst.action("add")
        async def add(msg: Message) -> AsyncGenerator[Any, Any]:
            yield Respond(msg)
            yield {"sum": msg["a"] + msg["b"], "shard": shard_id}

    if ws_port:

        @skick.session("calc")
        def calc(inst: Any, message: Message) -> None:
            @inst.socket("add", {"action": "add", "a": int, "b": int})  # type: ignore[untyped-decorator]
            async def add(msg: Message) -> AsyncGenerator[Any, Any]:
                adder = inst.get_service("adder", local="remote")
                if adder is None:
                    await inst.socksend({"error": "no remote adder"})
                    return
                reply = yield Call(adder, {"action": "add", "a": msg["a"], "b": msg["b"]})
                await inst.socksend({"sum": reply["sum"], "by": reply["shard"]})

    return skick


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("shard_id")
    parser.add_argument("--ws-port", type=int, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    build(args.url, args.shard_id, args.ws_port).start()


if __name__ == "__main__":
    main()
