"""The service registry as actors see it (``register_service`` & co.) and on its own."""

from __future__ import annotations

import asyncio

import pytest

from skick_core import Actor, Message, Runtime
from skick_core._services import ServiceRegistry
from tests.core.helpers import WAIT, actor_of, take, until


def declare_provider(rt: Runtime, inbox: asyncio.Queue[Message]) -> None:
    @rt.directory.actor("provider")
    def provider(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            for name in message.get("services", []):
                inst.register_service(name)

        @inst.action("lookup")
        async def lookup(msg: Message) -> None:
            found = inst.get_service(
                msg["name"], **({"local": msg["local"]} if "local" in msg else {})
            )
            await inbox.put({"found": found})

        @inst.action("withdraw")
        async def withdraw(msg: Message) -> None:
            inst.unregister_service()
            await inbox.put({"withdrawn": True})


async def lookup(rt: Runtime, asker: str, inbox: asyncio.Queue[Message], **query: str) -> object:
    await rt.send(asker, {"action": "lookup", **query})
    return (await take(inbox))["found"]


async def test_register_get_unregister(runtime: Runtime, inbox: asyncio.Queue[Message]) -> None:
    declare_provider(runtime, inbox)
    asker = await runtime.spawn("provider")
    assert await lookup(runtime, asker, inbox, name="echo") is None  # None when empty
    a = await runtime.spawn("provider", {"services": ["echo", "time"]})
    b = await runtime.spawn("provider", {"services": ["echo"]})
    for mode in ("local", "mixed"):
        found = {await lookup(runtime, asker, inbox, name="echo", local=mode) for _ in range(30)}
        assert found == {a, b}  # a random provider: both show up
    assert await lookup(runtime, asker, inbox, name="echo") in {a, b}
    assert await lookup(runtime, asker, inbox, name="time") == a
    assert await lookup(runtime, asker, inbox, name="echo", local="remote") is None
    await runtime.send(a, {"action": "withdraw"})
    assert await take(inbox) == {"withdrawn": True}
    assert await lookup(runtime, asker, inbox, name="time") is None
    assert await lookup(runtime, asker, inbox, name="echo") == b


async def test_services_vanish_when_the_provider_stops(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    declare_provider(runtime, inbox)
    provider = await runtime.spawn("provider", {"services": ["db"]})
    assert runtime.shard.services.pick("db") == provider
    await asyncio.wait_for(actor_of(runtime, provider).stop(), WAIT)
    assert runtime.shard.services.pick("db") is None
    assert runtime.shard.services.local == {}


async def test_services_vanish_when_the_provider_crashes(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    @runtime.directory.actor("unstable")
    def unstable(inst: Actor, message: Message) -> None:
        inst.register_service("flaky")

        @inst.action("crash")
        async def crash(msg: Message) -> None:
            raise RuntimeError("down")

    address = await runtime.spawn("unstable")
    assert runtime.shard.services.pick("flaky", "local") == address
    await runtime.send(address, {"action": "crash"})
    await until(lambda: runtime.shard.services.pick("flaky") is None)


async def test_invalid_local_mode_is_refused(runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="local"):
        runtime.shard.services.pick("x", "nearby")


def test_registry_with_peers() -> None:
    changes: list[int] = []
    registry = ServiceRegistry(on_change=lambda: changes.append(1))
    registry.register("s", "a:1")
    registry.register("s", "a:1")  # idempotent: no second change
    assert changes == [1]
    registry.unregister("nobody")  # nothing to remove: no change
    assert changes == [1]
    registry.set_peer("b", {"s": ["b:1", 7], "t": "not a list", "u": ["b:2"]})
    assert registry.remote == {"b": {"s": ["b:1"], "u": ["b:2"]}}
    assert registry.pick("s", "local") == "a:1"
    assert registry.pick("s", "mixed") == "a:1"  # local preferred
    assert registry.pick("s", "remote") == "b:1"
    assert registry.pick("u", "mixed") == "b:2"  # falls back to remote
    assert registry.pick("u", "local") is None
    registry.unregister("a:1")
    assert changes == [1, 1]
    assert registry.pick("s") == "b:1"
    registry.drop_peer("b")
    registry.drop_peer("b")  # idempotent
    assert registry.pick("s") is None
    ServiceRegistry().register("quiet", "a:1")  # without a change callback
