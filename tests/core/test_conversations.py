"""Conversations: Call/Respond, many at once, turns, timeouts and partners that go away."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from skick_core import (
    Actor,
    Call,
    ConversationEnded,
    ConversationError,
    ConversationTimeout,
    Message,
    Respond,
    Runtime,
)
from tests.core.helpers import WAIT, actor_of, add_probe, check_sentinel, take, until

Gen = AsyncGenerator[Any, Any]


def declare_adder(rt: Runtime) -> None:
    """The guide's conversation accumulator, with the schema on the responder."""

    @rt.directory.actor("adder")
    def adder(inst: Actor, message: Message) -> None:
        tally = message.get("initial_tally", 0)

        @inst.action("add", schema={"action": "add", "number": int})
        async def add(msg: Message) -> Gen:
            nonlocal tally
            yield Respond(msg)
            tally += msg["number"]
            yield {"tally": tally}


def declare_caller(rt: Runtime, inbox: asyncio.Queue[Message]) -> None:
    """Calls ``message["target"]`` with ``msg["call"]`` and reports the answer or error."""

    @rt.directory.actor("caller")
    def caller(inst: Actor, message: Message) -> None:
        @inst.action("call")
        async def call(msg: Message) -> Gen:
            try:
                reply = yield Call(msg["target"], msg["call"], timeout=msg.get("timeout"))
            except ConversationError as exc:
                await inbox.put({"error": type(exc).__name__, "detail": str(exc)})
            else:
                await inbox.put({"reply": reply})


async def test_call_and_respond(runtime: Runtime, inbox: asyncio.Queue[Message]) -> None:
    declare_adder(runtime)
    declare_caller(runtime, inbox)
    adder = await runtime.spawn("adder", {"initial_tally": 5})
    caller = await runtime.spawn("caller")
    for expected in (15, 25):
        call = {"action": "add", "number": 10}
        assert await runtime.send(caller, {"action": "call", "target": adder, "call": call})
        assert await take(inbox) == {"reply": {"tally": expected}}


