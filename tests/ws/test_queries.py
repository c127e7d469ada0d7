"""SocketQuery: any number per session, at any turn, every subschema, timeouts."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import pytest

from skick import ConversationEnded, ConversationTimeout, Respond, SocketQuery
from skick.testing import Kit
from skick_ws import PREDEFINED_QUERY_SCHEMAS, SessionActor
from tests.ws.helpers import Client, Message, client, make_skick, running


async def answer(c: Client, value: Any) -> Any:
    """Answer the next query frame with *value*; return what follows."""
    query = await c.recv()
    assert query["action"] == "query", query
    return await c.ask({"action": "query_reply", "query_id": query["query_id"], "message": value})


async def test_many_queries_in_one_conversation_and_custom_schemas() -> None:
    skick = make_skick(query_schemas={"point": {"x": int, "y": int}})

    @skick.session("form")
    def form(inst: SessionActor, message: Message) -> None:
        inst.query_schema("color", lambda v: v in ("red", "green"))

        @inst.socket("fill", {"action": "fill"})
        async def fill(msg: Message) -> AsyncGenerator[Any, Any]:
            name = yield SocketQuery({"ask": "name"}, "str")
            age = yield SocketQuery({"ask": "age"}, "int")
            color = yield SocketQuery({"ask": "color"}, "color")
            point = yield SocketQuery({"ask": "point"}, "point")
            anything = yield SocketQuery({"ask": "anything"})
            tags = yield SocketQuery({"ask": "tags"}, "list")
            await inst.socksend(
                {
                    "name": name,
                    "age": age,
                    "color": color,
                    "point": point,
                    "anything": anything,
                    "tags": tags,
                }
            )

    async with running(skick) as run, client(run, "form") as c:
        await c.send({"action": "fill"})
        query = await c.recv()
        assert query["message"] == {"ask": "name"}
        assert query["schema"] == "str"
        reply = {"action": "query_reply", "query_id": query["query_id"], "message": "ann"}
        query = await c.ask(reply)
        assert query["schema"] == "int"
        assert (await c.error({**reply, "query_id": query["query_id"], "message": True}))[
            "code"
        ] == "bad_query_reply"
        query = await c.ask({**reply, "query_id": query["query_id"], "message": 41})
        assert query["schema"] == "color"
        bad = {**reply, "query_id": query["query_id"], "message": "blue"}
        assert (await c.error(bad))["code"] == "bad_query_reply"
        query = await c.ask({**bad, "message": "red"})
        assert query["schema"] == "point"
        bad = {**reply, "query_id": query["query_id"], "message": {"x": 1}}
        assert (await c.error(bad))["code"] == "bad_query_reply"
        query = await c.ask({**bad, "message": {"x": 1, "y": 2}})
        assert query["schema"] == "default"
        bad = {**reply, "query_id": query["query_id"], "message": [1]}
        assert (await c.error(bad))["code"] == "bad_query_reply"
        query = await c.ask({**bad, "message": 2.5})
        assert query["schema"] == "list"
        bad = {**reply, "query_id": query["query_id"], "message": [1, [2]]}
        assert (await c.error(bad))["code"] == "bad_query_reply"
        assert await c.ask({**bad, "message": [1, "a", 2.0, False]}) == {
            "name": "ann",
            "age": 41,
            "color": "red",
            "point": {"x": 1, "y": 2},
            "anything": 2.5,
            "tags": [1, "a", 2.0, False],
        }


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ("default", [1, 1.5, "s", True], [None, [1], {"a": 1}]),
        ("int", [0, -3], [1.5, True, "1", None]),
        ("float", [1.5, 2], [True, "1.5", None]),
        ("str", ["", "x"], [1, None, ["x"]]),
        ("bool", [True, False], [0, 1, "true", None]),
        ("list", [[], [1, "a", 1.5, True]], [[None], [[1]], [{"a": 1}], "abc", 1]),
    ],
)
def test_predefined_subschemas(schema: str, good: list[Any], bad: list[Any]) -> None:
    validate = PREDEFINED_QUERY_SCHEMAS[schema]
    for value in good:
        assert validate(value), value
    for value in bad:
        assert not validate(value), value


@pytest.mark.parametrize("socket", [False, True], ids=["memory", "socket"])
async def test_queries_at_any_turn_concurrently_and_from_a_responder(socket: bool) -> None:
    """Two conversations query at once; a socket handler answering a Call queries too."""
    skick = make_skick()

    @skick.session("multi")
    def multi(inst: SessionActor, message: Message) -> None:
        @inst.socket("ask", {"action": "ask", "n": int})
        async def ask(msg: Message) -> AsyncGenerator[Any, Any]:
            await inst.socksend({"asking": msg["n"]})
            value = yield SocketQuery({"n": msg["n"]}, "int")
            await inst.socksend({"n": msg["n"], "got": value})

        @inst.action("remote", {"action": "remote"})
        async def remote(msg: Message) -> AsyncGenerator[Any, Any]:
            yield Respond(msg)
            value = yield SocketQuery({"from": "remote"}, "str")
            await inst.socksend({"remote_got": value})

    async with Kit(skick, socket=socket) as kit:
        c = await kit.connect("multi")
        await c.send({"action": "ask", "n": 1})
        await c.expect({"asking": 1})
        q1 = await c.expect_query({"n": 1}, schema="int")
        await c.send({"action": "ask", "n": 2})
        await c.expect({"asking": 2})
        q2 = await c.expect_query({"n": 2}, schema="int")
        assert q1.id != q2.id
        # Answer in the opposite order.
        await q2.reply(20)
        await c.expect({"n": 2, "got": 20})
        await q1.reply(10)
        await c.expect({"n": 1, "got": 10})
        # A conversation opened by another actor reaches the socket handler; the query
        # leg ends the caller's leg (a generator talks to one partner at a time).
        session = c.session
        assert session is not None
        async with kit.conversation(session.back_address) as talk:
            await talk.tell({"action": "remote"})
            await talk.expect_end()
        query = await c.expect_query({"from": "remote"}, schema="str")
        await query.reply("hello")
        await c.expect({"remote_got": "hello"})
        await c.expect_nothing()


async def test_query_timeout_and_late_reply() -> None:
    skick = make_skick()

    @skick.session("slow")
    def slow(inst: SessionActor, message: Message) -> None:
        @inst.socket("ask", {"action": "ask"})
        async def ask(msg: Message) -> AsyncGenerator[Any, Any]:
            try:
                yield SocketQuery({"q": "quick!"}, "bool", timeout=0.2)
            except ConversationTimeout:
                await inst.socksend({"timed_out": True})

        @inst.socket("ping", {"action": "ping"})
        async def ping(msg: Message) -> None:
            await inst.socksend({"pong": True})

    async with running(skick) as run, client(run, "slow") as c:
        query = await c.ask({"action": "ask"})
        assert await c.recv() == {"timed_out": True}
        reply = {"action": "query_reply", "query_id": query["query_id"], "message": True}
        assert (await c.error(reply))["code"] == "unknown_query"
        # The session is unharmed.
        assert await c.ask({"action": "ping"}) == {"pong": True}


async def test_unknown_query_schema_ends_the_conversation() -> None:
    skick = make_skick()

    @skick.session("typo")
    def typo(inst: SessionActor, message: Message) -> None:
        @inst.socket("ask", {"action": "ask"})
        async def ask(msg: Message) -> AsyncGenerator[Any, Any]:
            try:
                yield SocketQuery({"q": 1}, "no-such-schema")
            except ConversationEnded as exc:
                await inst.socksend({"ended": str(exc)})

    async with running(skick) as run, client(run, "typo") as c:
        reply = await c.ask({"action": "ask"})
        assert "no-such-schema" in reply["ended"]


async def test_query_reply_shape_errors() -> None:
    skick = make_skick()

    @skick.session("s")
    def s(inst: SessionActor, message: Message) -> None:
        @inst.socket("ask", {"action": "ask"})
        async def ask(msg: Message) -> AsyncGenerator[Any, Any]:
            value = yield SocketQuery({"q": 1}, "int")
            await inst.socksend({"got": value})

    async with running(skick) as run, client(run, "s") as c:
        query = await c.ask({"action": "ask"})
        qid = query["query_id"]
        for bad in (
            {"action": "query_reply", "query_id": qid},
            {"action": "query_reply", "message": 1},
            {"action": "query_reply", "query_id": 7, "message": 1},
            {"action": "query_reply", "query_id": qid, "message": 1, "extra": 1},
        ):
            assert (await c.error(bad))["code"] == "bad_query_reply"
        unknown = {"action": "query_reply", "query_id": "q" * 10_000, "message": 1}
        error = await c.error(unknown)
        assert error["code"] == "unknown_query"
        assert len(error["detail"]) < 200
        assert len(error["query_id"]) < 50
        # Still open after all of that.
        reply = {"action": "query_reply", "query_id": qid, "message": 5}
        assert await c.ask(reply) == {"got": 5}


def test_socket_query_outside_a_session_is_an_error() -> None:
    with pytest.raises(TypeError, match="BackActor"):
        SocketQuery({"q": 1}).resolve(object())


async def test_a_query_from_a_conversation_started_in_on_start() -> None:
    skick = make_skick()

    @skick.session("intro")
    def intro(inst: SessionActor, message: Message) -> None:
        @inst.conversation("ask_name")
        async def ask_name(msg: Message) -> AsyncGenerator[Any, Any]:
            name = yield SocketQuery({"question": "your name?"}, "str")
            await inst.socksend({"hello": name})

        @inst.on_start
        async def start() -> None:
            await inst.converse({}, "ask_name")

    async with running(skick) as run, client(run, "intro") as c:
        assert await answer(c, "ann") == {"hello": "ann"}
