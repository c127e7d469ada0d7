"""Hostile and broken clients: clear errors, a closed connection at worst, and the
server keeps serving every other session. Nothing unvalidated reaches a BackActor."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from skick import Skick
from skick_ws import SessionActor
from tests.ws.helpers import Client, Message, Running, client, make_skick, running

SCHEMA = {"action": "add", "number": int, "label": str}


def program(skick: Skick, received: list[Message]) -> None:
    @skick.session("calc")
    def calc(inst: SessionActor, message: Message) -> None:
        @inst.socket("add", SCHEMA)
        async def add(msg: Message) -> None:
            received.append(msg)
            await inst.socksend({"sum": msg["number"] + 1, "label": msg["label"]})

        @inst.socket("nested", {"action": "nested", "point": {"x": int, "y": int}})
        async def nested(msg: Message) -> None:
            received.append(msg)
            await inst.socksend({"ok": True})

        @inst.socket("anything")
        async def anything(msg: Message) -> None:
            received.append(msg)
            await inst.socksend({"ok": True})

    @skick.subsession("hidden")
    def hidden(inst: SessionActor, message: Message) -> None:
        pass


@pytest.fixture
async def calc() -> AsyncIterator[tuple[Running, list[Message]]]:
    received: list[Message] = []
    skick = make_skick(rate_limit=None)
    program(skick, received)
    async with running(skick) as run:
        yield run, received


async def healthy(c: Client) -> None:
    assert await c.ask({"action": "add", "number": 1, "label": "x"}) == {"sum": 2, "label": "x"}


def valid(message: Message) -> bool:
    if message["action"] == "add":
        return set(message) == set(SCHEMA) and type(message["number"]) is int
    if message["action"] == "nested":
        return set(message["point"]) == {"x", "y"}
    return bool(message["action"] == "anything")


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ("{", "bad_json"),
        ('{"action": "add", "number": NaN, "label": "x"}', "bad_json"),
        ("[" * 100_00 + "]" * 100_00, "bad_json"),
        (b'{"action": "add"}', "bad_json"),
        ("[1, 2]", "not_an_object"),
        ('"add"', "not_an_object"),
        ("42", "not_an_object"),
        ("null", "not_an_object"),
        ({"number": 1}, "bad_action"),
        ({"action": 7}, "bad_action"),
        ({"action": None}, "bad_action"),
        ({"action": ["add"]}, "bad_action"),
        ({"action": "nope"}, "unknown_action"),
        ({"action": "x" * 20_000}, "unknown_action"),
        ({"action": "add", "number": "1", "label": "x"}, "schema"),
        ({"action": "add", "number": 1}, "schema"),
        ({"action": "add", "number": 1, "label": "x", "extra": 1}, "schema"),
        ({"action": "add", "number": 1.5, "label": "x"}, "schema"),
        ({"action": "nested", "point": {"x": 1}}, "schema"),
        ({"action": "nested", "point": [1, 2]}, "schema"),
        ({"action": "query_reply", "query_id": "q1", "message": 1}, "unknown_query"),
        ({"action": "query_reply", "query_id": "q1"}, "bad_query_reply"),
        ({"action": "error", "code": "x"}, "unknown_action"),
        ({"action": "query", "query_id": "q1", "message": 1, "schema": "int"}, "unknown_action"),
        ({"action": "skick.query", "message": 1, "schema": "int"}, "unknown_action"),
        ({"action": "skick.conv", "conv": "x", "kind": "next", "body": 1}, "unknown_action"),
        ({"action": "monitor", "address": "x"}, "unknown_action"),
        ({"action": "sentinel", "address": "x"}, "unknown_action"),
        ({"action": "socksend", "message": {}}, "unknown_action"),
        # The conversation envelope's keys cannot be forged, even on a schemaless socket.
        ({"action": "anything", "skick.conv": "k", "skick.from": "x:1"}, "schema"),
        ({"action": "anything", "skick.from": "x:1"}, "schema"),
    ],
)
async def test_bad_frames_get_an_error_and_the_session_goes_on(
    calc: tuple[Running, list[Message]], frame: Any, code: str
) -> None:
    run, received = calc
    async with client(run, "calc") as c, client(run, "calc") as other:
        await healthy(other)
        error = await c.error(frame if isinstance(frame, str | bytes) else json.dumps(frame))
        assert error["code"] == code
        assert len(json.dumps(error)) < 300  # never echoes unbounded input
        await healthy(c)
        await healthy(other)
    assert all(valid(m) for m in received), received


async def test_a_schemaless_socket_still_gets_only_objects_with_its_action(
    calc: tuple[Running, list[Message]],
) -> None:
    run, received = calc
    async with client(run, "calc") as c:
        assert await c.ask({"action": "anything", "whatever": [1, {"a": None}]}) == {"ok": True}
        assert (await c.error("[]"))["code"] == "not_an_object"
    assert received == [{"action": "anything", "whatever": [1, {"a": None}]}]


@pytest.mark.parametrize(
    ("hello", "code"),
    [
        ("not json", "bad_json"),
        (b"\x00\x01", "bad_json"),
        ("[]", "not_an_object"),
        ({}, "bad_handshake"),
        ({"session_type": 3}, "bad_handshake"),
        ({"action": "add"}, "bad_handshake"),
        ({"session_type": "nope"}, "unknown_session"),
        ({"session_type": "hidden"}, "unknown_session"),  # a subsession
        ({"session_type": "s" * 50_000}, "unknown_session"),
    ],
)
async def test_bad_handshakes_close_with_1008(
    calc: tuple[Running, list[Message]], hello: Any, code: str
) -> None:
    run, _ = calc
    async with client(run) as c, client(run, "calc") as other:
        await c.send(hello if isinstance(hello, str | bytes) else json.dumps(hello))
        error = await c.recv()
        assert error["action"] == "error"
        assert error["code"] == code
        assert len(json.dumps(error)) < 300
        close_code, reason = await c.closed()
        assert close_code == 1008
        assert reason
        await healthy(other)
    await asyncio.sleep(0)
    assert not [a for a in run.session_actors() if a.type_name == "hidden"]


async def test_invalid_utf8_closes_with_1007(calc: tuple[Running, list[Message]]) -> None:
    run, _ = calc
    async with client(run, "calc") as c, client(run, "calc") as other:
        await healthy(c)
        # A text frame whose payload is not UTF-8: the websocket layer refuses it.
        await c.ws.send(b"\xff\xfe", text=True)
        assert (await c.closed())[0] == 1007
        await healthy(other)
