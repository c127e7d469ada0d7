"""The programs the kit tests run: the guide's examples and a few small actors.

Each function builds a fresh app, so tests never share state through an app.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator
from random import random
from typing import Any

from skick import Actor, Call, Directory, Respond, Skick, SocketQuery
from skick_core import Shard
from skick_ws import SessionActor

Message = dict[str, Any]
Gen = AsyncGenerator[Any, Any]

GREETING = {"greeting": "Hello, use the action 'greet' to receive a greeting"}
GDPR_STRING = "We will process your data. Do you accept the terms?"


def hello_app() -> Skick:
    """The guide's hello world, exactly."""
    skick = Skick()

    @skick.session("hello")
    def hello_world(inst: SessionActor, message: Message) -> None:
        """A hello world type user session"""

        @inst.on_start
        async def on_start() -> None:
            await inst.socksend(GREETING)

        @inst.socket("greet", {"action": "greet"})
        async def greet(msg: Message) -> None:
            await inst.socksend({"greeting": "Hello good sir"})

    return skick


def logarithm_app() -> Skick:
    """The guide's handshake sequence (typos fixed)."""
    skick = Skick()
    logarithm_program(skick)
    return skick


def logarithm_program(skick: Directory) -> None:
    """Declare the handshake sequence on *skick*."""

    @skick.handshake("random_number")
    def random_session(inst: SessionActor, message: Message) -> None:
        num = random()

        @inst.on_start
        async def on_start() -> None:
            await inst.replace("double_number", {**message, "number": num})

    @skick.subsession("double_number")
    def doubler(inst: SessionActor, message: Message) -> None:
        num = 2 * message["number"]

        @inst.on_start
        async def on_start() -> None:
            await inst.replace(f"{message['session_type']}:final", {"number": num})

    @random_session("logarithm")
    def logarithm(inst: SessionActor, message: Message) -> None:
        base = message["number"]

        @inst.socket("log", {"action": "log", "x": float})
        async def log(msg: Message) -> None:
            await inst.socksend({"log_base(x)": math.log(msg["x"], base), "x": msg["x"]})


def curious_app(with_info_actor: bool = True) -> Skick:
    """The guide's "curious" session; the info actor is started by ``on_start``.

    Without it, a test's probe provides the ``info`` service instead.
    """

    async def on_start(shard: Shard) -> None:
        await shard.spawn("info", {})

    skick = Skick(on_start=on_start if with_info_actor else None)

    @skick.actor("info")
    def info_actor(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def start() -> None:
            inst.register_service("info")

        @inst.action("info", {"action": "info", "credentials": str})
        async def answer(msg: Message) -> Gen:
            yield Respond(msg)
            yield {"ask_gdpr": msg["credentials"] == "new user", "info": {"secret": 42}}

    @skick.session("curious")
    def curiosity(inst: SessionActor, message: Message) -> None:
        cred = message.get("credentials", "new user")

        @inst.socket("get_information")
        async def info(msg: Message) -> Gen:
            info_address = inst.get_service("info")
            assert info_address is not None
            response = yield Call(info_address, {"action": "info", "credentials": cred})

            if response["ask_gdpr"]:
                consent = yield SocketQuery({"gdpr_query": GDPR_STRING}, "bool")

                if consent:
                    await inst.socksend(response["info"])
                else:
                    await inst.socksend({"error": "terms not accepted"})
            else:
                await inst.socksend(response["info"])

    return skick


def actors() -> Directory:
    """Plain actors for the core kit's tests."""
    directory = Directory()

    @directory.actor("counter")
    def counter(inst: Actor, message: Message) -> None:
        count = message.get("start", 0)

        @inst.action("increment", schema={"action": "increment", "by": int})
        async def increment(msg: Message) -> Gen:
            nonlocal count
            yield Respond(msg)
            count += msg["by"]
            yield {"count": count}

        @inst.action("ask", schema={"action": "ask", "n": int})
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            following = yield {"twice": msg["n"] * 2}
            yield {"thrice": following["n"] * 3}

        @inst.action("brief")
        async def brief(msg: Message) -> Gen:
            yield Respond(msg)  # picks up, then hangs up without a word

        @inst.action("silent")
        async def silent(msg: Message) -> Gen:
            yield Respond(msg)
            await asyncio.sleep(10)
            yield {"late": True}

        @inst.action("plain")
        async def plain(msg: Message) -> None:
            pass

        @inst.action("report", schema={"action": "report", "to": str})
        async def report(msg: Message) -> None:
            await inst.send(msg["to"], {"action": "tally", "count": count})

        @inst.action("crash")
        async def crash(msg: Message) -> None:
            raise RuntimeError("asked to crash")

        @inst.action("quit")
        async def quit_(msg: Message) -> None:
            await inst.stop()

    @directory.actor("asker")
    def asker(inst: Actor, message: Message) -> None:
        """Asks *partner* two questions in one conversation and reports the outcome."""

        @inst.on_start
        async def start() -> None:
            async def talk(_: Message) -> Gen:
                first = yield Call(message["partner"], {"action": "question", "n": 1})
                second = yield {"n": first["n"] + 1}
                await inst.send(message["partner"], {"action": "outcome", "second": second})

            await inst.converse({}, talk)

    return directory
