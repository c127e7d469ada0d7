"""Replace without races: frames never cross between the old and the new behaviour."""

from __future__ import annotations

import asyncio

from skick import Skick
from skick_ws import BackActor, SessionActor
from tests.ws.helpers import Message, Running, client, make_skick, running, until


def program(skick: Skick, gate: asyncio.Event, seen: list[Message]) -> None:
    @skick.session("old")
    def old(inst: SessionActor, message: Message) -> None:
        @inst.socket("become", {"action": "become"})
        async def become(msg: Message) -> None:
            await gate.wait()  # frames keep arriving and queue up meanwhile
            await inst.replace("new", {})
            await inst.socksend({"became": "new"})

        @inst.socket("ping", {"action": "ping", "n": int})
        async def ping(msg: Message) -> None:
            seen.append({"old": msg})
            await inst.socksend({"old_pong": msg["n"]})

        @inst.socket("only_old", {"action": "only_old"})
        async def only_old(msg: Message) -> None:
            seen.append({"old": msg})

        @inst.socket("whoami", {"action": "whoami"})
        async def whoami(msg: Message) -> None:
            await inst.socksend({"me": "old"})

    @skick.subsession("new")
    def new(inst: SessionActor, message: Message) -> None:
        @inst.socket("ping", {"action": "ping", "n": str})  # same name, other schema
        async def ping(msg: Message) -> None:
            seen.append({"new": msg})
            await inst.socksend({"new_pong": msg["n"]})

        @inst.socket("whoami", {"action": "whoami"})
        async def whoami(msg: Message) -> None:
            await inst.socksend({"me": "new"})


async def queued(run: Running, count: int) -> None:
    """Wait until the BackActor has *count* client frames waiting in its mailbox."""

    def enough() -> bool:
        backs = [a for a in run.session_actors() if isinstance(a, BackActor)]
        return len(backs) == 1 and len(backs[0]._mailbox) >= count

    await until(enough)


async def test_frames_queued_before_a_replace_are_checked_against_the_new_schemas() -> None:
    gate = asyncio.Event()
    seen: list[Message] = []
    skick = make_skick()
    program(skick, gate, seen)
    async with running(skick) as run, client(run, "old") as c:
        await c.send({"action": "become"})
        # Accepted by the old schemas and queued behind "become":
        await c.send({"action": "ping", "n": 1})  # the new ping wants a str
        await c.send({"action": "only_old"})  # the new behaviour has no such action
        await c.send({"action": "whoami"})  # valid for both: the new one handles it
        await queued(run, 3)
        gate.set()
        assert await c.recv() == {"became": "new"}
        assert (await c.recv())["code"] == "schema"
        assert (await c.recv())["code"] == "unknown_action"
        assert await c.recv() == {"me": "new"}
        # After the swap, the new schemas apply at once.
        assert await c.ask({"action": "ping", "n": "x"}) == {"new_pong": "x"}
        assert (await c.error({"action": "ping", "n": 2}))["code"] == "schema"
        assert (await c.error({"action": "only_old"}))["code"] == "unknown_action"
    # Neither behaviour ever saw a frame it had not validated.
    assert seen == [{"new": {"action": "ping", "n": "x"}}]


async def test_a_burst_across_a_replace_is_all_answered_in_order() -> None:
    """Frames streamed while the replace happens: old ones refused, new ones handled,
    every one of them answered, and never a refusal after the first acceptance."""
    gate = asyncio.Event()
    gate.set()
    seen: list[Message] = []
    skick = make_skick()
    program(skick, gate, seen)
    async with running(skick) as run:
        for _ in range(20):
            seen.clear()
            async with client(run, "old") as c:
                await c.send({"action": "become"})
                burst = 30
                for i in range(burst):
                    await c.send({"action": "ping", "n": str(i)})
                replies = [await c.recv() for _ in range(burst + 1)]
                assert {"became": "new"} in replies
                answers = [r for r in replies if r != {"became": "new"}]
                assert len(answers) == burst
                kinds = ["ok" if "new_pong" in r else r["code"] for r in answers]
                assert set(kinds) <= {"ok", "schema"}
                first_ok = kinds.index("ok") if "ok" in kinds else burst
                assert all(k == "ok" for k in kinds[first_ok:]), kinds
                handled = [r["new_pong"] for r in answers if "new_pong" in r]
                assert handled == [str(i) for i in range(burst - len(handled), burst)]
                assert all("new" in s and isinstance(s["new"]["n"], str) for s in seen)
