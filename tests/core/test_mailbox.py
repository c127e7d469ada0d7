"""Bounded mailboxes: overflow becomes a dead letter, room in time means backpressure."""

from __future__ import annotations

import asyncio

from skick_core import Actor, Message, Runtime
from skick_core._mailbox import Mailbox
from tests.core.helpers import WAIT, take


def declare_blocker(
    rt: Runtime, busy: asyncio.Event, release: asyncio.Event, inbox: asyncio.Queue[Message]
) -> None:
    @rt.directory.actor("blocker")
    def blocker(inst: Actor, message: Message) -> None:
        @inst.action("block")
        async def block(msg: Message) -> None:
            busy.set()
            await release.wait()

        @inst.action("item", schema={"action": "item", "n": int})
        async def item(msg: Message) -> None:
            await inbox.put({"n": msg["n"]})


async def test_overflow_becomes_a_mailbox_full_dead_letter(inbox: asyncio.Queue[Message]) -> None:
    busy, release = asyncio.Event(), asyncio.Event()
    async with Runtime(mailbox_size=2, send_timeout=0.05) as rt:
        declare_blocker(rt, busy, release, inbox)
        address = await rt.spawn("blocker")
        assert await rt.send(address, {"action": "block"})
        await asyncio.wait_for(busy.wait(), WAIT)
        assert await rt.send(address, {"action": "item", "n": 1})
        assert await rt.send(address, {"action": "item", "n": 2})
        loop = asyncio.get_running_loop()
        began = loop.time()
        assert await rt.send(address, {"action": "item", "n": 3}) is False
        assert loop.time() - began >= 0.04  # it waited for room before giving up
        assert rt.shard.dead_letters.counts["mailbox full"] == 1
        release.set()
        assert [await take(inbox), await take(inbox)] == [{"n": 1}, {"n": 2}]
        assert await rt.send(address, {"action": "item", "n": 4})  # room again
        assert await take(inbox) == {"n": 4}


async def test_backpressure_waits_for_room(inbox: asyncio.Queue[Message]) -> None:
    busy, release = asyncio.Event(), asyncio.Event()
    async with Runtime(mailbox_size=1, send_timeout=WAIT) as rt:
        declare_blocker(rt, busy, release, inbox)
        address = await rt.spawn("blocker")
        await rt.send(address, {"action": "block"})
        await asyncio.wait_for(busy.wait(), WAIT)
        assert await rt.send(address, {"action": "item", "n": 1})
        waiting = [
            asyncio.create_task(rt.send(address, {"action": "item", "n": n})) for n in (2, 3)
        ]
        await asyncio.sleep(0.02)
        assert not any(task.done() for task in waiting)  # blocked by the full mailbox
        release.set()
        assert await asyncio.wait_for(asyncio.gather(*waiting), WAIT) == [True, True]
        assert [await take(inbox) for _ in range(3)] == [{"n": 1}, {"n": 2}, {"n": 3}]
        assert rt.shard.dead_letters.counts["mailbox full"] == 0


async def test_actor_to_actor_send_to_a_full_mailbox(inbox: asyncio.Queue[Message]) -> None:
    busy, release = asyncio.Event(), asyncio.Event()
    async with Runtime(mailbox_size=1, send_timeout=0.05) as rt:
        declare_blocker(rt, busy, release, inbox)
        target = await rt.spawn("blocker")

        @rt.directory.actor("pusher")
        def pusher(inst: Actor, message: Message) -> None:
            @inst.action("push")
            async def push(msg: Message) -> None:
                results = [await inst.send(target, {"action": "item", "n": n}) for n in (1, 2)]
                await inbox.put({"results": results})

        await rt.send(target, {"action": "block"})
        await asyncio.wait_for(busy.wait(), WAIT)
        await rt.send(await rt.spawn("pusher"), {"action": "push"})
        assert await take(inbox) == {"results": [True, False]}
        release.set()


async def test_mailbox_unit() -> None:
    box = Mailbox(2)
    assert box.offer(1)
    assert box.offer(2)
    assert not box.offer(3)
    assert await box.put(3, 0.01) is False
    box.force("system")  # past capacity
    assert len(box) == 3
    assert box.pop() == 1
    writer = asyncio.create_task(box.put(4, WAIT))
    await asyncio.sleep(0)
    assert not writer.done()
    assert box.drain() == [2, "system"]  # wakes the waiting writer
    assert await asyncio.wait_for(writer, WAIT) is True
    assert box.pop() == 4
    reader = asyncio.create_task(box.wait())
    await asyncio.sleep(0)
    assert not reader.done()
    assert box.offer(5)
    await asyncio.wait_for(reader, WAIT)
    assert box.pop() == 5
    reader = asyncio.create_task(box.wait())
    await asyncio.sleep(0)
    assert not reader.done()
    box.force(6)  # a system event wakes the reader too
    await asyncio.wait_for(reader, WAIT)
    assert box.pop() == 6


async def test_mailbox_put_with_no_time_left() -> None:
    box = Mailbox(1)
    box.offer(1)
    assert await box.put(2, 0) is False
    assert await box.put(2, -1) is False
