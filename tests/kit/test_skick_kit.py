"""skick.testing.Kit: a Skick app, run privately for each test, as start() would run it."""

from __future__ import annotations

from typing import Any

import pytest

from skick import Actor, Directory, Skick
from skick.testing import ActorKit, Kit, SessionKit
from skick_core import Shard
from skick_ws import SessionActor
from tests.kit.apps import GREETING, hello_app

Message = dict[str, Any]


def app_with_everything(calls: list[str]) -> Skick:
    async def on_start(shard: Shard) -> None:
        calls.append("on_start")
        await shard.spawn("keeper", {})

    skick = Skick(on_start=on_start, rate_limit=7.0, conversation_timeout=9.0)
    table = skick  # the app itself: its hash() must be the running kit's

    @skick.actor("keeper")
    def keeper(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def start() -> None:
            inst.register_service("keeper")
            await table.hash("visits").set("started", True)

    @skick.session("visit")
    def visit(inst: SessionActor, message: Message) -> None:
        @inst.on_start
        async def start() -> None:
            visits = table.hash("visits")
            count = (await visits.get("count") or 0) + 1
            await visits.set("count", count)
            await inst.socksend({"visit": count, "keeper": inst.get_service("keeper")})

    return skick


async def test_a_skick_app_runs_privately_in_every_kit() -> None:
    calls: list[str] = []
    skick = app_with_everything(calls)
    for _ in range(2):  # the same app, a fresh runtime each time
        async with Kit(skick) as kit:
            assert isinstance(kit, SessionKit)
            assert calls[-1] == "on_start"
            assert skick.shard is kit.shard
            assert skick.server is kit.server
            assert await skick.hash("visits").get("started") is True
            client = await kit.connect("visit")
            await client.expect({"visit": 1, "keeper": str})
            client = await kit.connect("visit")
            await client.expect({"visit": 2})
            assert kit.runtime.options.conversation_timeout == 9.0
            assert kit.runtime.options.strict  # the kit's default
            assert kit.server.settings.rate_limit == 7.0
    assert calls == ["on_start", "on_start"]
    assert skick.server is None
    assert not skick.runtime.running  # the app's own runtime was never used


async def test_options_override_the_apps() -> None:
    skick = app_with_everything([])
    skick.configure(port=1)  # a test server never takes the app's host and port
    async with Kit(skick, socket=True, rate_limit=None, strict=False) as kit:
        assert kit.server.settings.rate_limit is None
        assert kit.server.settings.host == "127.0.0.1"
        assert kit.server.port != 1
        assert not kit.runtime.options.strict
        client = await kit.connect("visit")
        await client.expect({"visit": 1})


async def test_a_directory_and_on_start() -> None:
    directory = Directory()
    started: list[str] = []

    @directory.actor("a")
    def a(inst: Actor, message: Message) -> None:
        pass

    async def on_start(shard: Shard) -> None:
        started.append(await shard.spawn("a"))

    async with Kit(directory, on_start=on_start) as kit:
        assert started[0] in kit.shard.actors


async def test_a_failing_start_restores_the_app() -> None:
    async def on_start(shard: Shard) -> None:
        raise RuntimeError("boom")

    skick = Skick(on_start=on_start)
    with pytest.raises(RuntimeError, match="boom"):
        async with Kit(skick):
            pass  # pragma: no cover - never entered
    assert skick.server is None


async def test_the_same_kit_api_from_every_import() -> None:
    async with Kit(hello_app()) as kit:
        client = await kit.connect("hello")
        await client.expect(GREETING)
    assert issubclass(Kit, ActorKit)
