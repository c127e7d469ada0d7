"""Strict mode: local messages mean exactly what they would after crossing a shard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from skick_core import Actor, Call, Message, Respond, Runtime
from tests.core.helpers import take


def declare_recorder(rt: Runtime, inbox: asyncio.Queue[Message]) -> None:
    @rt.directory.actor("recorder")
    def recorder(inst: Actor, message: Message) -> None:
        @inst.action("record")
        async def record(msg: Message) -> None:
            await inbox.put(msg)

        @inst.action("ask")
        async def ask(msg: Message) -> AsyncGenerator[Any, Any]:
            yield Respond(msg)
            yield {"echo": msg["value"], "pair": (1, 2)}


async def test_strict_round_trips_through_json(inbox: asyncio.Queue[Message]) -> None:
    async with Runtime(strict=True) as rt:
        declare_recorder(rt, inbox)
        address = await rt.spawn("recorder")
        sent: Message = {"action": "record", "pair": (1, 2), "nested": {"t": (3,)}, "n": 1.5}
        assert await rt.send(address, sent)
        got = await take(inbox)
        assert got == {"action": "record", "pair": [1, 2], "nested": {"t": [3]}, "n": 1.5}
        assert type(got["pair"]) is list
        assert got is not sent
        # Conversation turns cross as JSON too.
        assert await rt.call(address, {"action": "ask", "value": (5,)}) == {
            "echo": [5],
            "pair": [1, 2],
        }


async def test_strict_turns_non_json_into_dead_letters(inbox: asyncio.Queue[Message]) -> None:
    async with Runtime(strict=True) as rt:
        declare_recorder(rt, inbox)
        address = await rt.spawn("recorder")
        before = rt.shard.dead_letters.total
        assert await rt.send(address, {"action": "record", "when": object()}) is False
        assert await rt.send(address, {"action": "record", "set": {1, 2}}) is False
        assert rt.shard.dead_letters.total == before + 2
        assert await rt.send(address, {"action": "record", "fine": [None, True]})
        assert await take(inbox) == {"action": "record", "fine": [None, True]}


async def test_non_strict_passes_objects_through(inbox: asyncio.Queue[Message]) -> None:
    async with Runtime() as rt:
        declare_recorder(rt, inbox)
        address = await rt.spawn("recorder")
        marker = object()
        sent: Message = {"action": "record", "pair": (1, 2), "obj": marker}
        assert await rt.send(address, sent)
        got = await take(inbox)
        assert got is sent
        assert got["pair"] == (1, 2)


async def test_strict_call_with_a_non_json_message_fails_the_caller(
    inbox: asyncio.Queue[Message],
) -> None:
    from skick_core import ConversationEnded

    async with Runtime(strict=True) as rt:
        declare_recorder(rt, inbox)
        address = await rt.spawn("recorder")

        @rt.directory.actor("asker")
        def asker(inst: Actor, message: Message) -> None:
            @inst.action("go")
            async def go(msg: Message) -> AsyncGenerator[Any, Any]:
                try:
                    yield Call(address, {"action": "ask", "value": object()})
                except ConversationEnded:
                    await inbox.put({"ended": True})

        await rt.send(await rt.spawn("asker"), {"action": "go"})
        assert await take(inbox) == {"ended": True}
