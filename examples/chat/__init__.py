"""A small multi-user chat: websocket sessions, a room actor, the service registry,
server queries, and a browser page served on the same port.

* The ``room`` actor registers the service ``chat_room``, keeps the members, and
  monitors each member's session so that it notices when a client goes away.
* A client opens the ``chat`` session (the lobby). Its only socket is ``join``; joining
  replaces the session with the ``chatter`` subsession, whose sockets are ``say``,
  ``who`` and ``poll``. A handshake that already carries a valid ``name`` joins at
  once (what the page does, so that a reconnection rejoins by itself). Subsessions
  cannot be requested by clients directly.
* ``poll`` asks every member a yes/no question: the room tells each member's
  BackActor, which asks its client with ``SocketQuery(..., "bool")`` and passes the
  answer back as a vote; the room broadcasts the tally after every vote.
* The room sends events to the members' BackActors, which ``socksend`` them.

Run it with the page (``static/``, which uses ``/skick.js``)::

    skick run examples.chat:app            # then open http://localhost:8000/

``python -m examples.chat`` runs a scripted demo instead: it starts the server on a
free port, lets two bots chat and vote, prints what each of them sees, and shuts
down; ``python -m examples.chat --serve`` is the same as ``skick run``. The frames::

    Client: {"session_type": "chat"}               (or {"session_type": "chat", "name": "alice"})
    Server: {"event": "welcome", "text": "..."}
    Client: {"action": "join", "name": "alice"}
    Server: {"event": "joined", "name": "alice", "members": ["alice"]}
    Client: {"action": "say", "text": "hi"}
    Server: {"event": "said", "name": "alice", "text": "hi"}
    Client: {"action": "poll", "question": "pizza?"}
    Server: {"event": "poll", "poll": "p1", "question": "pizza?", "by": "alice"}
    Server: {"action": "query", "query_id": "q1", "schema": "bool",
             "message": {"poll": "p1", "question": "pizza?", "by": "alice"}}
    Client: {"action": "query_reply", "query_id": "q1", "message": true}
    Server: {"event": "votes", "poll": "p1", "question": "pizza?", "yes": ["alice"], "no": []}
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

from schema import And, Schema

from skick import Actor, ConversationEnded, ConversationTimeout, Skick, SocketQuery
from skick_core import Shard
from skick_ws import SessionActor, WebsocketServer

__all__ = ["STATIC", "app", "demo", "main", "on_start", "skick"]

Message = dict[str, Any]

NAME: And[Schema] = And(str, lambda s: 0 < len(s) <= 32)
TEXT: And[Schema] = And(str, lambda s: 0 < len(s) <= 1000)
POLL_TIMEOUT = 120.0
"""Seconds a member has to answer a poll."""

STATIC = Path(__file__).resolve().with_name("static")
"""The chat page: index.html, app.js, style.css."""


async def on_start(shard: Shard) -> None:
    await shard.spawn("room", {})


app = Skick(on_start=on_start, static_dir=STATIC)
skick = app  # the name the guide's examples use


def valid_name(name: Any) -> bool:
    return isinstance(name, str) and 0 < len(name) <= 32


@app.actor("room")
def room(inst: Actor, message: Message) -> None:
    """The chat room: members by session address, events to all of them, polls."""
    members: dict[str, str] = {}
    polls: dict[str, dict[str, Any]] = {}

    async def broadcast(event: Message) -> None:
        for member in list(members):
            await inst.send(member, {"action": "chat_event", "event": event})

    @inst.on_start
    async def on_start() -> None:
        inst.register_service("chat_room")

    @inst.action("join", {"action": "join", "member": str, "name": str})
    async def join(msg: Message) -> None:
        members[msg["member"]] = msg["name"]
        await inst.monitor(msg["member"])  # its sentinel tells us when it leaves
        await broadcast(
            {"event": "joined", "name": msg["name"], "members": sorted(members.values())}
        )

    @inst.action("say", {"action": "say", "member": str, "text": str})
    async def say(msg: Message) -> None:
        name = members.get(msg["member"])
        if name is not None:
            await broadcast({"event": "said", "name": name, "text": msg["text"]})

    @inst.action("who", {"action": "who", "member": str})
    async def who(msg: Message) -> None:
        event = {"event": "members", "members": sorted(members.values())}
        await inst.send(msg["member"], {"action": "chat_event", "event": event})

    @inst.action("poll", {"action": "poll", "member": str, "question": str})
    async def poll(msg: Message) -> None:
        name = members.get(msg["member"])
        if name is None:
            return
        poll_id = f"p{len(polls) + 1}"
        polls[poll_id] = {"question": msg["question"], "yes": {}, "no": {}}
        question = {"poll": poll_id, "question": msg["question"], "by": name}
        await broadcast({"event": "poll", **question})
        for member in list(members):
            await inst.send(member, {"action": "poll_ask", **question})

    @inst.action("vote", {"action": "vote", "member": str, "poll": str, "yes": bool})
    async def vote(msg: Message) -> None:
        name, tally = members.get(msg["member"]), polls.get(msg["poll"])
        if name is None or tally is None:
            return
        tally["yes" if msg["yes"] else "no"][msg["member"]] = name
        await broadcast(
            {
                "event": "votes",
                "poll": msg["poll"],
                "question": tally["question"],
                "yes": sorted(tally["yes"].values()),
                "no": sorted(tally["no"].values()),
            }
        )

    @inst.default_sentinel
    async def member_gone(msg: Message) -> None:
        name = members.pop(msg["address"], None)
        if name is not None:
            await broadcast({"event": "left", "name": name})


@app.session("chat")
def lobby(inst: SessionActor, message: Message) -> None:
    """Where a connection starts: it may only pick a name (or bring one along)."""

    async def enter(name: str) -> None:
        room_address = inst.get_service("chat_room")
        if room_address is None:
            await inst.socksend({"event": "error", "text": "the room is closed"})
            return
        await inst.replace("chatter", {"name": name, "room": room_address})

    @inst.on_start
    async def welcome() -> None:
        if valid_name(message.get("name")):  # {"session_type": "chat", "name": …}
            await enter(message["name"])
            return
        text = 'join with {"action": "join", "name": "<your name>"}'
        await inst.socksend({"event": "welcome", "text": text})

    @inst.socket("join", {"action": "join", "name": NAME})
    async def join(msg: Message) -> None:
        await enter(msg["name"])


@app.subsession("chatter")
def chatter(inst: SessionActor, message: Message) -> None:
    """A member of the room: says things, hears everything, answers polls."""
    room_address: str = message["room"]

    @inst.on_start
    async def enter() -> None:
        await inst.send(
            room_address, {"action": "join", "member": inst.address, "name": message["name"]}
        )

    @inst.socket("say", {"action": "say", "text": TEXT})
    async def say(msg: Message) -> None:
        await inst.send(
            room_address, {"action": "say", "member": inst.address, "text": msg["text"]}
        )

    @inst.socket("who", {"action": "who"})
    async def who(msg: Message) -> None:
        await inst.send(room_address, {"action": "who", "member": inst.address})

    @inst.socket("poll", {"action": "poll", "question": TEXT})
    async def poll(msg: Message) -> None:
        await inst.send(
            room_address,
            {"action": "poll", "member": inst.address, "question": msg["question"]},
        )

    async def ask(msg: Message) -> AsyncGenerator[Any, Any]:
        """Ask this member's client the poll's question; pass the answer on."""
        question = {"poll": msg["poll"], "question": msg["question"], "by": msg["by"]}
        try:
            yes = yield SocketQuery(question, "bool", timeout=POLL_TIMEOUT)
        except (ConversationTimeout, ConversationEnded):
            return  # no answer in time, or the client left: no vote
        vote = {"action": "vote", "member": inst.address, "poll": msg["poll"], "yes": yes}
        await inst.send(room_address, vote)

    @inst.action("poll_ask", {"action": "poll_ask", "poll": str, "question": str, "by": str})
    async def poll_ask(msg: Message) -> None:
        await inst.converse(msg, ask)

    @inst.action("chat_event", {"action": "chat_event", "event": dict})
    async def chat_event(msg: Message) -> None:
        await inst.socksend(msg["event"])


# ------------------------------------------------------------------- the demo


async def _bot(
    url: str,
    name: str,
    lines: list[str],
    joined: asyncio.Event,
    go: asyncio.Event,
    poll: str | None = None,
    stay_for: str | None = None,
) -> None:
    """Join as *name*, say *lines* (and ask *poll*) once *go* is set, print what the
    server sends, vote yes on every poll.

    It leaves once it heard all four lines and a tally with both votes; with
    *stay_for*, only after hearing that that member left.
    """
    from websockets.asyncio.client import connect

    async with connect(url) as ws:

        async def receive() -> Message:
            frame: Message = json.loads(await asyncio.wait_for(ws.recv(), 5))
            print(f"  {name} <- {json.dumps(frame)}")
            if frame.get("action") == "query":  # a poll: this bot always agrees
                reply = {"action": "query_reply", "query_id": frame["query_id"], "message": True}
                await ws.send(json.dumps(reply))
            return frame

        await ws.send(json.dumps({"session_type": "chat"}))
        await receive()  # welcome
        await ws.send(json.dumps({"action": "join", "name": name}))
        while (await receive()).get("name") != name:  # until our own "joined"
            pass
        joined.set()
        await go.wait()
        for line in lines:
            await ws.send(json.dumps({"action": "say", "text": line}))
        if poll is not None:
            await ws.send(json.dumps({"action": "poll", "question": poll}))
        said, tallied = 0, False
        while said < 4 or not tallied:  # two bots, two lines each, two votes
            frame = await receive()
            if frame.get("event") == "said":
                said += 1
            elif frame.get("event") == "votes" and len(frame["yes"]) == 2:
                tallied = True
        if stay_for is not None:
            while await receive() != {"event": "left", "name": stay_for}:
                pass


async def demo() -> None:
    """Start the server on a free local port, let two bots chat and vote, shut down."""
    ready = asyncio.Event()

    async def started(shard: Shard) -> None:
        await on_start(shard)
        ready.set()

    demo_app = Skick(on_start=started, websocket_host="127.0.0.1", websocket_port=0)
    demo_app.add_directory(app)
    task = asyncio.create_task(demo_app.run())
    await asyncio.wait_for(ready.wait(), 10)
    server = demo_app.server
    assert isinstance(server, WebsocketServer)
    url = f"ws://127.0.0.1:{server.port}"
    print(f"chat server on {url}")
    joined = [asyncio.Event(), asyncio.Event()]
    go = asyncio.Event()
    bots = [
        asyncio.create_task(
            _bot(url, "alice", ["hello bob", "how are you?"], joined[0], go, poll="pizza?")
        ),
        asyncio.create_task(
            _bot(url, "bob", ["hi alice", "fine, thanks"], joined[1], go, stay_for="alice")
        ),
    ]
    await asyncio.wait_for(asyncio.gather(*(j.wait() for j in joined)), 10)
    go.set()
    await asyncio.wait_for(asyncio.gather(*bots), 10)
    await demo_app.stop()
    await task
    print("done")


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m examples.chat [--serve]``."""
    args = sys.argv[1:] if argv is None else list(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)
    if "--serve" in args:
        app.start()
    else:
        asyncio.run(demo())
