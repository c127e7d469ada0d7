"""skick-core against its floors, measured in the same run.

- local one-way send → handler vs a bare ``asyncio.Queue`` producer/consumer;
- conversation round trips (one in flight) vs a bare queue + Future request/response;
- spawning 10 k idle actors vs 10 k bare tasks parked on their own queue (rate, memory);
- validating a typical action schema: the compiled fast path vs ``schema.Schema.validate``;
- pykka's tell/ask on the same box, as a peer line (threads, not asyncio).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import statistics
import time
import tracemalloc
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import schema as schema_lib

from skick_core import Actor, Call, Directory, Respond, Runtime
from skick_core._validation import compile_schema

REPEATS = 5
MESSAGES = 200_000
ROUND_TRIPS = 20_000
IDLE_ACTORS = 10_000


def _median_rate(samples: list[float], count: int) -> float:
    return count / statistics.median(samples)


async def _repeat(fn: Callable[[], Awaitable[float]]) -> list[float]:
    return [await fn() for _ in range(REPEATS)]


# ---------------------------------------------------------------- one-way send


async def bare_queue_oneway() -> float:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    done = asyncio.Event()
    count = 0

    async def consumer() -> None:
        nonlocal count
        while True:
            await queue.get()
            count += 1
            if count == MESSAGES:
                done.set()
                return

    task = asyncio.create_task(consumer())
    start = time.perf_counter()
    for n in range(MESSAGES):
        await queue.put({"action": "add", "number": n})
    await done.wait()
    elapsed = time.perf_counter() - start
    await task
    return elapsed


def _sink_directory(done: asyncio.Event) -> Directory:
    directory = Directory()

    @directory.actor("sink")
    def sink(inst: Actor, message: dict[str, Any]) -> None:
        count = 0

        @inst.action("add", schema={"action": "add", "number": int})
        async def add(msg: dict[str, Any]) -> None:
            nonlocal count
            count += 1
            if count == MESSAGES:
                done.set()

    return directory


async def skick_oneway() -> float:
    done = asyncio.Event()
    async with Runtime(_sink_directory(done), mailbox_size=MESSAGES + 1) as runtime:
        address = await runtime.spawn("sink")
        send = runtime.send
        start = time.perf_counter()
        for n in range(MESSAGES):
            await send(address, {"action": "add", "number": n})
        await done.wait()
        return time.perf_counter() - start


# ----------------------------------------------------------- conversations


async def bare_rpc() -> float:
    queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = asyncio.Queue()

    async def server() -> None:
        while True:
            request, reply = await queue.get()
            reply.set_result({"tally": request["number"]})

    task = asyncio.create_task(server())
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    for n in range(ROUND_TRIPS):
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        await queue.put(({"action": "add", "number": n}, future))
        await future
    elapsed = time.perf_counter() - start
    task.cancel()
    return elapsed


def _conversation_directory(done: asyncio.Future[float]) -> Directory:
    directory = Directory()

    @directory.actor("adder")
    def adder(inst: Actor, message: dict[str, Any]) -> None:
        tally = 0

        @inst.action("add", schema={"action": "add", "number": int})
        async def add(msg: dict[str, Any]) -> AsyncGenerator[Any, Any]:
            nonlocal tally
            yield Respond(msg)
            tally += msg["number"]
            yield {"tally": tally}

    @directory.actor("caller")
    def caller(inst: Actor, message: dict[str, Any]) -> None:
        @inst.on_start
        async def go() -> None:
            async def calls(_: dict[str, Any]) -> AsyncGenerator[Any, Any]:
                start = time.perf_counter()
                for n in range(ROUND_TRIPS):
                    yield Call(message["adder"], {"action": "add", "number": n})
                done.set_result(time.perf_counter() - start)

            await inst.converse({}, calls)

    return directory


async def skick_round_trips() -> float:
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    async with Runtime(_conversation_directory(done)) as runtime:
        adder = await runtime.spawn("adder")
        await runtime.spawn("caller", {"adder": adder})
        return await done


# ------------------------------------------------------------------ spawning


async def bare_spawn() -> tuple[float, float]:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    queues: list[asyncio.Queue[Any]] = []
    tasks = []
    for _ in range(IDLE_ACTORS):
        queue: asyncio.Queue[Any] = asyncio.Queue()
        queues.append(queue)
        tasks.append(asyncio.create_task(queue.get()))
    await asyncio.sleep(0)  # let every task park on its queue
    elapsed = time.perf_counter() - start
    per_actor = (tracemalloc.get_traced_memory()[0] - before) / IDLE_ACTORS
    tracemalloc.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return elapsed, per_actor


async def skick_spawn() -> tuple[float, float]:
    directory = Directory()

    @directory.actor("idle")
    def idle(inst: Actor, message: dict[str, Any]) -> None:
        @inst.action("poke")
        async def poke(msg: dict[str, Any]) -> None:
            pass

    async with Runtime(directory) as runtime:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        for _ in range(IDLE_ACTORS):
            await runtime.spawn("idle")
        await asyncio.sleep(0)
        elapsed = time.perf_counter() - start
        per_actor = (tracemalloc.get_traced_memory()[0] - before) / IDLE_ACTORS
        tracemalloc.stop()
        return elapsed, per_actor


# ---------------------------------------------------------------- validation


def validation() -> tuple[float, float]:
    spec = {"action": "add", "number": int, "label": str}
    message = {"action": "add", "number": 3, "label": "x"}
    compiled = compile_schema(spec)
    library = schema_lib.Schema(spec)
    n = 50_000

    def run(check: Callable[[Any], Any]) -> float:
        start = time.perf_counter()
        for _ in range(n):
            check(message)
        return n / (time.perf_counter() - start)

    ours = statistics.median(run(compiled) for _ in range(REPEATS))
    theirs = statistics.median(run(library.validate) for _ in range(REPEATS))
    return ours, theirs


# ---------------------------------------------------------------------- pykka


def pykka_rates() -> tuple[float, float] | None:
    try:
        pykka = importlib.import_module("pykka")  # only in the bench environment
    except ImportError:
        return None

    received = [0]

    def on_receive(self: Any, message: Any) -> Any:
        received[0] += 1
        return received[0]

    counter: Any = type("Counter", (pykka.ThreadingActor,), {"on_receive": on_receive})
    ref = counter.start()
    n = 20_000
    start = time.perf_counter()
    for _ in range(n):
        ref.tell({"n": 1})
    ref.ask({"n": 1})
    tell = n / (time.perf_counter() - start)
    m = 5_000
    start = time.perf_counter()
    for _ in range(m):
        ref.ask({"n": 1})
    ask = m / (time.perf_counter() - start)
    ref.stop()
    return tell, ask


def _row(name: str, ours: float, bare: float, unit: str, target: str) -> None:
    ratio = ours / bare if bare else float("nan")
    print(f"{name:<42} {ours:>12,.0f} {bare:>12,.0f} {unit:<8} {ratio:>6.2f}x  {target}")


async def main() -> None:
    print(f"{'measure':<42} {'skick':>12} {'floor':>12} {'unit':<8} {'ratio':>7}  target")
    bare = _median_rate(await _repeat(bare_queue_oneway), MESSAGES)
    ours = _median_rate(await _repeat(skick_oneway), MESSAGES)
    _row("local one-way send -> handler (200k)", ours, bare, "msg/s", ">= 0.5x")

    bare = _median_rate(await _repeat(bare_rpc), ROUND_TRIPS)
    ours = _median_rate(await _repeat(skick_round_trips), ROUND_TRIPS)
    _row("conversation round trips, 1 in flight", ours, bare, "rt/s", ">= 0.35x")

    bare_runs = [await bare_spawn() for _ in range(3)]
    ours_runs = [await skick_spawn() for _ in range(3)]
    bare_rate = IDLE_ACTORS / statistics.median(r[0] for r in bare_runs)
    ours_rate = IDLE_ACTORS / statistics.median(r[0] for r in ours_runs)
    _row("spawn 10k idle actors", ours_rate, bare_rate, "spawn/s", ">= 0.3x")
    bare_mem = statistics.median(r[1] for r in bare_runs)
    ours_mem = statistics.median(r[1] for r in ours_runs)
    print(
        f"{'memory per idle actor (tracemalloc)':<42} {ours_mem:>12,.0f} {bare_mem:>12,.0f} "
        f"{'bytes':<8} {ours_mem / bare_mem:>6.2f}x  <= 3x and <= 14 KB"
    )

    ours, theirs = validation()
    _row("validate {action, number:int, label:str}", ours, theirs, "checks/s", "faster")

    peer = await asyncio.to_thread(pykka_rates)
    if peer is not None:
        print(f"{'pykka tell (peer line, threads)':<42} {peer[0]:>12,.0f} {'':>12} msg/s")
        print(f"{'pykka ask (peer line, threads)':<42} {peer[1]:>12,.0f} {'':>12} rt/s")
