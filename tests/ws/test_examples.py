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
    assert '"yes": ["alice", "bob"], "no": []' in out  # both bots voted on alice's poll
    assert out.rstrip().endswith("done")


async def joined(c: Client, name: str, hello: bool = True) -> list[str]:
    if hello:
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
    assert chat.skick is chat.app
    skick: Skick = make_skick(on_start=chat.on_start)
    skick.add_directory(chat.app)
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


def chat_app() -> Skick:
    chat: Any = load_example("chat")
    skick: Skick = make_skick(on_start=chat.on_start, static_dir=chat.STATIC)
    skick.add_directory(chat.app)
    return skick


async def test_chat_handshake_with_a_name_joins_at_once() -> None:
    async with running(chat_app()) as run, client(run) as ann, client(run) as bob:
        await ann.send({"session_type": "chat", "name": "ann"})
        assert await ann.recv() == {"event": "joined", "name": "ann", "members": ["ann"]}
        # A name that is not valid is ignored: the lobby greets as usual.
        await bob.send({"session_type": "chat", "name": ""})
        assert (await bob.recv())["event"] == "welcome"
        assert await joined(bob, "bob", hello=False) == ["ann", "bob"]


async def test_chat_poll_asks_every_member_with_a_server_query() -> None:
    async with running(chat_app()) as run, client(run) as ann, client(run) as bob:
        await joined(ann, "ann")
        await joined(bob, "bob")
        assert (await ann.recv())["event"] == "joined"  # bob
        await bob.send({"action": "poll", "question": "pizza?"})
        question = {"poll": "p1", "question": "pizza?", "by": "bob"}
        replies = []
        for c in (ann, bob):
            assert await c.recv() == {"event": "poll", **question}
            query = await c.recv()
            assert query["action"] == "query"
            assert query["message"] == question
            assert query["schema"] == "bool"
            replies.append({"action": "query_reply", "query_id": query["query_id"]})
        to_ann, to_bob = replies
        assert (await ann.error({**to_ann, "message": "yes"}))["code"] == "bad_query_reply"
        await ann.send({**to_ann, "message": True})
        tally = {"event": "votes", "poll": "p1", "question": "pizza?"}
        for c in (ann, bob):
            assert await c.recv() == {**tally, "yes": ["ann"], "no": []}
        await bob.send({**to_bob, "message": False})
        for c in (ann, bob):
            assert await c.recv() == {**tally, "yes": ["ann"], "no": ["bob"]}
        # Answered: the query is gone.
        assert (await ann.error({**to_ann, "message": True}))["code"] == "unknown_query"
