"""A small multi-user chat: websocket sessions, a room actor and the service registry.

* The ``room`` actor registers the service ``chat_room``, keeps the members, and
  monitors each member's session so that it notices when a client goes away.
* A client opens the ``chat`` session (the lobby). Its only socket is ``join``; joining
  replaces the session with the ``chatter`` subsession, whose sockets are ``say`` and
  ``who``. Subsessions cannot be requested by clients directly.
* The room sends events to the members' BackActors, which ``socksend`` them.

``python examples/chat.py`` runs a scripted demo: it starts the server on a free port,
lets two bots chat, prints what each of them sees, and shuts down. ``python
examples/chat.py --serve`` serves on ws://localhost:8000 until Ctrl-C::

    Client: {"session_type": "chat"}
    Server: {"event": "welcome", "text": "..."}
    Client: {"action": "join", "name": "alice"}
    Server: {"event": "joined", "name": "alice", "members": ["alice"]}
    Client: {"action": "say", "text": "hi"}
    Server: {"event": "said", "name": "alice", "text": "hi"}
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

from schema import And, Schema

from skick import Actor, Skick
from skick_core import Shard
from skick_ws import SessionActor, WebsocketServer

Message = dict[str, Any]

NAME: And[Schema] = And(str, lambda s: 0 < len(s) <= 32)
TEXT: And[Schema] = And(str, lambda s: 0 < len(s) <= 1000)


async def on_start(shard: Shard) -> None:
    await shard.spawn("room", {})


skick = Skick(on_start=on_start)


@skick.actor("room")
def room(inst: Actor, message: Message) -> None:
    """The chat room: members by session address, events to all of them."""
    members: dict[str, str] = {}

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

    @inst.default_sentinel
    async def member_gone(msg: Message) -> None:
        name = members.pop(msg["address"], None)
        if name is not None:
            await broadcast({"event": "left", "name": name})


@skick.session("chat")
def lobby(inst: SessionActor, message: Message) -> None:
    """Where a connection starts: it may only pick a name."""

    @inst.on_start
    async def welcome() -> None:
        text = 'join with {"action": "join", "name": "<your name>"}'
        await inst.socksend({"event": "welcome", "text": text})

    @inst.socket("join", {"action": "join", "name": NAME})
    async def join(msg: Message) -> None:
        room_address = inst.get_service("chat_room")
        if room_address is None:
            await inst.socksend({"event": "error", "text": "the room is closed"})
            return
        await inst.replace("chatter", {"name": msg["name"], "room": room_address})


@skick.subsession("chatter")
def chatter(inst: SessionActor, message: Message) -> None:
    """A member of the room: says things and hears everything."""
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
    stay_for: str | None = None,
) -> None:
    """Join as *name*, say *lines* once *go* is set, print what the server sends.

    With *stay_for*, leave only after hearing that that member left.
    """
    from websockets.asyncio.client import connect

    async with connect(url) as ws:

        async def receive() -> Message:
            event: Message = json.loads(await asyncio.wait_for(ws.recv(), 5))
            print(f"  {name} <- {json.dumps(event)}")
            return event

        await ws.send(json.dumps({"session_type": "chat"}))
        await receive()  # welcome
        await ws.send(json.dumps({"action": "join", "name": name}))
        while (await receive()).get("name") != name:  # until our own "joined"
            pass
        joined.set()
        await go.wait()
        for line in lines:
            await ws.send(json.dumps({"action": "say", "text": line}))
        said = 0
        while said < 4:  # two bots, two lines each: everyone hears all four
            if (await receive())["event"] == "said":
                said += 1
        if stay_for is not None:
            while await receive() != {"event": "left", "name": stay_for}:
                pass


async def demo() -> None:
    """Start the server on a free local port, let two bots chat, shut down."""
    ready = asyncio.Event()

    async def started(shard: Shard) -> None:
        await on_start(shard)
        ready.set()

    app = Skick(on_start=started, websocket_host="127.0.0.1", websocket_port=0)
    app.add_directory(skick)
    task = asyncio.create_task(app.run())
    await asyncio.wait_for(ready.wait(), 10)
    server = app.server
    assert isinstance(server, WebsocketServer)
    url = f"ws://127.0.0.1:{server.port}"
    print(f"chat server on {url}")
    joined = [asyncio.Event(), asyncio.Event()]
    go = asyncio.Event()
    bots = [
        asyncio.create_task(_bot(url, "alice", ["hello bob", "how are you?"], joined[0], go)),
        asyncio.create_task(
            _bot(url, "bob", ["hi alice", "fine, thanks"], joined[1], go, stay_for="alice")
        ),
    ]
    await asyncio.wait_for(asyncio.gather(*(j.wait() for j in joined)), 10)
    go.set()
    await asyncio.wait_for(asyncio.gather(*bots), 10)
    await app.stop()
    await task
    print("done")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)
    if "--serve" in sys.argv[1:]:
        skick.start()
    else:
        asyncio.run(demo())
