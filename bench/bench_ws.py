"""Skick websocket sessions against a bare ``websockets`` server, in the same run.

- round trips: a client sends ``{"action": "echo", "n": i}`` and waits for the answer;
  in Skick that is client → FrontActor (decode, schema) → BackActor → ``socksend`` →
  client, against a bare websockets server that echoes the text back. C = 1, 10, 100
  connections, each with one request in flight — target ≥ 0.7x at C = 100;
- idle: 10 000 open sessions (handshake done, greeting received) against 10 000 open
  bare connections — server memory (RSS growth) per session ≤ 2x a bare connection;
- open+close: sessions opened (handshake, greeting) and closed by 10 concurrent
  clients against bare connect + close — target ≥ 0.7x.

Each server runs in its own process (``python -m bench.bench_ws serve skick|bare``);
the clients run here, so a server gets a core of its own. Both servers use the same
websockets settings (no per-message deflate, Skick's default). Skick runs with its
defaults except ``rate_limit=None`` (one benchmark client sends thousands of frames a
second, far beyond the default 100/s) and ``max_connections`` (above 10 000). Round
trips and open+close are measured in interleaved rounds (the order flips each round);
the table shows median rates and the median of the per-round ratios.

Everything runs twice, once per variant of the servers (the clients stay the same):

- ``stdlib``: asyncio's event loop, ``json`` (``SKICK_NO_UVLOOP=1 SKICK_NO_ORJSON=1``);
- ``fast``: ``pip install "skick[fast]"``, i.e. uvloop and orjson; the bare server runs
  on uvloop too, so each ratio compares two servers on the same loop. Skipped (with a
  note) when uvloop or orjson is missing.

The last table compares the Skick server of both variants: fast / stdlib.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]
ROUND = 1.0
"""Seconds per measurement."""
ROUNDS = 7
CONCURRENCY = (1, 10, 100)
IDLE = 10_000
OPENERS = 10
HELLO = json.dumps({"session_type": "echo"})
VARIANTS = {
    "stdlib": {"SKICK_NO_UVLOOP": "1", "SKICK_NO_ORJSON": "1"},
    "fast": {},
}
"""Server environment per variant (``fast`` needs uvloop and orjson installed)."""

# ------------------------------------------------------------------ the servers


def _serve_skick() -> None:
    from skick import Skick
    from skick_core import Shard
    from skick_ws import SessionActor, WebsocketServer

    async def ready(shard: Shard) -> None:
        server = skick.server
        assert isinstance(server, WebsocketServer)
        print(f"PORT {server.port}", flush=True)

    skick = Skick(
        on_start=ready,
        websocket_host="127.0.0.1",
        websocket_port=0,
        rate_limit=None,
        max_connections=IDLE + 1000,
    )

    @skick.session("echo")
    def echo(inst: SessionActor, message: dict[str, Any]) -> None:
        @inst.on_start
        async def greet() -> None:
            await inst.socksend({"ready": True})

        @inst.socket("echo", {"action": "echo", "n": int})
        async def answer(msg: dict[str, Any]) -> None:
            await inst.socksend({"n": msg["n"]})

    # start(): uvloop when installed, unless SKICK_NO_UVLOOP (the stdlib variant).
    skick.start()


def _serve_bare() -> None:
    async def echo(ws: ServerConnection) -> None:
        try:
            async for message in ws:
                await ws.send(message)
        except ConnectionClosed:
            pass  # clients of the idle test vanish without a closing handshake

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        async with serve(echo, "127.0.0.1", 0, compression=None) as server:
            print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
            await stop.wait()

    if os.environ.get("SKICK_NO_UVLOOP"):
        asyncio.run(main())
    else:  # uvloop is imported by name: it is a bench dependency, not a typed one
        uvloop = importlib.import_module("uvloop")
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())


class Server:
    """A server process: its URL and its resident memory."""

    def __init__(self, kind: str, variant: str) -> None:
        self.kind = kind
        environ = {k: v for k, v in os.environ.items() if k not in VARIANTS["stdlib"]}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_ws", "serve", kind],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**environ, **VARIANTS[variant]},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"the {kind} server did not start: {line!r}")
        self.url = f"ws://127.0.0.1:{int(line.split()[1])}"

    def rss(self) -> int:
        """Resident set size in bytes (Linux)."""
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------------------ the clients


async def _open(server: Server) -> ClientConnection:
    ws = await connect(server.url, compression=None, open_timeout=30)
    if server.kind == "skick":
        await ws.send(HELLO)
        await ws.recv()  # the greeting: the session runs
    return ws


async def _round_trips(server: Server, conns: list[ClientConnection]) -> float:
    deadline = time.perf_counter() + ROUND
    count = 0
    skick = server.kind == "skick"

    async def worker(ws: ClientConnection) -> None:
        nonlocal count
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            await ws.send(f'{{"action":"echo","n":{n}}}')
            reply = await ws.recv()
            if skick and reply != f'{{"n":{n}}}':
                raise AssertionError(reply)
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(ws) for ws in conns))
    return count / (time.perf_counter() - started)


async def _open_close(server: Server) -> float:
    deadline = time.perf_counter() + ROUND
    count = 0

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            ws = await _open(server)
            await ws.close()
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(OPENERS)))
    return count / (time.perf_counter() - started)


async def _interleaved(
    servers: tuple[Server, Server], measure: Callable[[Server], Awaitable[float]]
) -> tuple[float, float, float]:
    """Median rate of each server and the median per-round ratio ours/bare."""
    ours_rates: list[float] = []
    bare_rates: list[float] = []
    ratios: list[float] = []
    for round_ in range(ROUNDS):
        order = servers if round_ % 2 == 0 else servers[::-1]
        now = {}
        for server in order:
            now[server.kind] = await measure(server)
        ours_rates.append(now["skick"])
        bare_rates.append(now["bare"])
        ratios.append(now["skick"] / now["bare"])
    median = statistics.median
    return median(ours_rates), median(bare_rates), median(ratios)


async def _idle_memory(server: Server) -> float:
    """Server RSS growth per open connection, in bytes."""
    gate = asyncio.Semaphore(200)

    async def open_one() -> ClientConnection:
        async with gate:
            return await _open(server)

    warm = await asyncio.gather(*(open_one() for _ in range(200)))
    await asyncio.gather(*(ws.close() for ws in warm))
    await asyncio.sleep(1.0)
    before = server.rss()
    conns = await asyncio.gather(*(open_one() for _ in range(IDLE)))
    await asyncio.sleep(1.0)
    after = server.rss()
    for ws in conns:
        ws.transport.abort()
    return (after - before) / IDLE


def _verdict(ratio: float, target: float, higher_is_better: bool = True) -> str:
    ok = ratio >= target if higher_is_better else ratio <= target
    return "ok" if ok else "MISSED"


async def _variant(variant: str) -> dict[str, float]:
    """Measure one variant; print its table; return Skick's figures by metric."""
    print(f"-- {variant}: {'uvloop + orjson' if VARIANTS[variant] == {} else 'asyncio + json'}")
    servers = (Server("skick", variant), Server("bare", variant))
    figures: dict[str, float] = {}
    try:
        print(f"round trips/s, one in flight per connection ({ROUNDS} x {ROUND:g} s rounds)")
        print(f"  {'C':>5} {'skick':>10} {'bare':>10} {'ratio':>7}  target")
        for c in CONCURRENCY:
            conns = {s.kind: await asyncio.gather(*(_open(s) for _ in range(c))) for s in servers}

            async def measure(server: Server, conns: Any = conns) -> float:
                return await _round_trips(server, conns[server.kind])

            ours, bare, ratio = await _interleaved(servers, measure)
            figures[f"round trips/s, C = {c}"] = ours
            target = f">= 0.70 {_verdict(ratio, 0.7)}" if c == 100 else ""
            print(f"  {c:>5} {ours:>10,.0f} {bare:>10,.0f} {ratio:>7.2f}  {target}", flush=True)
            for group in conns.values():
                await asyncio.gather(*(ws.close() for ws in group))

        ours, bare, ratio = await _interleaved(servers, _open_close)
        figures["open+close/s"] = ours
        print(f"open+close/s, {OPENERS} concurrent clients")
        verdict = _verdict(ratio, 0.7)
        print(f"  {'':>5} {ours:>10,.0f} {bare:>10,.0f} {ratio:>7.2f}  >= 0.70 {verdict}")

        print(f"server memory per idle connection ({IDLE:,} open)", flush=True)
        per = {}
        for server in servers:  # one at a time: 2 x 10 000 client sockets exceed the fd limit
            per[server.kind] = await _idle_memory(server)
        figures["KB per idle session"] = per["skick"] / 1024
        ratio = per["skick"] / per["bare"]
        print(
            f"  {'':>5} {per['skick'] / 1024:>8.1f}KB {per['bare'] / 1024:>8.1f}KB {ratio:>7.2f}"
            f"  <= 2.00 {_verdict(ratio, 2.0, higher_is_better=False)}"
        )
    finally:
        for server in servers:
            server.close()
    return figures


async def main() -> None:
    results = {"stdlib": await _variant("stdlib")}
    missing = [name for name in ("uvloop", "orjson") if importlib.util.find_spec(name) is None]
    if missing:
        print(f"-- fast: skipped ({', '.join(missing)} not installed: pip install 'skick[fast]')")
        return
    results["fast"] = await _variant("fast")
    print("skick, fast / stdlib")
    print(f"  {'':<24} {'stdlib':>10} {'fast':>10} {'ratio':>7}")
    for metric, slow in results["stdlib"].items():
        fast = results["fast"][metric]
        print(f"  {metric:<24} {slow:>10,.1f} {fast:>10,.1f} {fast / slow:>7.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        {"skick": _serve_skick, "bare": _serve_bare}[sys.argv[2]]()
    else:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        asyncio.run(main())
