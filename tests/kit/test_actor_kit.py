"""ActorKit and Probe: spawning, calling, conversing, monitoring, and how they fail."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from skick_core import Actor, ConversationEnded, ConversationTimeout, Directory, Message, Runtime
from skick_core.exceptions import SkickError, SpawnError
from skick_core.testing import ANY, ActorKit
from tests.kit.apps import actors


async def test_spawn_call_send_and_probe() -> None:
    async with ActorKit(actors()) as kit:
        counter = await kit.spawn("counter", {"start": 40})
        assert await kit.call(counter, {"action": "increment", "by": 2}) == {"count": 42}
        probe = await kit.probe()
        assert await kit.send(counter, {"action": "report", "to": probe.address})
        assert await probe.expect({"action": "tally", "count": int}) == {
            "action": "tally",
            "count": 42,
        }
        assert not await kit.send(counter, {"action": "report"})  # schema: a dead letter
        assert kit.dead_letters.counts["schema mismatch"] == 1
        await probe.expect_nothing()
        assert probe.received == [{"action": "tally", "count": 42}]
        assert probe.pending == []


async def test_a_multi_turn_conversation() -> None:
    async with ActorKit(actors()) as kit:
        counter = await kit.spawn("counter")
        async with kit.conversation(counter) as talk:
            assert await talk.ask({"action": "ask", "n": 2}) == {"twice": 4}
            assert await talk.ask({"n": 5}) == {"thrice": 15}
            await talk.tell({"n": 0})  # resumes the responder, which returns
            await talk.expect_end()
            with pytest.raises(ConversationEnded, match="was ended by the partner"):
                await talk.ask({"n": 1})


async def test_conversation_failures() -> None:
    async with ActorKit(actors(), timeout=0.2) as kit:
        counter = await kit.spawn("counter")
        sleeper = await kit.spawn("counter")  # "silent" blocks the whole actor
        with pytest.raises(ConversationTimeout, match=r"did not answer .*'silent'.* 0\.2 s"):
            await kit.call(sleeper, {"action": "silent"})
        with pytest.raises(ConversationEnded, match="ended the conversation without answering"):
            await kit.call(counter, {"action": "brief"})
        with pytest.raises(ConversationEnded, match="'plain' does not converse"):
            await kit.call(counter, {"action": "plain"})
        with pytest.raises(ConversationEnded, match=r"a dead letter \(unknown action\)"):
            await kit.call(counter, {"action": "nothing-like-this"})
        with pytest.raises(ConversationEnded, match="dead address"):
            await kit.call(f"{kit.shard.shard_id}:999", {"action": "increment", "by": 1})
        async with kit.conversation(counter) as talk:
            await talk.tell({"action": "ask", "n": 1})
            with pytest.raises(AssertionError, match=re.escape("but it said {'twice': 2}")):
                await talk.expect_end()
            assert await talk.ask({"n": 1}) == {"thrice": 3}
        # The kit's own calls still work after all that.
        assert await kit.call(counter, {"action": "increment", "by": 1}) == {"count": 1}


async def test_expect_end_fails_clearly() -> None:
    async with ActorKit(actors(), timeout=0.2) as kit:
        counter = await kit.spawn("counter")
        async with kit.conversation(counter) as talk:
            await talk.ask({"action": "ask", "n": 1})
            with pytest.raises(AssertionError, match="still waiting for a turn"):
                await talk.expect_end()


async def test_the_probe_answers_calls_turn_by_turn() -> None:
    async with ActorKit(actors()) as kit:
        probe = await kit.probe()
        await kit.spawn("asker", {"partner": probe.address})
        call = await probe.expect({"action": "question", "n": 1})
        await probe.reply(call, {"n": 10})
        follow_up = await probe.expect({"n": 11})
        await probe.reply(follow_up, {"done": True})
        assert await probe.expect({"action": "outcome"}) == {
            "action": "outcome",
            "second": {"done": True},
        }
        with pytest.raises(ValueError, match="not a call"):
            await probe.reply({"action": "outcome"}, {})


async def test_monitor_and_sentinels() -> None:
    async with ActorKit(actors()) as kit:
        probe = await kit.probe()
        crashing = await kit.spawn("counter", monitors=[probe])
        quitting = await kit.spawn("counter")
        stopped = await kit.spawn("counter")
        await probe.monitor(quitting)
        await probe.monitor(stopped)
        # A call queues behind the monitor requests: once answered, they are registered.
        await kit.call(stopped, {"action": "increment", "by": 0})
        await kit.call(quitting, {"action": "increment", "by": 0})
        await kit.send(crashing, {"action": "crash"})
        await kit.send(quitting, {"action": "quit"})
        await kit.stop(stopped)
        await probe.expect_sentinel(stopped, type="cancellation")
        await probe.expect_sentinel(crashing, exception=RuntimeError)
        sentinel = await probe.expect_sentinel(quitting)
        assert sentinel == {
            "action": "sentinel",
            "address": quitting,
            "type": "cancellation",
            "tag": "main_task",
        }
        with pytest.raises(AssertionError, match=r"cannot monitor .*dead letter"):
            await probe.monitor(stopped)
        with pytest.raises(AssertionError, match="no actor at"):
            await kit.stop(stopped)
        with pytest.raises(ValueError, match="sentinel type"):
            await probe.expect_sentinel(type="crashed")


async def test_expect_failure_lists_what_arrived_and_why_it_did_not_match() -> None:
    async with ActorKit(timeout=0.1) as kit:
        probe = await kit.probe()
        await kit.send(probe.address, {"action": "a", "n": 1})
        await kit.send(probe.address, {"action": "b", "n": 2})
        assert await probe.receive() == {"action": "a", "n": 1}
        await kit.send(probe.address, {"action": "c", "info": {"secret": 41}})
        with pytest.raises(AssertionError) as failure:
            await probe.expect({"action": "c", "info": {"secret": 42}})
        assert str(failure.value) == (
            "expected a message matching {'action': 'c', 'info': {'secret': 42}} within 0.1 s\n"
            "pending (received, not consumed): 2\n"
            "  {'action': 'b', 'n': 2}\n"
            "      ↳ ['action']: 'b' != 'c'\n"
            "  {'action': 'c', 'info': {'secret': 41}}\n"
            "      ↳ ['info']['secret']: 41 != 42\n"
            "consumed before (1; the last 1):\n"
            "  {'action': 'a', 'n': 1}"
        )
        # Nothing was consumed by the failure: both are still there.
        assert [m["action"] for m in probe.pending] == ["b", "c"]


async def test_expect_failure_when_nothing_arrived() -> None:
    async with ActorKit(timeout=0.05) as kit:
        probe = await kit.probe()
        with pytest.raises(AssertionError) as failure:
            await probe.receive()
        assert str(failure.value) == (
            "expected a message within 0.05 s; no message arrived that was not consumed already"
        )
        with pytest.raises(AssertionError, match=r"expected the sentinel of x:1 \(exception "):
            await probe.expect_sentinel("x:1", exception="KeyError")


async def test_expect_nothing_failure() -> None:
    async with ActorKit() as kit:
        probe = await kit.probe()

        async def later() -> None:
            await asyncio.sleep(0.02)
            await kit.send(probe.address, {"action": "late", "n": 2})

        await kit.send(probe.address, {"action": "early", "n": 1})
        await probe.expect_nothing({"n": 2}, within=0.01)
        task = asyncio.create_task(later())
        with pytest.raises(AssertionError) as failure:
            await probe.expect_nothing({"n": 2}, within=1.0)
        await task
        assert str(failure.value) == (
            "expected no message matching {'n': 2} within 1 s, but got:\n"
            "  {'action': 'late', 'n': 2}\n"
            "pending (received, not consumed): 1\n"
            "  {'action': 'early', 'n': 1}"
        )


async def test_a_stopped_probe_fails_at_once() -> None:
    async with ActorKit(timeout=5) as kit:
        probe = await kit.probe()
        await probe.stop()
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(AssertionError, match="but the probe stopped"):
            await probe.expect({"action": "anything"})
        assert loop.time() - started < 1


async def test_patterns_in_expect() -> None:
    async with ActorKit() as kit:
        probe = await kit.probe()
        for n in range(5):
            await kit.send(probe.address, {"action": "n", "n": n, "tag": f"t{n}"})
        assert (await probe.expect({"n": lambda n: n > 2}))["n"] == 3
        assert (await probe.expect({"tag": re.compile(r"t[4-9]")}))["n"] == 4
        assert (await probe.expect(lambda m: m["n"] % 2 == 1))["n"] == 1
        assert (await probe.expect({"n": ANY}))["n"] == 0
        assert (await probe.receive())["n"] == 2


async def test_strict_by_default_and_options() -> None:
    directory = Directory()

    @directory.actor("sink")
    def sink(inst: Actor, message: Message) -> None:
        @inst.action("put")
        async def put(msg: Message) -> None:
            pass

    async with ActorKit(directory) as kit:
        sink_address = await kit.spawn("sink")
        assert not await kit.send(sink_address, {"action": "put", "value": {1, 2}})
        assert kit.dead_letters.counts["not JSON"] == 1
    async with ActorKit(directory, strict=False, conversation_timeout=3.0) as kit:
        assert kit.runtime.options.conversation_timeout == 3.0
        sink_address = await kit.spawn("sink")
        assert await kit.send(sink_address, {"action": "put", "value": {1, 2}})


async def test_a_runtime_of_your_own_and_on_start() -> None:
    started: list[str] = []

    async def on_start(shard: Any) -> None:
        started.append(await shard.spawn("counter"))

    runtime = Runtime(actors(), shard_id="mine")
    async with ActorKit(runtime, on_start=on_start) as kit:
        assert kit.runtime is runtime
        assert kit.shard.shard_id == "mine"
        assert started[0] in kit.shard.actors
        await kit.hash("h").set("k", 1)
        assert await kit.hash("h").get("k") == 1
    assert not runtime.running
    with pytest.raises(TypeError, match="go to the Runtime"):
        ActorKit(Runtime(), strict=False)
    with pytest.raises(ValueError, match="positive"):
        ActorKit(timeout=0)


async def test_a_failing_on_start_stops_everything() -> None:
    async def on_start(shard: Any) -> None:
        await shard.spawn("no-such-type")

    kit = ActorKit(actors(), on_start=on_start)
    with pytest.raises(SpawnError):
        await kit.__aenter__()
    assert not kit.runtime.running
    with pytest.raises(SkickError, match="once"):
        await kit.__aenter__()
