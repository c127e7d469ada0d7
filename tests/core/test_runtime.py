"""Spawning, the runtime's lifecycle and its options."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import pytest

from skick_core import (
    Actor,
    Directory,
    HashError,
    Message,
    RegistrationError,
    Runtime,
    RuntimeOptions,
    SkickError,
    SpawnError,
    TransportError,
)
from skick_core._memory import MemoryHashBackend
from skick_core.abc import HashTable, PeerInfo, Transport, TransportHost
from tests.core.helpers import WAIT, add_probe, take

# ------------------------------------------------------------------ spawn failures


async def test_spawn_of_an_unknown_type(runtime: Runtime) -> None:
    before = dict(runtime.shard.actors)
    with pytest.raises(SpawnError, match="no-such-type"):
        await runtime.spawn("no-such-type")
    assert runtime.shard.actors == before


async def test_spawn_from_an_actor_raises_into_the_handler(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    @runtime.directory.actor("spawner")
    def spawner(inst: Actor, message: Message) -> None:
        @inst.action("go")
        async def go(msg: Message) -> None:
            try:
                await inst.spawn("missing")
            except SpawnError as exc:
                await inbox.put({"error": str(exc)})

    address = await runtime.spawn("spawner")
    await runtime.send(address, {"action": "go"})
    assert "missing" in (await take(inbox))["error"]
    assert address in runtime.shard.actors


async def test_factory_that_raises(runtime: Runtime) -> None:
    @runtime.directory.actor("broken")
    def broken(inst: Actor, message: Message) -> None:
        raise ValueError("bad declaration")

    before = dict(runtime.shard.actors)
    with pytest.raises(SpawnError) as info:
        await runtime.spawn("broken")
    assert isinstance(info.value.__cause__, ValueError)
    assert runtime.shard.actors == before


async def test_on_start_that_raises_leaves_nothing_registered(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    add_probe(runtime.directory, inbox)
    probe = await runtime.spawn("probe")
    events: list[str] = []

    @runtime.directory.actor("doomed")
    def doomed(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            inst.register_service("doomed-service")
            await asyncio.sleep(0)
            raise ConnectionRefusedError("the API is down")

        @inst.daemon("never")
        async def never() -> None:
            events.append("daemon")

        @inst.action("x")
        async def x(msg: Message) -> None:
            events.append("handled")

    before = dict(runtime.shard.actors)
    with pytest.raises(SpawnError) as info:
        await runtime.shard.spawn("doomed", monitors=[probe])
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert runtime.shard.actors == before
    assert runtime.shard.services.pick("doomed-service") is None
    # Its monitors hear nothing: it never ran.
    await runtime.send(probe, {"action": "ping", "reply_to": probe})
    assert await take(inbox) == {"action": "report", "pong": True}
    assert events == []


async def test_stopped_during_on_start_fails_the_spawn(runtime: Runtime) -> None:
    @runtime.directory.actor("quitter")
    def quitter(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            await inst.stop()
            await asyncio.sleep(0.5)

    with pytest.raises(SpawnError, match="stopped"):
        await asyncio.wait_for(runtime.spawn("quitter"), WAIT)
    assert len(runtime.shard.actors) == 1  # only the shard actor


async def test_spawn_a_bare_factory(runtime: Runtime, inbox: asyncio.Queue[Message]) -> None:
    def anonymous(inst: Actor, message: Message) -> None:
        @inst.action("hi")
        async def hi(msg: Message) -> None:
            await inbox.put({"type": inst.type_name})

    address = await runtime.shard.spawn(anonymous)
    await runtime.send(address, {"action": "hi"})
    assert await take(inbox) == {"type": "anonymous"}


async def test_resolve_factory_of_unknown_type_is_a_registration_error(runtime: Runtime) -> None:
    with pytest.raises(RegistrationError):
        runtime.shard.resolve_factory("nothing")


async def test_spawn_after_close_fails() -> None:
    rt = Runtime()

    @rt.directory.actor("a")
    def a(inst: Actor, message: Message) -> None:
        pass

    async with rt:
        await rt.spawn("a")
    with pytest.raises(SpawnError, match="shutting down"):
        await rt.spawn("a")


async def test_spawn_message_defaults_to_an_empty_dict(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    @runtime.directory.actor("shows")
    def shows(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            await inbox.put({"init": message})

    await runtime.spawn("shows")
    assert await take(inbox) == {"init": {}}


async def test_spawn_by_message_to_the_shard_actor(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    @runtime.directory.actor("hello")
    def hello(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            await inbox.put({"hello": message.get("who")})

    shard_actor = runtime.shard.address
    assert await runtime.send(
        shard_actor, {"action": "spawn", "type": "hello", "message": {"who": "there"}}
    )
    assert await take(inbox) == {"hello": "there"}
    assert await runtime.call(shard_actor, {"action": "spawn", "type": "nope"}) == {
        "error": "unknown actor type 'nope'"
    }
    reply = await runtime.call(shard_actor, {"action": "spawn", "type": "hello"})
    assert reply["address"] in runtime.shard.actors
    assert await take(inbox) == {"hello": None}


# ------------------------------------------------------------------ lifecycle


def is_running(rt: Runtime) -> bool:
    return rt.running


async def test_runtime_lifecycle() -> None:
    rt = Runtime()
    assert not is_running(rt)
    await rt.close()  # closing a runtime that never started is harmless
    rt = Runtime()
    async with rt as entered:
        assert entered is rt
        assert is_running(rt)
        with pytest.raises(SkickError, match="once"):
            await rt.start()
    assert not is_running(rt)
    await rt.close()  # idempotent
    with pytest.raises(SkickError):
        await rt.start()


async def test_runtime_shares_a_directory_declared_up_front(
    inbox: asyncio.Queue[Message],
) -> None:
    directory = Directory()

    @directory.actor("declared")
    def declared(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            await inbox.put({"n": message["n"]})

    async with Runtime(directory) as rt:
        assert rt.directory is directory
        await rt.spawn("declared", {"n": 1})
        assert await take(inbox) == {"n": 1}


def test_runtime_options() -> None:
    rt = Runtime(mailbox_size=3, conversation_timeout=0.5)
    assert rt.options.mailbox_size == 3
    assert rt.options.conversation_timeout == 0.5
    assert rt.options.send_timeout == RuntimeOptions().send_timeout
    base = RuntimeOptions(stop_timeout=2.0)
    rt = Runtime(options=base, strict=True)
    assert rt.options.stop_timeout == 2.0
    assert rt.options.strict
    assert Runtime(options=base).options is base
    with pytest.raises(TypeError, match="no_such_option"):
        Runtime(no_such_option=1)


@pytest.mark.parametrize(
    "bad",
    [
        {"mailbox_size": 0},
        {"send_timeout": 0},
        {"conversation_timeout": -1},
        {"spawn_timeout": 0},
        {"stop_timeout": 0},
    ],
)
def test_runtime_options_are_validated(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        RuntimeOptions(**bad)


async def test_shard_tracks_background_tasks(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    async def fails() -> None:
        raise RuntimeError("background failure")

    async def works() -> int:
        return 1

    with caplog.at_level(logging.ERROR, logger="skick.shard"):
        failing, working = runtime.shard.track(fails()), runtime.shard.track(works())
        await asyncio.wait((failing, working), timeout=WAIT)
        await asyncio.sleep(0)
    assert working.result() == 1
    assert any("background task failed" in r.getMessage() for r in caplog.records)


async def test_close_cancels_hanging_background_tasks() -> None:
    cancelled = asyncio.Event()
    async with Runtime(stop_timeout=0.05) as rt:

        async def hangs() -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

        rt.shard.track(hangs())
        await asyncio.sleep(0)
    await asyncio.wait_for(cancelled.wait(), WAIT)


# ------------------------------------------------------------------ failing plugins


class _BrokenHashes(MemoryHashBackend):
    async def open(self) -> None:
        raise ConnectionRefusedError("no hash server")


class _BrokenTransport(Transport):
    closed = False

    async def start(self, host: TransportHost) -> None:
        raise ConnectionRefusedError("no broker")

    async def close(self) -> None:
        type(self).closed = True

    async def send(self, address: str, message: dict[str, Any]) -> bool:
        return False

    def announce(self, info: PeerInfo) -> None:
        pass

    def peers(self) -> Mapping[str, PeerInfo]:
        return {}


async def test_hash_backend_that_cannot_open() -> None:
    rt = Runtime(hashes=_BrokenHashes())
    with pytest.raises(HashError, match="no hash server") as info:
        await rt.start()
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert not rt.running


async def test_transport_that_cannot_start() -> None:
    rt = Runtime(transport=_BrokenTransport("broken://"))
    with pytest.raises(TransportError, match="no broker"):
        await rt.start()
    assert not rt.running
    assert _BrokenTransport.closed


async def test_skick_errors_from_plugins_pass_unchanged() -> None:
    class Refusing(MemoryHashBackend):
        async def open(self) -> None:
            raise HashError("refused on purpose")

    with pytest.raises(HashError, match="refused on purpose") as info:
        await Runtime(hashes=Refusing()).start()
    assert info.value.__cause__ is None


def test_hash_table_abc_is_abstract() -> None:
    with pytest.raises(TypeError):
        HashTable()  # type: ignore[abstract]