async def test_responder_schema_rejects_a_bad_call(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    """The opening is validated like any message: the caller hears at once, no timeout."""
    declare_adder(runtime)
    declare_caller(runtime, inbox)
    adder = await runtime.spawn("adder")
    caller = await runtime.spawn("caller")
    before = runtime.shard.dead_letters.counts["schema mismatch"]
    bad = {"action": "add", "number": "ten"}
    await runtime.send(caller, {"action": "call", "target": adder, "call": bad, "timeout": 30})
    got = await take(inbox)
    assert got["error"] == "ConversationEnded"
    assert runtime.shard.dead_letters.counts["schema mismatch"] == before + 1


async def test_multi_turn_conversation(runtime: Runtime, inbox: asyncio.Queue[Message]) -> None:
    @runtime.directory.actor("quiz")
    def quiz(inst: Actor, message: Message) -> None:
        @inst.action("quiz", schema={"action": "quiz", "topic": str})
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            answer = yield {"question": f"{msg['topic']}: 2 + 2?"}
            follow = yield {"correct": answer["answer"] == 4, "next": "3 * 3?"}
            yield {"correct": follow["answer"] == 9, "done": True}

    @runtime.directory.actor("student")
    def student(inst: Actor, message: Message) -> None:
        @inst.on_start
        async def begin() -> None:
            async def take_quiz(msg: Message) -> Gen:
                first = yield Call(msg["teacher"], {"action": "quiz", "topic": "sums"})
                second = yield {"answer": 4}
                third = yield {"answer": 10}
                await inbox.put({"turns": [first, second, third]})

            await inst.converse({"teacher": message["teacher"]}, take_quiz)

    teacher = await runtime.spawn("quiz")
    await runtime.spawn("student", {"teacher": teacher})
    assert await take(inbox) == {
        "turns": [
            {"question": "sums: 2 + 2?"},
            {"correct": True, "next": "3 * 3?"},
            {"correct": False, "done": True},
        ]
    }


async def test_many_open_conversations_as_responder_interleaved_with_messages(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    """One responder holds N conversations at once and still takes ordinary messages."""
    n = 20
    release = asyncio.Event()

    @runtime.directory.actor("bank")
    def bank(inst: Actor, message: Message) -> None:
        open_now = 0

        @inst.action("deposit", schema={"action": "deposit", "who": int})
        async def deposit(msg: Message) -> Gen:
            nonlocal open_now
            yield Respond(msg)
            open_now += 1
            try:
                second = yield {"hello": msg["who"]}
                yield {"who": msg["who"], "total": msg["who"] + second["amount"]}
            finally:
                open_now -= 1

        @inst.action("status")
        async def status(msg: Message) -> None:
            await inbox.put({"open": open_now})

    @runtime.directory.actor("client")
    def client(inst: Actor, message: Message) -> None:
        @inst.action("go")
        async def go(msg: Message) -> Gen:
            who = message["who"]
            hello = yield Call(message["bank"], {"action": "deposit", "who": who})
            assert hello == {"hello": who}
            await inbox.put({"ready": who})
            await release.wait()  # blocks this client only; the bank carries on
            final = yield {"amount": 1000}
            await inbox.put(final)

    bank_address = await runtime.spawn("bank")
    clients = [await runtime.spawn("client", {"bank": bank_address, "who": i}) for i in range(n)]
    for address in clients:
        await runtime.send(address, {"action": "go"})
    ready = {(await take(inbox))["ready"] for _ in range(n)}
    assert ready == set(range(n))
    await runtime.send(bank_address, {"action": "status"})
    assert await take(inbox) == {"open": n}
    release.set()
    finals = [await take(inbox) for _ in range(n)]
    assert sorted(finals, key=lambda f: f["who"]) == [
        {"who": i, "total": i + 1000} for i in range(n)
    ]
    await runtime.send(bank_address, {"action": "status"})
    assert await take(inbox) == {"open": 0}


async def test_many_open_calls_as_caller_interleaved_with_messages(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    """One caller waits on N calls at once, handles messages meanwhile, and matches replies."""
    n = 10
    gates = [asyncio.Event() for _ in range(n)]

    @runtime.directory.actor("oracle")
    def oracle(inst: Actor, message: Message) -> None:
        @inst.action("ask", schema={"action": "ask", "q": int})
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            await gates[message["i"]].wait()  # this oracle answers only when let through
            yield {"a": msg["q"] * 10}

    @runtime.directory.actor("asker")
    def asker(inst: Actor, message: Message) -> None:
        @inst.action("ask_all")
        async def ask_all(msg: Message) -> None:
            for i, oracle_address in enumerate(msg["oracles"]):

                async def one(m: Message) -> Gen:
                    reply = yield Call(m["to"], {"action": "ask", "q": m["q"]})
                    await inbox.put({"q": m["q"], "reply": reply})

                await inst.converse({"to": oracle_address, "q": i}, one)

        @inst.action("ping")
        async def ping(msg: Message) -> None:
            await inbox.put({"pong": True})

    oracles = [await runtime.spawn("oracle", {"i": i}) for i in range(n)]
    asker_address = await runtime.spawn("asker")
    await runtime.send(asker_address, {"action": "ask_all", "oracles": oracles})
    await runtime.send(asker_address, {"action": "ping"})
    assert await take(inbox) == {"pong": True}  # handled while all n calls are open
    for gate in reversed(gates):
        gate.set()
        got = await take(inbox)
        i = gates.index(gate)
        assert got == {"q": i, "reply": {"a": i * 10}}


# ------------------------------------------------------------------ timeouts


async def test_per_call_timeout_throws_conversation_timeout(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    never = asyncio.Event()

    @runtime.directory.actor("mute")
    def mute(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> None:
            await never.wait()  # takes the call, never answers

    @runtime.directory.actor("impatient")
    def impatient(inst: Actor, message: Message) -> None:
        @inst.action("go")
        async def go(msg: Message) -> Gen:
            loop = asyncio.get_running_loop()
            began = loop.time()
            try:
                yield Call(msg["target"], {"action": "ask"}, timeout=0.1)
            except ConversationTimeout as exc:
                await inbox.put(
                    {
                        "timeout": isinstance(exc, TimeoutError),
                        "ended": isinstance(exc, ConversationError),
                        "elapsed": loop.time() - began,
                    }
                )

    target = await runtime.spawn("mute")
    address = await runtime.spawn("impatient")
    await runtime.send(address, {"action": "go", "target": target})
    got = await take(inbox, timeout=2.0)
    assert got["timeout"] is True
    assert got["ended"] is True
    assert 0.09 <= got["elapsed"] < 1.0
    never.set()


async def test_runtime_default_timeout_and_the_responder_is_told(
    inbox: asyncio.Queue[Message],
) -> None:
    async with Runtime(conversation_timeout=0.1) as rt:
        hold = asyncio.Event()

        @rt.directory.actor("slowpoke")
        def slowpoke(inst: Actor, message: Message) -> None:
            @inst.action("ask")
            async def ask(msg: Message) -> Gen:
                yield Respond(msg)
                await hold.wait()  # answers too late
                try:
                    yield {"late": True}
                except ConversationEnded as exc:
                    await inbox.put({"responder": str(exc)})

        @rt.directory.actor("waiter")
        def waiter(inst: Actor, message: Message) -> None:
            @inst.action("go")
            async def go(msg: Message) -> Gen:
                try:
                    yield Call(msg["target"], {"action": "ask"})
                except TimeoutError as exc:
                    await inbox.put({"caller": type(exc).__name__})
                    hold.set()

        target = await rt.spawn("slowpoke")
        address = await rt.spawn("waiter")
        stale_before = rt.shard.dead_letters.counts["stale conversation"]
        await rt.send(address, {"action": "go", "target": target})
        assert await take(inbox, timeout=2.0) == {"caller": "ConversationTimeout"}
        got = await take(inbox)
        assert "timed out" in got["responder"]
        # The late answer reached a conversation the caller had already given up.
        assert rt.shard.dead_letters.counts["stale conversation"] == stale_before + 1


async def test_responder_times_out_waiting_for_the_callers_next_turn(
    inbox: asyncio.Queue[Message],
) -> None:
    async with Runtime(conversation_timeout=0.1) as rt:
        hold = asyncio.Event()

        @rt.directory.actor("patient")
        def patient(inst: Actor, message: Message) -> None:
            @inst.action("ask")
            async def ask(msg: Message) -> Gen:
                yield Respond(msg)
                try:
                    yield {"first": True}
                except ConversationTimeout:
                    await inbox.put({"responder": "timed out"})
                    hold.set()

        @rt.directory.actor("dawdler")
        def dawdler(inst: Actor, message: Message) -> None:
            @inst.action("go")
            async def go(msg: Message) -> Gen:
                yield Call(msg["target"], {"action": "ask"}, timeout=5)
                await hold.wait()
                try:
                    yield {"second": True}
                except ConversationEnded as exc:
                    await inbox.put({"caller": str(exc)})

        target = await rt.spawn("patient")
        address = await rt.spawn("dawdler")
        await rt.send(address, {"action": "go", "target": target})
        assert await take(inbox, timeout=2.0) == {"responder": "timed out"}
        assert "timed out" in (await take(inbox))["caller"]


async def test_uncaught_conversation_timeout_is_logged_and_the_actor_lives(
    caplog: pytest.LogCaptureFixture, inbox: asyncio.Queue[Message]
) -> None:
    async with Runtime(conversation_timeout=0.05) as rt:
        add_probe(rt.directory, inbox)
        probe = await rt.spawn("probe")

        @rt.directory.actor("mute")
        def mute(inst: Actor, message: Message) -> None:
            @inst.action("ask")
            async def ask(msg: Message) -> None:
                pass  # takes the call, never answers

        @rt.directory.actor("careless")
        def careless(inst: Actor, message: Message) -> None:
            @inst.action("go")
            async def go(msg: Message) -> Gen:
                yield Call(msg["target"], {"action": "ask"})
                await inbox.put({"unreachable": True})

            @inst.action("alive")
            async def alive(msg: Message) -> None:
                await inbox.put({"alive": True})

        target = await rt.spawn("mute")
        address = await rt.shard.spawn("careless", monitors=[probe])
        with caplog.at_level(logging.WARNING, logger="skick.actor"):
            await rt.send(address, {"action": "go", "target": target})
            await until(lambda: any("conversation" in r.getMessage() for r in caplog.records))
        await rt.send(address, {"action": "alive"})
        assert await take(inbox) == {"alive": True}


# ------------------------------------------------------------------ partners that go away


async def test_partner_stopped_while_caller_waits(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    thinking = asyncio.Event()

    @runtime.directory.actor("thinker")
    def thinker(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            thinking.set()
            await asyncio.Event().wait()  # stopped before it answers
            yield {"never": True}

    declare_caller(runtime, inbox)
    target = await runtime.spawn("thinker")
    caller = await runtime.spawn("caller")
    call = {"action": "ask"}
    await runtime.send(caller, {"action": "call", "target": target, "call": call, "timeout": 30})
    await asyncio.wait_for(thinking.wait(), WAIT)
    await asyncio.wait_for(actor_of(runtime, target).stop(), WAIT)
    got = await take(inbox)
    assert got["error"] == "ConversationEnded"


async def test_partner_stopped_between_turns(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    closed = asyncio.Event()
    go_on = asyncio.Event()

    @runtime.directory.actor("talker")
    def talker(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            try:
                yield {"first": True}
                yield {"second": True}
            finally:
                closed.set()

    @runtime.directory.actor("slow_caller")
    def slow_caller(inst: Actor, message: Message) -> None:
        @inst.action("go")
        async def go(msg: Message) -> Gen:
            first = yield Call(msg["target"], {"action": "ask"}, timeout=30)
            await inbox.put({"first": first})
            await go_on.wait()
            try:
                yield {"more": True}
            except ConversationEnded as exc:
                await inbox.put({"ended": str(exc)})

    target = await runtime.spawn("talker")
    address = await runtime.spawn("slow_caller")
    await runtime.send(address, {"action": "go", "target": target})
    assert await take(inbox) == {"first": {"first": True}}
    await asyncio.wait_for(actor_of(runtime, target).stop(), WAIT)
    assert closed.is_set()  # the responder's generator was closed by the stop
    go_on.set()
    assert "ended" in await take(inbox)


async def test_partner_crashes_mid_conversation(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    add_probe(runtime.directory, inbox, "probe")
    probe = await runtime.spawn("probe")

    @runtime.directory.actor("crasher")
    def crasher(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            nxt = yield {"first": True}
            raise KeyError(nxt["missing"])

    @runtime.directory.actor("two_turns")
    def two_turns(inst: Actor, message: Message) -> None:
        @inst.action("go")
        async def go(msg: Message) -> Gen:
            yield Call(msg["target"], {"action": "ask"}, timeout=30)
            try:
                yield {"no": "missing key"}
            except ConversationEnded as exc:
                await inbox.put({"ended": str(exc)})

    target = await runtime.shard.spawn("crasher", monitors=[probe])
    address = await runtime.spawn("two_turns")
    await runtime.send(address, {"action": "go", "target": target})
    first, second = await take(inbox), await take(inbox)
    by_kind = {m.get("action", "ended"): m for m in (first, second)}
    check_sentinel(by_kind["sentinel"], target, "exception", "KeyError")
    assert "ended" in by_kind["ended"]


async def test_calling_a_dead_address_fails_at_once(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    declare_caller(runtime, inbox)
    caller = await runtime.spawn("caller")
    dead = f"{runtime.shard.shard_id}:424242"
    call = {"action": "anything"}
    await runtime.send(caller, {"action": "call", "target": dead, "call": call, "timeout": 30})
    got = await take(inbox, timeout=1.0)
    assert got["error"] == "ConversationEnded"
    assert dead in got["detail"]


async def test_calling_an_unknown_action_fails_at_once(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    declare_adder(runtime)
    declare_caller(runtime, inbox)
    adder = await runtime.spawn("adder")
    caller = await runtime.spawn("caller")
    call = {"action": "multiply", "number": 2}
    await runtime.send(caller, {"action": "call", "target": adder, "call": call, "timeout": 30})
    assert (await take(inbox, timeout=1.0))["error"] == "ConversationEnded"


async def test_responder_that_returns_without_replying_ends_the_caller(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    @runtime.directory.actor("silent")
    def silent(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            await inbox.put({"responder": "returned"})

    @runtime.directory.actor("hopeful")
    def hopeful(inst: Actor, message: Message) -> None:
        @inst.action("go")
        async def go(msg: Message) -> Gen:
            try:
                yield Call(msg["target"], {"action": "ask"}, timeout=30)
                await inbox.put({"caller": "got an answer"})
            finally:
                await inbox.put({"caller": "closed"})

    target = await runtime.spawn("silent")
    address = await runtime.spawn("hopeful")
    await runtime.send(address, {"action": "go", "target": target})
    assert await take(inbox) == {"responder": "returned"}
    assert await take(inbox, timeout=1.0) == {"caller": "closed"}
    assert inbox.empty()


async def test_generator_handler_that_returns_before_respond_ends_the_caller(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    @runtime.directory.actor("refuser")
    def refuser(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            if msg.get("pick_up"):
                yield Respond(msg)
                yield {"ok": True}

    declare_caller(runtime, inbox)
    target = await runtime.spawn("refuser")
    caller = await runtime.spawn("caller")
    call = {"action": "ask"}
    await runtime.send(caller, {"action": "call", "target": target, "call": call, "timeout": 30})
    assert (await take(inbox, timeout=1.0))["error"] == "ConversationEnded"


async def test_yield_none_ends_both_sides(runtime: Runtime, inbox: asyncio.Queue[Message]) -> None:
    @runtime.directory.actor("chatty")
    def chatty(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            try:
                reply = yield {"turn": 1}
                await inbox.put({"responder got": reply})
                if msg.get("hang_up"):
                    yield None
                    await inbox.put({"unreachable": True})
                yield {"turn": 2}
            finally:
                await inbox.put({"responder": "closed"})

    @runtime.directory.actor("polite")
    def polite(inst: Actor, message: Message) -> None:
        @inst.action("go")
        async def go(msg: Message) -> Gen:
            try:
                first = yield Call(msg["target"], {"action": "ask", "hang_up": msg["hang_up"]})
                await inbox.put({"caller got": first})
                if msg["caller_ends"]:
                    yield None
                    await inbox.put({"unreachable": True})
                second = yield {"turn": "a"}
                await inbox.put({"caller got": second})
            finally:
                await inbox.put({"caller": "closed"})

    target = await runtime.spawn("chatty")
    address = await runtime.spawn("polite")

    # The caller hangs up: the responder's generator is closed.
    await runtime.send(
        address, {"action": "go", "target": target, "hang_up": False, "caller_ends": True}
    )
    got = [await take(inbox) for _ in range(3)]
    assert got[0] == {"caller got": {"turn": 1}}
    assert sorted(map(str, got[1:])) == sorted(
        map(str, [{"caller": "closed"}, {"responder": "closed"}])
    )

    # The responder hangs up: the caller's generator is closed.
    await runtime.send(
        address, {"action": "go", "target": target, "hang_up": True, "caller_ends": False}
    )
    got = [await take(inbox) for _ in range(4)]
    assert got[:2] == [{"caller got": {"turn": 1}}, {"responder got": {"turn": "a"}}]
    assert sorted(map(str, got[2:])) == sorted(
        map(str, [{"caller": "closed"}, {"responder": "closed"}])
    )
    assert inbox.empty()


async def test_registered_conversation_started_by_name(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    declare_adder(runtime)
    adder = await runtime.spawn("adder", {"initial_tally": 1})

    @runtime.directory.actor("named")
    def named(inst: Actor, message: Message) -> None:
        @inst.conversation("add_twice")
        async def add_twice(msg: Message) -> Gen:
            first = yield Call(adder, {"action": "add", "number": msg["n"]})
            second = yield Call(adder, {"action": "add", "number": msg["n"]})
            await inbox.put({"first": first, "second": second})

        @inst.action("go")
        async def go(msg: Message) -> None:
            await inst.converse({"n": msg["n"]}, "add_twice")

        @inst.action("bad")
        async def bad(msg: Message) -> None:
            try:
                await inst.converse({}, "no_such_conversation")
            except KeyError as exc:
                await inbox.put({"error": str(exc)})

    address = await runtime.spawn("named")
    await runtime.send(address, {"action": "go", "n": 3})
    assert await take(inbox) == {"first": {"tally": 4}, "second": {"tally": 7}}
    await runtime.send(address, {"action": "bad"})
    assert "no_such_conversation" in (await take(inbox))["error"]


async def test_conversation_decorator_requires_an_async_generator(runtime: Runtime) -> None:
    errors: list[str] = []

    @runtime.directory.actor("wrong")
    def wrong(inst: Actor, message: Message) -> None:
        try:

            @inst.conversation("plain")
            async def plain(msg: Message) -> None:
                pass

        except TypeError as exc:
            errors.append(str(exc))

    await runtime.spawn("wrong")
    assert errors
    assert "plain" in errors[0]


async def test_misuse_inside_a_conversation(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    """Respond without a call, a reply without a partner, an odd yield: errors in the generator."""

    @runtime.directory.actor("confused")
    def confused(inst: Actor, message: Message) -> None:
        @inst.action("respond_to_nothing")
        async def respond_to_nothing(msg: Message) -> Gen:
            try:
                yield Respond(msg)
            except ConversationEnded as exc:
                await inbox.put({"respond": str(exc)})

        @inst.action("reply_to_nobody")
        async def reply_to_nobody(msg: Message) -> Gen:
            try:
                yield {"hello": "anyone?"}
            except ConversationEnded as exc:
                await inbox.put({"reply": str(exc)})

        @inst.action("odd_yield")
        async def odd_yield(msg: Message) -> Gen:
            try:
                yield 42
            except TypeError as exc:
                await inbox.put({"odd": str(exc)})

    address = await runtime.spawn("confused")
    await runtime.send(address, {"action": "respond_to_nothing"})
    assert "Respond" in (await take(inbox))["respond"]
    await runtime.send(address, {"action": "reply_to_nobody"})
    assert "partner" in (await take(inbox))["reply"]
    await runtime.send(address, {"action": "odd_yield"})
    assert "int" in (await take(inbox))["odd"]


async def test_uncaught_error_in_a_conversation_step_ends_the_actor(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    add_probe(runtime.directory, inbox)
    probe = await runtime.spawn("probe")

    @runtime.directory.actor("strange")
    def strange(inst: Actor, message: Message) -> None:
        @inst.action("odd_yield")
        async def odd_yield(msg: Message) -> Gen:
            yield 42

    address = await runtime.shard.spawn("strange", monitors=[probe])
    await runtime.send(address, {"action": "odd_yield"})
    check_sentinel(await take(inbox), address, "exception", "TypeError")


async def test_a_second_call_ends_the_first_leg(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    declare_adder(runtime)
    adder = await runtime.spawn("adder")

    @runtime.directory.actor("ender")
    def ender(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            try:
                yield {"turn": 1}
            finally:
                await inbox.put({"first partner": "closed"})

    first = await runtime.spawn("ender")

    @runtime.directory.actor("switcher")
    def switcher(inst: Actor, message: Message) -> None:
        @inst.action("go")
        async def go(msg: Message) -> Gen:
            one = yield Call(first, {"action": "ask"})
            two = yield Call(adder, {"action": "add", "number": 2})
            await inbox.put({"one": one, "two": two})

    address = await runtime.spawn("switcher")
    await runtime.send(address, {"action": "go"})
    got = [await take(inbox), await take(inbox)]
    assert {"first partner": "closed"} in got
    assert {"one": {"turn": 1}, "two": {"tally": 2}} in got


async def test_stale_conversation_messages_are_dead_letters(runtime: Runtime) -> None:
    declare_adder(runtime)
    adder = await runtime.spawn("adder")
    before = runtime.shard.dead_letters.counts["stale conversation"]
    envelope = {"action": "skick.conv", "conv": "nobody/1", "kind": "next", "body": {}}
    await runtime.send(adder, envelope)
    await runtime.send(adder, {"action": "skick.conv", "conv": 17, "kind": "end"})
    await until(lambda: runtime.shard.dead_letters.counts["stale conversation"] == before + 2)


async def test_replacing_the_responder_ends_its_conversations(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    @runtime.directory.actor("fickle")
    def fickle(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            yield {"turn": 1}
            yield {"turn": 2}

        @inst.action("change")
        async def change(msg: Message) -> None:
            await inst.replace("other")

    @runtime.directory.actor("other")
    def other(inst: Actor, message: Message) -> None:
        pass

    @runtime.directory.actor("stayer")
    def stayer(inst: Actor, message: Message) -> None:
        @inst.action("go")
        async def go(msg: Message) -> Gen:
            yield Call(msg["target"], {"action": "ask"}, timeout=30)
            await inbox.put({"first": "done"})
            await msg_gate.wait()
            try:
                yield {"next": True}
            except ConversationEnded as exc:
                await inbox.put({"ended": str(exc)})

    msg_gate = asyncio.Event()
    target = await runtime.spawn("fickle")
    address = await runtime.spawn("stayer")
    await runtime.send(address, {"action": "go", "target": target})
    assert await take(inbox) == {"first": "done"}
    await runtime.send(target, {"action": "change"})
    await until(lambda: actor_of(runtime, target).type_name == "other")
    msg_gate.set()
    assert "ended" in await take(inbox)


async def test_queued_call_to_a_replaced_action_fails_the_caller(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    busy = asyncio.Event()
    go = asyncio.Event()

    @runtime.directory.actor("morph")
    def morph(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            yield {"never": "answered"}

        @inst.action("change")
        async def change(msg: Message) -> None:
            busy.set()
            await go.wait()
            await inst.replace("blank")

    @runtime.directory.actor("blank")
    def blank(inst: Actor, message: Message) -> None:
        pass

    declare_caller(runtime, inbox)
    target = await runtime.spawn("morph")
    caller = await runtime.spawn("caller")
    await runtime.send(target, {"action": "change"})
    await asyncio.wait_for(busy.wait(), WAIT)
    call = {"action": "ask"}
    await runtime.send(caller, {"action": "call", "target": target, "call": call, "timeout": 30})
    await until(lambda: len(actor_of(runtime, target)._mailbox) > 0)
    go.set()
    got = await take(inbox, timeout=1.0)
    assert got["error"] == "ConversationEnded"


async def test_call_queued_at_stop_fails_the_caller(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    busy = asyncio.Event()

    @runtime.directory.actor("busy")
    def busy_actor(inst: Actor, message: Message) -> None:
        @inst.action("work")
        async def work(msg: Message) -> None:
            busy.set()
            await asyncio.Event().wait()

        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            yield {"never": True}

    declare_caller(runtime, inbox)
    target = await runtime.spawn("busy")
    caller = await runtime.spawn("caller")
    await runtime.send(target, {"action": "work"})
    await asyncio.wait_for(busy.wait(), WAIT)
    call = {"action": "ask"}
    await runtime.send(caller, {"action": "call", "target": target, "call": call, "timeout": 30})
    await until(lambda: len(actor_of(runtime, target)._mailbox) > 0)
    await asyncio.wait_for(actor_of(runtime, target).stop(), WAIT)
    assert (await take(inbox, timeout=1.0))["error"] == "ConversationEnded"


async def test_caller_stopped_mid_conversation_ends_the_responder(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    @runtime.directory.actor("holder")
    def holder(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            try:
                yield {"turn": 1}
            except ConversationEnded as exc:
                await inbox.put({"responder": type(exc).__name__})

    @runtime.directory.actor("leaver")
    def leaver(inst: Actor, message: Message) -> None:
        @inst.action("go")
        async def go(msg: Message) -> Gen:
            yield Call(msg["target"], {"action": "ask"}, timeout=30)
            await inbox.put({"caller": "got turn 1"})
            await asyncio.Event().wait()  # stopped while it holds the turn
            yield {"turn": 2}

    target = await runtime.spawn("holder")
    address = await runtime.spawn("leaver")
    await runtime.send(address, {"action": "go", "target": target})
    assert await take(inbox) == {"caller": "got turn 1"}
    await asyncio.wait_for(actor_of(runtime, address).stop(), WAIT)
    assert await take(inbox) == {"responder": "ConversationEnded"}


# ------------------------------------------------------------------ Runtime.call


async def test_runtime_call(runtime: Runtime) -> None:
    declare_adder(runtime)
    adder = await runtime.spawn("adder", {"initial_tally": 100})
    assert await runtime.call(adder, {"action": "add", "number": 1}) == {"tally": 101}
    assert await runtime.call(adder, {"action": "add", "number": 1}, timeout=1) == {"tally": 102}


async def test_runtime_call_errors(runtime: Runtime) -> None:
    @runtime.directory.actor("mute")
    def mute(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)  # picks up, then never answers
            await asyncio.Event().wait()

    target = await runtime.spawn("mute")
    with pytest.raises(ConversationTimeout):
        await asyncio.wait_for(runtime.call(target, {"action": "ask"}, timeout=0.05), WAIT)
    with pytest.raises(ConversationEnded):
        await asyncio.wait_for(runtime.call("nowhere:1", {"action": "ask"}), WAIT)


async def test_runtime_call_to_a_responder_that_returns_without_replying(
    runtime: Runtime,
) -> None:
    @runtime.directory.actor("silent")
    def silent(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)

    target = await runtime.spawn("silent")
    with pytest.raises(ConversationEnded):
        await asyncio.wait_for(runtime.call(target, {"action": "ask"}, timeout=30), 2.0)


async def test_a_call_to_an_action_that_does_not_converse_ends_at_once(
    runtime: Runtime,
) -> None:
    @runtime.directory.actor("plain")
    def plain(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> None:
            pass

    target = await runtime.spawn("plain")
    with pytest.raises(ConversationEnded, match="does not converse"):
        await asyncio.wait_for(runtime.call(target, {"action": "ask"}, timeout=30), 2.0)


async def test_runtime_call_needs_a_running_runtime() -> None:
    from skick_core import SkickError

    rt = Runtime()
    with pytest.raises(SkickError):
        await rt.call("x:1", {"action": "a"})


# ------------------------------------------------------------------ more edges


async def test_conversations_with_different_timeouts_expire_in_order(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    @runtime.directory.actor("mute")
    def mute(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)  # takes the first call and answers none (nor the rest)
            await asyncio.Event().wait()

    target = await runtime.spawn("mute")

    @runtime.directory.actor("juggler")
    def juggler(inst: Actor, message: Message) -> None:
        @inst.action("go")
        async def go(msg: Message) -> None:
            for name, timeout in (("long", 0.3), ("short", 0.05), ("middle", 0.15)):

                async def one(m: Message) -> Gen:
                    loop = asyncio.get_running_loop()
                    began = loop.time()
                    try:
                        yield Call(target, {"action": "ask"}, timeout=m["timeout"])
                    except ConversationTimeout:
                        await inbox.put({"name": m["name"], "after": loop.time() - began})

                await inst.converse({"name": name, "timeout": timeout}, one)

    await runtime.send(await runtime.spawn("juggler"), {"action": "go"})
    got = [await take(inbox, timeout=2.0) for _ in range(3)]
    assert [g["name"] for g in got] == ["short", "middle", "long"]
    for g, bound in zip(got, (0.05, 0.15, 0.3), strict=True):
        assert bound * 0.9 <= g["after"] < bound + 0.5


async def test_replace_from_inside_a_conversation(
    runtime: Runtime, inbox: asyncio.Queue[Message]
) -> None:
    @runtime.directory.actor("shifty")
    def shifty(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            try:
                await inst.replace("settled")
                yield {"after replace": True}  # the conversation died with the old behaviour
                await inbox.put({"unreachable": True})
            finally:
                await inbox.put({"shifty": "closed"})

    @runtime.directory.actor("settled")
    def settled(inst: Actor, message: Message) -> None:
        @inst.action("ping")
        async def ping(msg: Message) -> None:
            await inbox.put({"settled": "pong"})

    declare_caller(runtime, inbox)
    target = await runtime.spawn("shifty")
    caller = await runtime.spawn("caller")
    call = {"action": "ask"}
    await runtime.send(caller, {"action": "call", "target": target, "call": call, "timeout": 30})
    got = [await take(inbox), await take(inbox)]
    assert {"shifty": "closed"} in got
    assert any(g.get("error") == "ConversationEnded" for g in got)
    await runtime.send(target, {"action": "ping"})
    assert await take(inbox) == {"settled": "pong"}


async def test_generator_that_fails_while_closing_is_logged(
    runtime: Runtime, inbox: asyncio.Queue[Message], caplog: pytest.LogCaptureFixture
) -> None:
    @runtime.directory.actor("messy")
    def messy(inst: Actor, message: Message) -> None:
        @inst.action("ask")
        async def ask(msg: Message) -> Gen:
            yield Respond(msg)
            try:
                yield {"turn": 1}
            finally:
                raise ValueError("cleanup failed")

    @runtime.directory.actor("holder")
    def holder(inst: Actor, message: Message) -> None:
        @inst.action("go")
        async def go(msg: Message) -> Gen:
            yield Call(msg["target"], {"action": "ask"}, timeout=30)
            await inbox.put({"got": "turn 1"})
            await asyncio.Event().wait()

    target = await runtime.spawn("messy")
    address = await runtime.spawn("holder")
    await runtime.send(address, {"action": "go", "target": target})
    assert await take(inbox) == {"got": "turn 1"}
    with caplog.at_level(logging.ERROR, logger="skick.actor"):
        await asyncio.wait_for(actor_of(runtime, target).stop(), WAIT)
    assert any("closing a conversation generator" in r.getMessage() for r in caplog.records)


def test_conversation_objects_show_what_they_carry() -> None:
    call = Call("a:1", {"action": "add", "number": 1}, timeout=2.0)
    assert call.resolve(object()) == ("a:1", {"action": "add", "number": 1})
    assert call.timeout == 2.0
    assert "a:1" in repr(call)
    assert "add" in repr(call)
    assert "number" in repr(Respond({"action": "add", "number": 1}))
