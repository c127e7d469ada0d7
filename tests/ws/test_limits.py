"""Every limit of the server: configurable, safe by default, and enforced."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from skick import ConfigurationError, Skick
from skick_ws import SessionActor, WsOptions
from tests.ws.helpers import WAIT, Message, Running, client, make_skick, running, until


def echo(skick: Skick) -> None:
    @skick.session("echo")
    def echo_session(inst: SessionActor, message: Message) -> None:
        @inst.socket("echo", {"action": "echo", "text": str})
        async def do_echo(msg: Message) -> None:
            await inst.socksend({"echo": msg["text"]})


def test_the_defaults_are_safe() -> None:
    o = WsOptions()
    assert o.max_frame_size == 64 * 1024
    assert o.rate_limit == 100.0
    assert o.rate_burst == 200
    assert o.handshake_timeout == 10.0
    assert o.max_connections == 10_000
    assert o.allowed_origins is None  # same origin only
    assert o.max_pending_frames == 1024
    assert o.compression is False


async def test_max_frame_size() -> None:
    skick = make_skick(max_frame_size=1024)
    echo(skick)
    async with running(skick) as run, client(run, "echo") as c, client(run, "echo") as other:
        text = "x" * (1024 - len('{"action": "echo", "text": ""}'))
        assert await c.ask({"action": "echo", "text": text}) == {"echo": text}
        await c.send({"action": "echo", "text": text + "x"})
        code, reason = await c.closed()
        assert code == 1009
        assert reason
        assert await other.ask({"action": "echo", "text": "hi"}) == {"echo": "hi"}


async def test_rate_limit_drops_then_closes_a_flood() -> None:
    skick = make_skick(rate_limit=5, rate_burst=5)
    echo(skick)
    async with running(skick) as run, client(run, "echo") as c, client(run, "echo") as other:
        for i in range(6):
            await c.send({"action": "echo", "text": str(i)})
        for i in range(5):
            assert await c.recv() == {"echo": str(i)}
        error = await c.recv()
        assert error["code"] == "rate_limited"
        # Told to slow down, it keeps flooding: disconnected.
        for i in range(20):
            await c.send({"action": "echo", "text": str(i)})
        code, reason = await c.closed()
        assert code == 1008
        assert reason == "rate limit exceeded"
        assert await other.ask({"action": "echo", "text": "hi"}) == {"echo": "hi"}


async def test_rate_limit_refills() -> None:
    skick = make_skick(rate_limit=50, rate_burst=2)
    echo(skick)
    async with running(skick) as run, client(run, "echo") as c:
        for i in range(3):
            await c.send({"action": "echo", "text": str(i)})
        assert await c.recv() == {"echo": "0"}
        assert await c.recv() == {"echo": "1"}
        assert (await c.recv())["code"] == "rate_limited"
        await asyncio.sleep(0.1)  # the bucket refills at 50 frames/s: time is the point here
        assert await c.ask({"action": "echo", "text": "again"}) == {"echo": "again"}


async def test_handshake_timeout() -> None:
    skick = make_skick(handshake_timeout=0.2)
    echo(skick)
    async with running(skick) as run, client(run) as c:
        error = await c.recv()
        assert error["code"] == "handshake_timeout"
        assert await c.closed() == (1008, "handshake_timeout")
        await until(lambda: not run.server.sessions)


async def test_max_connections() -> None:
    skick = make_skick(max_connections=2)
    echo(skick)
    async with running(skick) as run, client(run, "echo") as a:
        async with client(run, "echo") as b:
            assert await b.ask({"action": "echo", "text": "b"}) == {"echo": "b"}
            with pytest.raises(InvalidStatus) as info:
                async with client(run, "echo"):
                    pass
            assert info.value.response.status_code == 503
        await until(lambda: len(run.server.sessions) < 2)
        async with client(run, "echo") as c:
            assert await c.ask({"action": "echo", "text": "c"}) == {"echo": "c"}
        assert await a.ask({"action": "echo", "text": "a"}) == {"echo": "a"}


async def refused(run: Running, origin: str | None) -> int | None:
    """The HTTP status that refused the upgrade, or None when it was accepted."""
    try:
        async with connect(run.url, origin=Origin(origin) if origin else None, open_timeout=WAIT):
            return None
    except InvalidStatus as exc:
        return exc.response.status_code


async def test_allowed_origins_default_is_same_origin() -> None:
    skick = make_skick()
    echo(skick)
    async with running(skick) as run:
        assert await refused(run, None) is None  # not a browser
        assert await refused(run, f"http://127.0.0.1:{run.port}") is None
        assert await refused(run, "http://evil.example") == 403
        assert await refused(run, f"http://127.0.0.1:{run.port + 1}") == 403
        assert await refused(run, "null") == 403


async def test_allowed_origins_list_and_star() -> None:
    skick = make_skick(
        allowed_origins=["https://app.example", re.compile(r"https://[a-z]+\.example\.org")]
    )
    echo(skick)
    async with running(skick) as run:
        assert await refused(run, "https://app.example") is None
        assert await refused(run, "https://shop.example.org") is None
        assert await refused(run, "https://evil.example") == 403
        assert await refused(run, None) == 403  # None is not in the list
    skick = make_skick(allowed_origins="*")
    echo(skick)
    async with running(skick) as run:
        assert await refused(run, "https://anything.example") is None
        assert await refused(run, None) is None


async def test_a_client_that_does_not_read_is_disconnected() -> None:
    skick = make_skick(max_pending_frames=50, websocket_options={"close_timeout": 0.5})
    stopped = asyncio.Event()
    results: list[int] = []

    @skick.session("firehose")
    def firehose(inst: SessionActor, message: Message) -> None:
        @inst.socket("start", {"action": "start"})
        async def start(msg: Message) -> None:
            chunk = {"data": "x" * 4096}
            sent = 0
            while await inst.socksend(chunk):  # never yields while the socket keeps up
                sent += 1
                assert sent < 1_000_000
            results.append(sent)

        @inst.on_stop
        async def gone() -> None:
            stopped.set()

    async with running(skick) as run, client(run, "firehose", max_queue=4) as c:
        await c.send({"action": "start"})
        # The client never reads: the server must give up on it, bounded.
        await asyncio.wait_for(stopped.wait(), WAIT)
        assert len(results) == 1
        await until(lambda: not run.session_actors() and not run.server.sessions)
        c.ws.transport.abort()


async def test_compression_is_off_by_default_and_can_be_turned_on() -> None:
    skick = make_skick()
    echo(skick)
    async with running(skick) as run, client(run, "echo", compression="deflate") as c:
        assert c.ws.response is not None
        assert "Sec-WebSocket-Extensions" not in c.ws.response.headers
        assert await c.ask({"action": "echo", "text": "plain"}) == {"echo": "plain"}
    skick = make_skick(compression=True)
    echo(skick)
    async with running(skick) as run, client(run, "echo", compression="deflate") as c:
        assert c.ws.response is not None
        assert "permessage-deflate" in c.ws.response.headers["Sec-WebSocket-Extensions"]
        assert await c.ask({"action": "echo", "text": "z" * 5000}) == {"echo": "z" * 5000}


async def test_websocket_options_pass_through() -> None:
    skick = make_skick(websocket_options={"server_header": "skick-test"})
    echo(skick)
    async with running(skick) as run, client(run, "echo") as c:
        assert c.ws.response is not None
        assert c.ws.response.headers["Server"] == "skick-test"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"max_frame_sise": 10}, "unknown websocket server options: max_frame_sise"),
        ({"max_frame_size": 0}, "max_frame_size"),
        ({"max_pending_frames": -1}, "max_pending_frames"),
        ({"rate_limit": -1}, "rate_limit"),
        ({"rate_burst": 1.5}, "rate_burst"),
        ({"handshake_timeout": 0}, "handshake_timeout"),
        ({"max_connections": "many"}, "max_connections"),
        ({"allowed_origins": "evil.example"}, "allowed_origins"),
        ({"allowed_origins": [3]}, "allowed_origins"),
        ({"compression": "deflate"}, "compression"),
        ({"ssl": 12}, "ssl"),
        ({"ssl": "/no/such/file.pem"}, "certificate"),
        ({"websocket_port": -1}, "websocket_port"),
    ],
)
async def test_bad_options_are_configuration_errors(options: dict[str, Any], match: str) -> None:
    skick = make_skick(**options)
    with pytest.raises(ConfigurationError, match=match):
        async with running(skick):
            pass


async def test_a_busy_port_is_a_configuration_error() -> None:
    skick = make_skick()
    async with running(skick) as run:
        other = make_skick(websocket_port=run.port)
        with pytest.raises(ConfigurationError, match="cannot listen"):
            async with running(other):
                pass


async def test_websocket_server_false_disables_the_server() -> None:
    skick = make_skick(websocket_server=False)
    async with running(skick):
        assert skick.server is None
