"""Actors: handlers, state, lifecycle hooks, stop, daemons and bad input (DESIGN §3, §3a)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from skick_core import Actor, Message, Runtime, SpawnError
from tests.core.helpers import WAIT, actor_of, add_probe, check_sentinel, take, until


def declare_counter(rt: Runtime, inbox: asyncio.Queue[Message]) -> None:
    @rt.directory.actor("counter")
    def counter(inst: Actor, message: Message) -> None:
        count = message.get("start", 0)

        @inst.action("add", schema={"action": "add", "number": int})
        async def add(msg: Message) -> None:
            nonlocal count
            count += msg["number"]

        @inst.action("tell")
        async def tell(msg: Message) -> None:
            await inbox.put({"count": count})


async def test_handlers_keep_state_between_messages(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    declare_counter(runtime, inbox)
    address = await runtime.spawn("counter", {"start": 5})
    for n in (1, 2, 3):
        assert await runtime.send(address, {"action": "add", "number": n}) is True
    assert await runtime.send(address, {"action": "tell"})
    assert await take(inbox) == {"count": 11}


async def test_address_name_and_repr(runtime: Runtime) -> None:
    seen: list[Actor] = []

    @runtime.directory.actor("plain")
    def plain(inst: Actor, message: Message) -> None:
        seen.append(inst)

    address = await runtime.spawn("plain")
    (inst,) = seen
    assert inst.address == inst.name == address
    assert address.startswith(runtime.shard.shard_id + ":")
    assert "plain" in repr(inst)
    assert address in repr(inst)
    assert runtime.shard.shard_id in repr(runtime.shard)


async def test_on_start_finishes_before_the_first_message(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    events: list[str] = []

    @runtime.directory.actor("starter")
    def starter(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            events.append("start")
            # Queued now, but it must not be handled before on_start ends.
            assert await inst.send(inst.address, {"action": "hello"})
            await asyncio.sleep(0.01)
            events.append("started")

        @inst.action("hello")
        async def hello(msg: Message) -> None:
            events.append("hello")
            await inbox.put(msg)

    await runtime.spawn("starter")
    assert events[:2] == ["start", "started"]  # spawn returns once on_start is done
    await take(inbox)
    assert events == ["start", "started", "hello"]


async def test_on_start_and_on_stop_decorators_with_parentheses(runtime: Runtime) -> None:
    events: list[str] = []

    @runtime.directory.actor("hooks")
    def hooks(inst: Actor, message: Message) -> None:
        @inst.on_start()
        async def begin() -> None:
            events.append("start")

        @inst.on_stop()
        async def end() -> None:
            events.append("stop")

    address = await runtime.spawn("hooks")
    await actor_of(runtime, address).stop()
    assert events == ["start", "stop"]


# ------------------------------------------------------------------ bad input


BAD_MESSAGES: list[tuple[Any, str]] = [
    ([1, 2, 3], "not a dict"),
    ("add 1", "not a dict"),
    ({"number": 1}, "no action"),
    ({"action": 5, "number": 1}, "no action"),
    ({"action": None}, "no action"),
    ({"action": "subtract", "number": 1}, "unknown action"),
    ({"action": "add", "number": "one"}, "schema mismatch"),
    ({"action": "add"}, "schema mismatch"),
    ({"action": "add", "number": 1, "extra": True}, "schema mismatch"),
]


@pytest.mark.parametrize(("message", "reason"), BAD_MESSAGES)
async def test_bad_input_is_a_counted_dead_letter_and_harms_nobody(
    runtime: Runtime, inbox: asyncio.Queue[Message], message: Any, reason: str
) -> None:
    declare_counter(runtime, inbox)
    address = await runtime.spawn("counter")
    before = runtime.shard.dead_letters.counts[reason]
    assert await runtime.send(address, message) is False
    assert runtime.shard.dead_letters.counts[reason] == before + 1
    # The actor and the shard carry on.
    assert await runtime.send(address, {"action": "add", "number": 2})
    assert await runtime.send(address, {"action": "tell"})
    assert await take(inbox) == {"count": 2}
    assert address in runtime.shard.actors


async def test_actor_to_actor_bad_sends_return_false(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    """``inst.send`` reports dead letters the same way; it never raises into the sender."""
    declare_counter(runtime, inbox)
    target = await runtime.spawn("counter")

    @runtime.directory.actor("sender")
    def sender(inst: Actor, message: Message) -> None:
        @inst.action("go")
        async def go(msg: Message) -> None:
            results = [
                await inst.send(target, {"action": "nope"}),
                await inst.send(f"{runtime.shard.shard_id}:999999", {"action": "add"}),
                await inst.send("no-colon-at-all", {"action": "add"}),
                await inst.send(target, {"action": "add", "number": 3}),
            ]
            await inbox.put({"results": results})

    address = await runtime.spawn("sender")
    await runtime.send(address, {"action": "go"})
    assert await take(inbox) == {"results": [False, False, False, True]}


@pytest.mark.parametrize("address", [["not", "hashable"], {"a": 1}])
async def test_unhashable_address_is_a_dead_letter(runtime: Runtime, address: Any) -> None:
    before = runtime.shard.dead_letters.counts["bad address"]
    assert await runtime.send(address, {"action": "x"}) is False
    assert runtime.shard.dead_letters.counts["bad address"] == before + 1


@pytest.mark.parametrize("address", ["nowhere:1", "", 42, None])
async def test_dead_addresses_are_dead_letters(runtime: Runtime, address: Any) -> None:
    before = runtime.shard.dead_letters.counts["dead address"]
    assert await runtime.send(address, {"action": "x"}) is False
    assert runtime.shard.dead_letters.counts["dead address"] == before + 1


async def test_handler_exception_ends_only_that_actor(
    runtime: Runtime, inbox: asyncio.Queue[Message], caplog: pytest.LogCaptureFixture
) -> None:
    add_probe(runtime.directory, inbox)
    declare_counter(runtime, inbox)
    probe = await runtime.spawn("probe")
    bystander = await runtime.spawn("counter")
    stopped: list[str] = []

    @runtime.directory.actor("fragile")
    def fragile(inst: Actor, message: Message) -> None:
        @inst.action("break")
        async def break_(msg: Message) -> None:
            raise ZeroDivisionError("boom")

        @inst.on_stop
        async def bye() -> None:
            stopped.append("on_stop")

    address = await runtime.spawn("fragile")
    await runtime.send(address, {"action": "monitor", "address": probe})
    with caplog.at_level(logging.ERROR):
        assert await runtime.send(address, {"action": "break"})
        check_sentinel(await take(inbox), address, "exception", "ZeroDivisionError")
    assert stopped == ["on_stop"]
    assert address not in runtime.shard.actors
    assert any("crashed" in r.getMessage() for r in caplog.records)
    # Everyone else is fine.
    assert await runtime.send(bystander, {"action": "add", "number": 1})
    assert await runtime.send(bystander, {"action": "tell"})
    assert await take(inbox) == {"count": 1}
    # The dead actor's address is now a dead letter.
    assert await runtime.send(address, {"action": "break"}) is False


# ------------------------------------------------------------------ stop


async def test_stop_from_outside_is_idempotent_and_runs_on_stop_once(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    add_probe(runtime.directory, inbox)
    probe = await runtime.spawn("probe")
    stops: list[str] = []

    @runtime.directory.actor("stoppable")
    def stoppable(inst: Actor, message: Message) -> None:
        @inst.action("noop")
        async def noop(msg: Message) -> None:
            pass

        @inst.on_stop
        async def bye() -> None:
            await asyncio.sleep(0.01)  # a real suspension inside on_stop
            stops.append("stopped")

    address = await runtime.spawn("stoppable")
    actor = actor_of(runtime, address)
    assert await runtime.send(address, {"action": "monitor", "address": probe})
    assert await runtime.send(probe, {"action": "ping", "reply_to": probe})
    await take(inbox)  # the monitor request was handled before the ping round trip
    await asyncio.wait_for(actor.stop(), WAIT)
    assert stops == ["stopped"]
    check_sentinel(await take(inbox), address, "cancellation")
    assert address not in runtime.shard.actors
    await asyncio.wait_for(actor.stop(), WAIT)  # idempotent
    await asyncio.wait_for(asyncio.gather(actor.stop(), actor.stop()), WAIT)
    assert stops == ["stopped"]
    assert await runtime.send(address, {"action": "noop"}) is False


async def test_stop_from_inside_a_handler(runtime: Runtime, inbox: asyncio.Queue[Message]) -> None:
    add_probe(runtime.directory, inbox)
    probe = await runtime.spawn("probe")
    stopped = asyncio.Event()
    daemon_cancelled = asyncio.Event()

    @runtime.directory.actor("quitter")
    def quitter(inst: Actor, message: Message) -> None:
        @inst.action("quit")
        async def quit_(msg: Message) -> None:
            await inst.stop()
            await inst.stop()  # idempotent from inside too

        @inst.daemon("forever")
        async def forever() -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                daemon_cancelled.set()
                raise

        @inst.on_stop
        async def bye() -> None:
            await asyncio.sleep(0.01)  # on_stop may await after a self-stop
            stopped.set()

    address = await runtime.spawn("quitter")
    await runtime.send(address, {"action": "monitor", "address": probe})
    assert await runtime.send(address, {"action": "quit"})
    check_sentinel(await take(inbox), address, "cancellation")
    assert stopped.is_set()
    assert daemon_cancelled.is_set()
    assert address not in runtime.shard.actors


async def test_stop_from_inside_takes_effect_at_the_next_await(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    add_probe(runtime.directory, inbox)
    probe = await runtime.spawn("probe")
    reached: list[str] = []

    @runtime.directory.actor("quitter")
    def quitter(inst: Actor, message: Message) -> None:
        @inst.action("quit")
        async def quit_(msg: Message) -> None:
            await inst.stop()
            reached.append("after stop")
            await asyncio.sleep(0.5)
            reached.append("after sleep")  # never: the stop cancels this await

        @inst.on_stop
        async def bye() -> None:
            await asyncio.sleep(0)
            reached.append("on_stop")

    address = await runtime.spawn("quitter")
    await runtime.send(address, {"action": "monitor", "address": probe})
    await runtime.send(address, {"action": "quit"})
    check_sentinel(await take(inbox), address, "cancellation")
    assert reached == ["after stop", "on_stop"]


async def test_messages_left_in_the_mailbox_at_stop_are_dead_letters(runtime: Runtime) -> None:
    release = asyncio.Event()
    busy = asyncio.Event()

    @runtime.directory.actor("slow")
    def slow(inst: Actor, message: Message) -> None:
        @inst.action("work")
        async def work(msg: Message) -> None:
            busy.set()
            await release.wait()

    address = await runtime.spawn("slow")
    await runtime.send(address, {"action": "work"})
    await asyncio.wait_for(busy.wait(), WAIT)
    await runtime.send(address, {"action": "work"})
    await runtime.send(address, {"action": "work"})
    before = runtime.shard.dead_letters.counts["actor stopped"]
    await asyncio.wait_for(actor_of(runtime, address).stop(), WAIT)
    assert runtime.shard.dead_letters.counts["actor stopped"] == before + 2


async def test_on_stop_that_raises_or_hangs_is_bounded_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[str] = []
    async with Runtime(stop_timeout=0.1) as rt:

        @rt.directory.actor("bad_stop")
        def bad_stop(inst: Actor, message: Message) -> None:
            @inst.on_stop
            async def hang() -> None:
                events.append("hang")
                await asyncio.Event().wait()

            @inst.on_stop
            async def fail() -> None:
                events.append("fail")
                raise RuntimeError("on_stop failed")

            @inst.on_stop
            async def last() -> None:
                events.append("last")

        address = await rt.spawn("bad_stop")
        with caplog.at_level(logging.ERROR):
            await asyncio.wait_for(actor_of(rt, address).stop(), WAIT)
    assert events == ["hang", "fail", "last"]
    assert sum("on_stop" in r.getMessage() for r in caplog.records) == 2


async def test_runtime_close_stops_every_actor_running_on_stop() -> None:
    stops: list[int] = []
    async with Runtime() as rt:

        @rt.directory.actor("worker")
        def worker(inst: Actor, message: Message) -> None:
            @inst.on_stop
            async def bye() -> None:
                await asyncio.sleep(0)
                stops.append(message["n"])

        for n in range(5):
            await rt.spawn("worker", {"n": n})
    assert sorted(stops) == [0, 1, 2, 3, 4]
    assert rt.shard.actors == {}
    assert not rt.running


# ------------------------------------------------------------------ daemons


async def test_daemon_runs_after_on_start_and_is_cancelled_at_stop(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    cancelled = asyncio.Event()

    @runtime.directory.actor("ticker")
    def ticker(inst: Actor, message: Message) -> None:
        started = False

        @inst.on_start
        async def begin() -> None:
            nonlocal started
            started = True

        @inst.daemon("tick")
        async def tick() -> None:
            await inbox.put({"started_before_daemon": started})
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

    address = await runtime.spawn("ticker")
    assert await take(inbox) == {"started_before_daemon": True}
    await asyncio.wait_for(actor_of(runtime, address).stop(), WAIT)
    assert cancelled.is_set()


async def test_ordinary_daemon_that_raises_is_logged_and_the_actor_lives(
    runtime: Runtime, inbox: asyncio.Queue[Message], caplog: pytest.LogCaptureFixture
) -> None:
    add_probe(runtime.directory, inbox)
    probe = await runtime.spawn("probe")
    crashed = asyncio.Event()

    @runtime.directory.actor("sloppy")
    def sloppy(inst: Actor, message: Message) -> None:
        @inst.daemon("oops")
        async def oops() -> None:
            await asyncio.sleep(0)
            crashed.set()
            raise ValueError("daemon failed")

        @inst.daemon("done_quickly")
        async def done_quickly() -> None:
            return None

        @inst.action("echo")
        async def echo(msg: Message) -> None:
            await inbox.put(msg)

    with caplog.at_level(logging.ERROR):
        address = await runtime.shard.spawn("sloppy", monitors=[probe])
        await asyncio.wait_for(crashed.wait(), WAIT)
        await asyncio.sleep(0)
    assert any(
        "oops" in r.getMessage() and r.exc_info and r.exc_info[0] is ValueError
        for r in caplog.records
    )
    assert await runtime.send(address, {"action": "echo", "alive": True})
    assert await take(inbox) == {"action": "echo", "alive": True}  # no sentinel came first
    assert address in runtime.shard.actors


@pytest.mark.parametrize("ending", ["return", "raise"])
async def test_dead_mans_hand_daemon_ends_the_actor_with_a_cancellation(
    runtime: Runtime, inbox: asyncio.Queue[Message], ending: str
) -> None:
    add_probe(runtime.directory, inbox)
    probe = await runtime.spawn("probe")
    go = asyncio.Event()
    stopped = asyncio.Event()

    @runtime.directory.actor("guarded")
    def guarded(inst: Actor, message: Message) -> None:
        @inst.daemon("hand", dead_mans_hand=True)
        async def hand() -> None:
            await go.wait()
            if ending == "raise":
                raise OSError("connection lost")

        @inst.on_stop
        async def bye() -> None:
            stopped.set()

    address = await runtime.shard.spawn("guarded", monitors=[probe])
    go.set()
    check_sentinel(await take(inbox), address, "cancellation")
    assert stopped.is_set()
    assert address not in runtime.shard.actors


# ------------------------------------------------------------------ replace


async def test_replace_swaps_behaviour_and_keeps_the_address(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    old_daemon_cancelled = asyncio.Event()
    new_daemon = asyncio.Event()
    go = asyncio.Event()
    swapping = asyncio.Event()
    events: list[str] = []

    @runtime.directory.actor("caterpillar")
    def caterpillar(inst: Actor, message: Message) -> None:
        @inst.daemon("crawl")
        async def crawl() -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                old_daemon_cancelled.set()
                raise

        @inst.on_stop
        async def old_stop() -> None:
            events.append("old on_stop")  # must not run on replace

        @inst.action("crawl")
        async def crawl_action(msg: Message) -> None:
            await inbox.put({"who": "caterpillar"})

        @inst.action("fly")  # no schema here; the butterfly's is stricter
        async def fly(msg: Message) -> None:
            await inbox.put({"who": "caterpillar", "fly": msg})

        @inst.action("metamorphose")
        async def metamorphose(msg: Message) -> None:
            swapping.set()
            await go.wait()
            inst.register_service("larva")
            await inst.replace("butterfly", {"colour": "blue"})
            events.append("handler resumed")

    @runtime.directory.actor("butterfly")
    def butterfly(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            events.append(f"butterfly on_start {message['colour']}")

        @inst.daemon("flutter")
        async def flutter() -> None:
            new_daemon.set()

        @inst.action("fly", schema={"action": "fly", "height": int})
        async def fly(msg: Message) -> None:
            await inbox.put({"who": "butterfly", "height": msg["height"]})

    address = await runtime.spawn("caterpillar")
    await runtime.send(address, {"action": "metamorphose"})
    await asyncio.wait_for(swapping.wait(), WAIT)
    # Queued under the old behaviour, revalidated against the new one.
    assert await runtime.send(address, {"action": "crawl"})
    assert await runtime.send(address, {"action": "fly", "height": "high"})
    assert await runtime.send(address, {"action": "fly", "height": 3})
    counts = runtime.shard.dead_letters.counts
    unknown, mismatch = counts["unknown action"], counts["schema mismatch"]
    go.set()
    assert await take(inbox) == {"who": "butterfly", "height": 3}
    assert (counts["unknown action"], counts["schema mismatch"]) == (unknown + 1, mismatch + 1)
    assert old_daemon_cancelled.is_set()
    assert events[:2] == ["butterfly on_start blue", "handler resumed"]
    assert "old on_stop" not in events
    await asyncio.wait_for(new_daemon.wait(), WAIT)  # the new type's daemons run
    assert runtime.shard.services.pick("larva") is None  # services are dropped
    # The old actions are gone, the new ones validate.
    assert await runtime.send(address, {"action": "crawl"}) is False
    assert await runtime.send(address, {"action": "fly", "height": "high"}) is False
    assert address in runtime.shard.actors
    assert actor_of(runtime, address).type_name == "butterfly"


async def test_replace_with_a_factory_and_from_on_start(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    def final(inst: Actor, message: Message) -> None:
        @inst.action("who")
        async def who(msg: Message) -> None:
            await inbox.put({"stage": "final", "number": message["number"]})

        @inst.daemon("announce")
        async def announce() -> None:
            await inbox.put({"daemon": "final"})

    @runtime.directory.actor("first")
    def first(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            await inst.replace(final, {"number": 7})

        @inst.daemon("never")
        async def never() -> None:  # replaced before the actor ran: never started
            await inbox.put({"daemon": "first"})

    address = await runtime.spawn("first")
    assert await take(inbox) == {"daemon": "final"}
    await runtime.send(address, {"action": "who"})
    assert await take(inbox) == {"stage": "final", "number": 7}
    assert actor_of(runtime, address).type_name == "final"


async def test_replace_with_an_unknown_type_raises_in_the_handler(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    from skick_core import RegistrationError

    @runtime.directory.actor("stubborn")
    def stubborn(inst: Actor, message: Message) -> None:
        @inst.action("try")
        async def try_(msg: Message) -> None:
            try:
                await inst.replace("no-such-type")
            except RegistrationError as exc:
                await inbox.put({"error": str(exc)})

        @inst.action("still")
        async def still(msg: Message) -> None:
            await inbox.put({"still": "here"})

    address = await runtime.spawn("stubborn")
    await runtime.send(address, {"action": "try"})
    assert "no-such-type" in (await take(inbox))["error"]
    await runtime.send(address, {"action": "still"})
    assert await take(inbox) == {"still": "here"}


@pytest.mark.parametrize("kind", ["action", "daemon", "on_start", "on_stop"])
async def test_plain_functions_are_refused_at_declaration(runtime: Runtime, kind: str) -> None:
    @runtime.directory.actor("careless")
    def careless(inst: Actor, message: Message) -> None:
        def not_async(*args: Any) -> None:
            pass

        if kind == "action":
            inst.action("x")(not_async)
        elif kind == "daemon":
            inst.daemon("x")(not_async)
        else:
            getattr(inst, kind)(not_async)

    with pytest.raises(SpawnError) as info:
        await runtime.spawn("careless")
    assert isinstance(info.value.__cause__, TypeError)
    assert "async def" in str(info.value.__cause__)


async def test_system_messages_survive_a_replace_with_a_full_mailbox(
    inbox: asyncio.Queue[Message],
) -> None:
    async with Runtime(mailbox_size=1, send_timeout=0.01) as rt:
        busy, go = asyncio.Event(), asyncio.Event()

        @rt.directory.actor("victim")
        def victim(inst: Actor, message: Message) -> None:
            @inst.action("crash")
            async def crash(msg: Message) -> None:
                raise RuntimeError("crash")

        @rt.directory.actor("before")
        def before(inst: Actor, message: Message) -> None:
            @inst.action("swap")
            async def swap(msg: Message) -> None:
                busy.set()
                await go.wait()
                await inst.replace("after")

            @inst.action("keep")
            async def keep(msg: Message) -> None:
                pass

        @rt.directory.actor("after")
        def after(inst: Actor, message: Message) -> None:
            @inst.action("keep")
            async def keep(msg: Message) -> None:
                await inbox.put({"kept": True})

            @inst.default_sentinel
            async def sentinel(msg: Message) -> None:
                await inbox.put({"sentinel": msg["address"]})

        address = await rt.spawn("before")
        victim_address = await rt.spawn("victim")
        await rt.send(victim_address, {"action": "monitor", "address": address})
        await rt.send(address, {"action": "swap"})
        await asyncio.wait_for(busy.wait(), WAIT)
        assert await rt.send(address, {"action": "keep"})  # the mailbox is now full
        await rt.send(victim_address, {"action": "crash"})  # its sentinel is forced in
        await until(lambda: len(actor_of(rt, address)._mailbox) == 2)
        go.set()
        assert await take(inbox) == {"kept": True}
        assert await take(inbox) == {"sentinel": victim_address}
