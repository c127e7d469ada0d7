"""SessionKit and TestClient: every feature, in memory and over a socket, and how they fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from skick_core import Directory
from skick_core.exceptions import SkickError
from skick_ws import SessionActor, SocketQuery
from skick_ws.testing import ANY, Query, Refused, SessionKit, memory_pair
from tests.core.helpers import until

Message = dict[str, Any]

MODES = pytest.mark.parametrize("socket", [False, True], ids=["memory", "socket"])


def sessions(stopped: list[str] | None = None) -> Directory:
    directory = Directory()

    @directory.session("echo")
    def echo(inst: SessionActor, message: Message) -> None:
        @inst.socket("say", {"action": "say", "text": str})
        async def say(msg: Message) -> None:
            await inst.socksend({"said": msg["text"]})

        @inst.socket("crash", {"action": "crash"})
        async def crash(msg: Message) -> None:
            raise RuntimeError("asked to crash")

        @inst.socket("bye", {"action": "bye"})
        async def bye(msg: Message) -> None:
            await inst.stop()

        @inst.on_stop
        async def gone() -> None:
            if stopped is not None:
                stopped.append(message.get("name", "?"))

    @directory.session("asker")
    def asker(inst: SessionActor, message: Message) -> None:
        @inst.socket("ask", {"action": "ask", "n": int})
        async def ask(msg: Message) -> AsyncGenerator[Any, Any]:
            answers = []
            for i in range(msg["n"]):
                answers.append((yield SocketQuery({"question": i}, "int")))
            await inst.socksend({"answers": answers})

    return directory


@MODES
async def test_expect_failure_shows_the_frames_and_why(socket: bool) -> None:
    async with SessionKit(sessions(), socket=socket, timeout=0.2) as kit:
        client = await kit.connect("echo")
        await client.send({"action": "say", "text": "hi"})
        await client.send({"action": "shout"})
        await client.expect({"said": "hi"})
        await client.send({"action": "say", "text": "ho"})
        with pytest.raises(AssertionError) as failure:
            await client.expect({"said": "hey"})
        assert str(failure.value) == (
            "expected a frame matching {'said': 'hey'} within 0.2 s\n"
            "pending (received, not consumed): 2\n"
            "  {'action': 'error', 'code': 'unknown_action', "
            "'detail': \"no action 'shout' in this session\"}\n"
            "      ↳ ['said'] is missing\n"
            "  {'said': 'ho'}\n"
            "      ↳ ['said']: 'ho' != 'hey'\n"
            "consumed before (1; the last 1):\n"
            "  {'said': 'hi'}"
        )
        with pytest.raises(AssertionError, match="expected an error frame with code 'schema'"):
            await client.expect_error("schema")
        with pytest.raises(AssertionError, match=r"expected no frame within 0\.1 s, but got:"):
            await client.expect_nothing()
        await client.expect_error("unknown_action")
        await client.expect({"said": ANY})
        await client.expect_nothing()


@MODES
async def test_a_closed_connection_fails_expectations_at_once(socket: bool) -> None:
    async with SessionKit(sessions(), socket=socket, timeout=5) as kit:
        client = await kit.connect("echo")
        await client.send({"action": "crash"})
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(AssertionError) as failure:
            await client.expect({"said": "anything"})
        assert loop.time() - started < 2
        assert str(failure.value) == (
            "expected a frame matching {'said': 'anything'}, but the connection closed "
            "with 1011 'session crashed'; no frame arrived that was not consumed already"
        )
        assert await client.expect_close(1011, "session crashed") == (1011, "session crashed")
        with pytest.raises(AssertionError, match=r"cannot send .* closed with 1011"):
            await client.send({"action": "say", "text": "hi"})
        with pytest.raises(AssertionError, match=r"to close with 1000, but it closed with 1011"):
            await client.expect_close(1000)


@MODES
async def test_expect_close_while_open(socket: bool) -> None:
    async with SessionKit(sessions(), socket=socket, timeout=0.1) as kit:
        client = await kit.connect("echo")
        await client.send({"action": "say", "text": "hi"})
        with pytest.raises(AssertionError) as failure:
            await client.expect_close()
        assert str(failure.value) == (
            "expected the connection to close within 0.1 s; it is open\n"
            "pending (received, not consumed): 1\n"
            "  {'said': 'hi'}"
        )


@MODES
async def test_the_session_ends_and_the_kit_shuts_down(socket: bool) -> None:
    stopped: list[str] = []
    async with SessionKit(sessions(stopped), socket=socket) as kit:
        async with kit.connect("echo", name="bye") as client:
            await client.send({"action": "bye"})
            await client.expect_close(1000, "session ended")
        async with kit.connect("echo", name="client") as client:
            await client.ask({"action": "say", "text": "hi"}, {"said": "hi"})
        lingering = await kit.connect("echo", name="lingering")
        await lingering.ask({"action": "say", "text": "hi"}, {"said": "hi"})
        assert len(kit.sessions) == 1
    assert lingering.closed
    assert (lingering.close_code, lingering.close_reason) == (1001, "server shutting down")
    assert sorted(stopped) == ["bye", "client", "lingering"]
    with pytest.raises(SkickError, match="not running"):
        await kit.connect("echo")


@MODES
async def test_queries_by_hand_and_automatically(socket: bool) -> None:
    async with SessionKit(sessions(), socket=socket) as kit:
        client = await kit.connect("asker")
        await client.send({"action": "ask", "n": 2})
        first = await client.expect_query({"question": 0}, schema="int")
        assert (first.id, first.message, first.schema) == ("q1", {"question": 0}, "int")
        await client.reply(first.id, 10)
        second = await client.expect_query()
        await second.reply(11)
        await client.expect({"answers": [10, 11]})
        assert [q.answer for q in client.queries] == [10, 11]
        await first.reply(99)  # an old query
        await client.expect_error("unknown_query")
        # A pending query is answered as soon as automatic answers are on.
        await client.send({"action": "ask", "n": 3})
        await until(lambda: any(frame.get("action") == "query" for frame in client.pending))
        client.answer_queries(lambda query: query.message["question"] * 100)
        await client.expect({"answers": [0, 100, 200]})
        assert client.pending == []
        client.stop_answering()
        await client.send({"action": "ask", "n": 1})
        await client.expect_query()


async def test_expect_query_hints_at_automatic_answers() -> None:
    async with SessionKit(sessions(), timeout=0.1) as kit:
        client = await kit.connect("asker")
        client.answer_queries(1)
        await client.send({"action": "ask", "n": 1})
        await client.expect({"answers": [1]})
        with pytest.raises(AssertionError, match="answered automatically"):
            await client.expect_query()


@MODES
async def test_a_failing_answer_function_fails_the_test(socket: bool) -> None:
    async with SessionKit(sessions(), socket=socket, timeout=0.5) as kit:
        client = await kit.connect("asker")

        async def answer(query: Query) -> int:
            raise KeyError("no idea")

        client.answer_queries(answer)
        await client.send({"action": "ask", "n": 1})
        with pytest.raises(AssertionError, match="answering a query raised KeyError") as failure:
            await client.expect({"answers": ANY})
        assert isinstance(failure.value.__cause__, KeyError)


@MODES
async def test_limits_apply_in_both_modes(socket: bool) -> None:
    options: dict[str, Any] = {"max_frame_size": 1000, "rate_limit": 1.0, "rate_burst": 3}
    async with SessionKit(sessions(), socket=socket, **options) as kit:
        client = await kit.connect("echo")
        await client.send({"action": "say", "text": "x" * 2000})
        assert await client.expect_close(1009) == (
            1009,
            "frame with 2026 bytes exceeds limit of 1000 bytes",
        )
        client = await kit.connect("echo")
        for _ in range(4):  # a burst of 3 passes, the 4th frame is dropped
            await client.send({"action": "say", "text": "hi"})
        for _ in range(3):
            await client.expect({"said": "hi"})
        await client.expect_error("rate_limited")
        try:
            for _ in range(10):
                await client.send({"action": "say", "text": "hi"})
        except AssertionError:
            pass  # closed while flooding
        await client.expect_close(1008, "rate limit exceeded")
        await client.expect_nothing()


@MODES
async def test_the_handshake_itself(socket: bool) -> None:
    async with SessionKit(sessions(), socket=socket, handshake_timeout=0.1) as kit:
        client = await kit.open()
        await client.expect_error("handshake_timeout")
        await client.expect_close(1008, "handshake_timeout")
        client = await kit.open()
        await client.send("{not json")
        await client.expect_error("bad_json")
        await client.expect_close(1008, "bad_json")
        client = await kit.open()
        await client.send(b"\x00binary")
        await client.expect_error("bad_json", detail="binary frames are not supported")
        with pytest.raises(TypeError, match="need a session_type"):
            kit.connect(None, name="x")


async def test_memory_is_the_default_and_the_environment_switches() -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SKICK_TEST_SOCKET", raising=False)
        kit = SessionKit(sessions())
    assert not kit.socket
    assert repr(kit) == "<SessionKit memory>"
    with pytest.raises(SkickError, match="no listening server"):
        _ = kit.url
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKICK_TEST_SOCKET", "1")
        async with SessionKit(sessions()) as kit:
            assert kit.socket
            assert kit.url.startswith("ws://127.0.0.1:")
            client = await kit.connect("echo")
            assert await client.ask({"action": "say", "text": "hi"}) == {"said": "hi"}


async def test_origins_are_checked_over_a_socket() -> None:
    options: dict[str, Any] = {"allowed_origins": ["https://good.example"]}
    async with SessionKit(sessions(), socket=True, **options) as kit:
        client = await kit.open(origin="https://good.example")
        await client.send({"session_type": "echo"})
        await client.ask({"action": "say", "text": "hi"}, {"said": "hi"})
        with pytest.raises(Refused) as refused:
            await kit.open(origin="https://evil.example")
        assert refused.value.status == 403


@MODES
async def test_the_client_knows_its_session(socket: bool) -> None:
    async with SessionKit(sessions(), socket=socket) as kit:
        client = await kit.connect("echo")
        await client.ask({"action": "say", "text": "hi"}, {"said": "hi"})
        session = client.session
        assert session is not None
        assert session.back is not None
        assert session.back.type_name == "echo"
        probe = await kit.probe()
        await probe.monitor(session.back_address)
        await client.close()
        await probe.expect_sentinel(session.back_address, type="cancellation")


async def test_a_client_that_does_not_read_is_disconnected_in_memory_too() -> None:
    directory = Directory()

    @directory.session("firehose")
    def firehose(inst: SessionActor, message: Message) -> None:
        @inst.socket("go", {"action": "go"})
        async def go(msg: Message) -> None:
            for n in range(100):
                if not await inst.socksend({"n": n, "padding": "x" * 1000}):
                    break

    async with SessionKit(directory, max_pending_frames=10) as kit:
        server_end, client_end = memory_pair(write_limit=4096)
        handler = asyncio.create_task(kit.server.serve_connection(server_end))
        await client_end.send('{"session_type": "firehose"}')
        await client_end.send('{"action": "go"}')
        await asyncio.wait_for(client_end.wait_closed(), 2)
        assert client_end.close_code == 1008
        assert client_end.close_reason == "slow consumer: too many pending frames"
        await asyncio.wait_for(handler, 2)
