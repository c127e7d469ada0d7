"""Testing Skick: a test kit for application authors, and conformance suites for plugins.

**The test kit** runs a runtime for one test, in this process::

    from skick_core.testing import ANY, ActorKit

    async def test_counter():
        async with ActorKit(directory) as kit:
            counter = await kit.spawn("counter", {"start": 40})
            assert await kit.call(counter, {"action": "increment", "by": 2}) == {"count": 42}
            probe = await kit.probe()
            await probe.monitor(counter)
            await kit.stop(counter)
            await probe.expect_sentinel(counter, type="cancellation")

- :class:`ActorKit`: the runtime as an async context manager; ``spawn``, ``send``,
  ``call``, ``conversation``, ``stop``, ``probe``.
- :class:`Probe`: an actor the test drives: ``send``, ``receive``, ``expect``,
  ``expect_nothing``, ``monitor``, ``expect_sentinel``, ``reply`` to calls it gets,
  ``call`` and ``conversation`` (a :class:`Talk`).
- Patterns (:func:`matches`): a dict matches a message that has its keys with
  matching values (extra keys allowed, at every depth); :data:`ANY` matches
  anything; a type matches its instances; a compiled regex matches a string; any
  other callable is a predicate; anything else must be equal.

Every wait is bounded (2 s by default, ``ActorKit(timeout=…)``) and a failed
expectation raises ``AssertionError`` showing what did arrive. The websocket
session kit (``skick_ws.testing``) and ``skick.testing`` (with a pytest plugin)
build on this one; docs/testing.md is the guide.

**Conformance suites** for plugins: every transport and hash backend should pass
them. They are plain coroutines that raise ``AssertionError`` on the first
deviation, so any test runner can call them::

    async def test_my_backend():
        await check_hash(lambda: MyBackend("my://…"))

    async def test_my_transport():
        await check_transport(lambda: MyTransport("my://…"))
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from .._actor import Actor, Message
from .._conversation import Call, Respond
from .._directory import Directory
from .._runtime import Runtime
from ..abc import HashBackend, Transport
from ..exceptions import SpawnError
from ._inbox import Inbox
from ._kit import DEFAULT_TIMEOUT, DEFAULT_WITHIN, ActorKit
from ._match import ANY, describe, matches, mismatch
from ._probe import Probe, Talk

__all__ = [
    "ANY",
    "DEFAULT_TIMEOUT",
    "DEFAULT_WITHIN",
    "ActorKit",
    "Inbox",
    "Probe",
    "Talk",
    "check_hash",
    "check_transport",
    "describe",
    "matches",
    "mismatch",
]

_VALUES: list[Any] = [
    0,
    -7,
    2**53 + 1,
    1.5,
    -0.25,
    1e300,
    "",
    'text with ünïcødé and "quotes" and \n newlines',
    True,
    False,
    None,
    [],
    [1, "two", 3.0, None, [True]],
    {},
    {"nested": {"list": [1, 2, {"deep": None}]}, "n": 1},
]
_KEYS = ["plain", "", "with space", "ünïcødé", "a:b/c\\d*?[x]", "\n\t", "x" * 500]


async def check_hash(make_backend: Callable[[], HashBackend], shared: bool = True) -> None:
    """Check a hash backend against the semantics of the in-memory one.

    *make_backend* is called twice; with *shared* (Redis, ``memory://<name>``) both
    backends must see the same tables, otherwise neither sees the other's. Table
    names are random so runs do not collide, and the kit deletes what it wrote.
    """
    table = f"skick-conformance-{uuid.uuid4().hex}"
    async with Runtime(hashes=make_backend()) as first, Runtime(hashes=make_backend()) as second:
        h = first.hash(table)
        for key in _KEYS:
            assert await h.get(key) is None, "a missing key reads as None"
            assert await h.get(key, "dflt") == "dflt", "get() returns the default"
            assert not await h.contains(key), "a missing key is not contained"
            try:
                await h[key]
            except KeyError:
                pass
            else:
                raise AssertionError("h[missing] must raise KeyError")
        for i, value in enumerate(_VALUES):
            key = _KEYS[i % len(_KEYS)] + str(i)
            await h.set(key, value)
            got = await h.get(key)
            assert got == value, f"{value!r} came back as {got!r}"
            assert type(got) is type(value), f"{value!r} came back as {got!r}"
            assert await h[key] == value
            assert await h.contains(key)
        await h.set("tuple", (1, 2))
        assert await h.get("tuple") == [1, 2], "values round-trip as JSON (tuples become lists)"
        for bad in (math.nan, object()):
            try:
                await h.set("bad", bad)
            except TypeError:
                pass
            else:
                raise AssertionError(f"{bad!r} is not JSON and must be refused with TypeError")
        # Fire-and-forget writes are applied in issue order and read back by the same shard.
        for n in range(200):
            h["counter"] = n
        del h["tuple"]
        h["after-delete"] = "yes"
        assert await h.get("counter") == 199, "background writes apply in order"
        assert not await h.contains("tuple")
        assert await h["after-delete"] == "yes"
        await h.delete("never-there")  # deleting a missing key is fine
        # Another runtime on the same backend: a shared backend (Redis, a named memory
        # store) sees the data; a private one sees an empty table, never stale data.
        other = second.hash(table)
        if shared:
            assert await other.get("counter") == 199, "a shared backend shares tables"
        else:
            assert await other.get("counter") is None, "a private backend shares nothing"
        # Tables are separate.
        assert await first.hash(table + "-other").get("counter") is None
        for key in [*_KEYS, "counter", "after-delete"]:
            await h.delete(key)
        for i in range(len(_VALUES)):
            await h.delete(_KEYS[i % len(_KEYS)] + str(i))
        assert await h.get("counter") is None


def _probe_directory(inbox: asyncio.Queue[Message]) -> Directory:
    directory = Directory()

    @directory.actor("echo")
    def echo(inst: Actor, message: Message) -> None:
        @inst.action("ping", schema={"action": "ping", "n": int})
        async def ping(msg: Message) -> None:
            await inbox.put(msg)

        @inst.action("ask")
        async def ask(msg: Message) -> Any:
            yield Respond(msg)
            following = yield {"twice": msg["n"] * 2}
            yield {"thrice": following["n"] * 3}

        @inst.action("crash")
        async def crash(msg: Message) -> None:
            raise RuntimeError("asked to crash")

    @directory.actor("watcher")
    def watcher(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def start() -> None:
            await inst.monitor(message["target"])

        @inst.default_sentinel
        async def sentinel(msg: Message) -> None:
            await inbox.put(msg)

    @directory.actor("caller")
    def caller(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def start() -> None:
            async def talk(_: Message) -> Any:
                first = yield Call(message["target"], {"action": "ask", "n": 2})
                second = yield {"n": 5}
                await inbox.put({"first": first, "second": second})

            await inst.converse({}, talk)

    return directory


@asynccontextmanager
async def _pair(make_transport: Callable[[], Transport]) -> AsyncIterator[tuple[Runtime, Runtime]]:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    left = Runtime(_probe_directory(inbox), transport=make_transport())
    right_dir = _probe_directory(inbox)
    right = Runtime(right_dir, transport=make_transport())
    async with left, right:
        left.inbox = inbox  # type: ignore[attr-defined]
        yield left, right


async def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)
    assert predicate(), what


async def check_transport(make_transport: Callable[[], Transport], timeout: float = 10.0) -> None:
    """Check a transport with two shards in this process.

    *make_transport* is called twice; the two transports must form one cluster.
    Covers membership, ordered delivery, JSON crossing, conversations, remote spawn,
    monitors across shards, services, dead letters and departure.
    """
    async with _pair(make_transport) as (left, right):
        inbox: asyncio.Queue[Message] = left.inbox  # type: ignore[attr-defined]
        ls, rs = left.shard, right.shard
        await _until(
            lambda: rs.shard_id in ls.shard_ids and ls.shard_id in rs.shard_ids,
            timeout,
            "the shards see each other",
        )
        # Ordered one-way delivery, as JSON.
        target = await right.spawn("echo")
        for n in range(100):
            assert await left.send(target, {"action": "ping", "n": n})
        for n in range(100):
            got = await asyncio.wait_for(inbox.get(), timeout)
            assert got == {"action": "ping", "n": n}, f"message {n} arrived as {got!r}"
        # A conversation across shards, two turns.
        await left.spawn("caller", {"target": target})
        got = await asyncio.wait_for(inbox.get(), timeout)
        assert got == {"first": {"twice": 4}, "second": {"thrice": 15}}, got
        # Dead letters on the far side are counted there.
        before = rs.dead_letters.total
        await left.send(target, {"action": "no-such-action"})
        await left.send(f"{rs.shard_id}:999999", {"action": "ping", "n": 1})
        await _until(lambda: rs.dead_letters.total >= before + 2, timeout, "remote dead letters")
        # Services are visible across shards.
        right.shard.services.register("conformance", target)
        await _until(
            lambda: ls.services.pick("conformance", "remote") == target,
            timeout,
            "a remote service is visible",
        )
        assert ls.services.pick("conformance", "local") is None
        # Remote spawn: placed where the type exists, address returned once it runs.
        ls.directory.actors.pop("crasher", None)
        rs.directory.actors["crasher"] = rs.directory.actors["echo"]
        rs._announce()
        await _until(
            lambda: "crasher" in ls._peer_types.get(rs.shard_id, ()),
            timeout,
            "remote actor types are visible",
        )
        remote = await ls.spawn("crasher", monitors=[])
        assert remote.startswith(rs.shard_id + ":"), remote
        try:
            await ls.spawn("no-shard-has-this")
        except SpawnError:
            pass
        else:
            raise AssertionError("spawning an unknown type must raise SpawnError")
        # Monitors across shards: a crash there is a sentinel here.
        watcher = await left.spawn("watcher", {"target": remote})
        await _until(lambda: watcher in rs.actors[remote].monitors, timeout, "monitor registered")
        await left.send(remote, {"action": "crash"})
        sentinel = await asyncio.wait_for(inbox.get(), timeout)
        assert sentinel["action"] == "sentinel" and sentinel["address"] == remote, sentinel
        assert sentinel["type"] == "exception" and sentinel["exception"] == "RuntimeError"
        # A shard that leaves: its services vanish and monitors of its actors hear it.
        watched = await right.spawn("echo")
        watcher = await left.spawn("watcher", {"target": watched})
        await _until(lambda: watcher in rs.actors[watched].monitors, timeout, "monitor registered")
        await right.close()
        await _until(lambda: rs.shard_id not in ls.shard_ids, timeout, "departure is seen")
        assert ls.services.pick("conformance") is None
        lost = await asyncio.wait_for(inbox.get(), timeout)
        assert lost["action"] == "sentinel" and lost["address"] == watched, lost
