"""skick.js, the browser client, under Node's test runner against a real server.

The JavaScript side is ``skick_js.test.mjs``; the sessions it talks to are here.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncGenerator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from skick import SocketQuery
from skick_ws import SessionActor
from tests.ws.helpers import Message, make_skick, running

SCRIPT = Path(__file__).with_name("skick_js.test.mjs")


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.mark.timeout(90)
async def test_skick_js_in_node(node: list[str]) -> None:
    skick = make_skick()

    @skick.session("echo")
    def echo(inst: SessionActor, message: Message) -> None:
        hello = dict(message)

        @inst.on_start
        async def greet() -> None:
            await inst.socksend({"hello": hello})

        @inst.socket("echo", {"action": "echo", "n": int})
        async def echo_n(msg: Message) -> None:
            await inst.socksend({"n": msg["n"]})

        @inst.socket("ask", {"action": "ask", "q": str})
        async def ask(msg: Message) -> AsyncGenerator[Any, Any]:
            answer = yield SocketQuery({"q": msg["q"]}, "int", timeout=5)
            await inst.socksend({"answer": answer})

        @inst.socket("crash", {"action": "crash"})
        async def crash(msg: Message) -> None:
            raise RuntimeError("asked to crash")

        @inst.socket("leave", {"action": "leave"})
        async def leave(msg: Message) -> None:
            await inst.socksend({"bye": True})
            await inst.stop()

    @skick.session("broken")
    def broken(inst: SessionActor, message: Message) -> None:
        @inst.on_start
        async def fail() -> None:
            raise RuntimeError("cannot start")

    client = resources.files("skick_ws").joinpath("static", "skick.js")
    async with running(skick) as run:
        env = {
            **os.environ,
            "SKICK_URL": run.url,
            "SKICK_DEAD_URL": f"ws://127.0.0.1:{_dead_port()}",
            "SKICK_JS": str(client),
        }
        process = await asyncio.create_subprocess_exec(
            *node,
            "--test",
            "--test-reporter=spec",
            str(SCRIPT),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdout is not None
        lines: list[str] = []

        async def read() -> None:
            assert process.stdout is not None
            async for line in process.stdout:
                lines.append(line.decode(errors="replace"))
            await process.wait()

        try:
            await asyncio.wait_for(read(), 60)
        except TimeoutError:
            pytest.fail("node did not finish in time:\n" + "".join(lines), pytrace=False)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    report = "".join(lines)
    assert process.returncode == 0, report
    assert "fail 0" in report, report
    assert "pass 11" in report, report
