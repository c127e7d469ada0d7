"""The guide's session examples as user programs, driven by a real websocket client."""

from __future__ import annotations

import asyncio
import importlib.util
import math
from collections.abc import AsyncGenerator
from pathlib import Path
from random import random
from typing import Any

from skick import Actor, Call, Directory, Respond, Skick, SocketQuery
from skick_ws import SessionActor
from tests.ws.helpers import WAIT, Message, client, make_skick, running

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> Any:
    """A fresh copy of ``examples/<name>.py`` or of the package ``examples/<name>/``."""
    package = EXAMPLES / name
    if package.is_dir():
        spec = importlib.util.spec_from_file_location(
            f"example_{name}", package / "__init__.py", submodule_search_locations=[str(package)]
        )
    else:
        spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_hello_world_example() -> None:
    """examples/hello.py is the guide's program; the guide's interaction, exactly."""
    skick: Skick = load_example("hello").skick
    skick.configure(host="127.0.0.1", port=0)
    async with running(skick) as run, client(run) as c:
        await c.send({"session_type": "hello"})
        assert await c.recv() == {"greeting": "Hello, use the action 'greet' to receive a greeting"}
        assert await c.ask({"action": "greet"}) == {"greeting": "Hello good sir"}
        assert await c.ask({"action": "greet"}) == {"greeting": "Hello good sir"}


def logarithm_program(skick: Directory) -> None:
    """The guide's handshake sequence (typos fixed), declared on *skick*."""

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


async def check_logarithm(run: Any) -> None:
    async with client(run, "logarithm") as c:
        first = await c.ask({"action": "log", "x": 8.0})
        second = await c.ask({"action": "log", "x": 64.0})
        assert first["x"] == 8.0
        assert second["x"] == 64.0
        # log_b(64) = 2 log_b(8) whatever the random base was.
        assert math.isclose(second["log_base(x)"], 2 * first["log_base(x)"])
        assert (await c.ask({"action": "log", "x": 1.0}))["log_base(x)"] == 0.0
    # The handshake stages and the final subsession are not sessions.
    for name in ("random_number", "double_number", "logarithm:final"):
        async with client(run, name) as c:
            error = await c.recv()
            assert error["code"] == "unknown_session"
            assert (await c.closed())[0] == 1008


async def test_handshake_sequence_logarithm() -> None:
    skick = make_skick()
    logarithm_program(skick)
    async with running(skick) as run:
        await check_logarithm(run)


async def test_handshake_sequence_on_a_directory() -> None:
    directory = Directory()
    logarithm_program(directory)
    skick = make_skick()
    skick.add_directory(directory)
    async with running(skick) as run:
        await check_logarithm(run)


GDPR_STRING = "We will process your data. Do you accept the terms?"


def curious_program(skick: Skick) -> None:
    """The guide's "curious" session, with the elided parts filled in."""

    @skick.actor("info")
    def info(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def on_start() -> None:
            inst.register_service("info")

        @inst.action("info", {"action": "info", "credentials": str})
        async def answer(msg: Message) -> AsyncGenerator[Any, Any]:
            yield Respond(msg)
            yield {"ask_gdpr": msg["credentials"] == "new user", "info": {"secret": 42}}

    @skick.session("curious")
    def curiosity(inst: SessionActor, message: Message) -> None:
        cred = message.get("credentials", "new user")

        @inst.socket("get_information")
        async def info(msg: Message) -> AsyncGenerator[Any, Any]:
            info_actor = inst.get_service("info")
            assert info_actor is not None
            response = yield Call(info_actor, {"action": "info", "credentials": cred})

            if response["ask_gdpr"]:
                consent = yield SocketQuery({"gdpr_query": GDPR_STRING}, "bool")

                if consent:
                    await inst.socksend(response["info"])
                else:
                    await inst.socksend({"error": "terms not accepted"})
            else:
                await inst.socksend(response["info"])


async def test_curious_socket_query_both_answers() -> None:
    async def on_start(shard: Any) -> None:
        await shard.spawn("info", {})

    skick = make_skick(on_start=on_start, strict=True)  # every local message crosses JSON
    curious_program(skick)
    async with running(skick) as run:
        for answer, expected in ((True, {"secret": 42}), (False, {"error": "terms not accepted"})):
            async with client(run, "curious") as c:
                query = await c.ask({"action": "get_information"})
                assert query == {
                    "action": "query",
                    "query_id": query["query_id"],
                    "message": {"gdpr_query": GDPR_STRING},
                    "schema": "bool",
                }
                assert isinstance(query["query_id"], str)
                # A reply of the wrong type is refused and does not resume anything.
                error = await c.error(
                    {"action": "query_reply", "query_id": query["query_id"], "message": "yes"}
                )
                assert error["code"] == "bad_query_reply"
                reply = {"action": "query_reply", "query_id": query["query_id"], "message": answer}
                assert await c.ask(reply) == expected
                # The query is answered: the same reply again is for an unknown query.
                assert (await c.error(reply))["code"] == "unknown_query"
        # A session whose user already accepted gets the information without a query.
        async with client(run) as c:
            await c.send({"session_type": "curious", "credentials": "old user"})
            assert await c.ask({"action": "get_information"}) == {"secret": 42}


async def test_replace_into_a_subsession() -> None:
    skick = make_skick()
    stopped: asyncio.Queue[str] = asyncio.Queue()

    @skick.session("lobby")
    def lobby(inst: SessionActor, message: Message) -> None:
        @inst.socket("login", {"action": "login", "name": str})
        async def login(msg: Message) -> None:
            await inst.replace("member", {"name": msg["name"]})

        @inst.on_stop
        async def gone() -> None:
            await stopped.put("lobby")

    @skick.subsession("member")
    def member(inst: SessionActor, message: Message) -> None:
        @inst.on_start
        async def welcome() -> None:
            await inst.socksend({"welcome": message["name"]})

        @inst.socket("say", {"action": "say", "text": str})
        async def say(msg: Message) -> None:
            await inst.socksend({"said": msg["text"], "by": message["name"]})

        @inst.on_stop
        async def gone() -> None:
            await stopped.put("member")

    async with running(skick) as run:
        async with client(run, "lobby") as c:
            assert (await c.error({"action": "say", "text": "hi"}))["code"] == "unknown_action"
            assert await c.ask({"action": "login", "name": "ann"}) == {"welcome": "ann"}
            assert await c.ask({"action": "say", "text": "hi"}) == {"said": "hi", "by": "ann"}
            assert (await c.error({"action": "login", "name": "x"}))["code"] == "unknown_action"
        # Only the current behaviour's on_stop runs (replace does not run on_stop).
        assert await asyncio.wait_for(stopped.get(), WAIT) == "member"
        async with client(run, "member") as c:
            assert (await c.recv())["code"] == "unknown_session"
