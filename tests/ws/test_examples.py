"""The examples run: the chat demo as shipped, and the chat driven by real clients."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from skick import Skick
from tests.ws.helpers import WAIT, Client, client, make_skick, running, until
from tests.ws.test_guide import load_example


async def test_chat_demo_runs(capsys: pytest.CaptureFixture[str]) -> None:
    chat = load_example("chat")
    await asyncio.wait_for(chat.demo(), 30)
    out = capsys.readouterr().out
    assert '"event": "said", "name": "bob", "text": "fine, thanks"' in out
    assert out.rstrip().endswith("done")


async def joined(c: Client, name: str) -> list[str]:
    await c.send({"session_type": "chat"})
    assert (await c.recv())["event"] == "welcome"
    await c.send({"action": "join", "name": name})
    while True:
        event = await c.recv()
        if event == {"event": "joined", "name": name, "members": event["members"]}:
            members: list[str] = event["members"]
            return members


async def test_chat_room_sessions_and_services() -> None:
    chat: Any = load_example("chat")
    skick: Skick = make_skick(on_start=chat.on_start)
    skick.add_directory(chat.skick)
    async with running(skick) as run:
        async with client(run) as ann, client(run) as bob:
            assert await joined(ann, "ann") == ["ann"]
            assert await joined(bob, "bob") == ["ann", "bob"]
            assert await ann.recv() == {"event": "joined", "name": "bob", "members": ["ann", "bob"]}
            await ann.send({"action": "say", "text": "hi bob"})
            for c in (ann, bob):
                assert await c.recv() == {"event": "said", "name": "ann", "text": "hi bob"}
            assert await bob.ask({"action": "who"}) == {
                "event": "members",
                "members": ["ann", "bob"],
            }
            # The lobby's socket is gone after the replace, names are checked.
            assert (await bob.error({"action": "join", "name": "x"}))["code"] == "unknown_action"
            assert (await bob.error({"action": "say", "text": ""}))["code"] == "schema"
            async with client(run) as eve:
                await eve.send({"session_type": "chat"})
                await eve.recv()
                error = await eve.error({"action": "join", "name": "e" * 33})
                assert error["code"] == "schema"
                assert (await eve.error({"action": "say", "text": "hi"}))[
                    "code"
                ] == "unknown_action"
            async with client(run) as mallory:  # the subsession cannot be requested
                await mallory.send({"session_type": "chatter", "name": "m", "room": "x"})
                assert (await mallory.recv())["code"] == "unknown_session"
            await bob.close()
            # The room monitors its members: ann hears that bob left.
            assert await asyncio.wait_for(ann.recv(), WAIT) == {"event": "left", "name": "bob"}
        await until(lambda: len(run.session_actors()) == 1)  # only the room is left
