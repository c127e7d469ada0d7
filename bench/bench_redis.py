"""Skick hashes on Redis against bare redis-py, in the same run.

- get: ``await h.get(k)`` vs bare ``await r.hget(key, field)`` — target ≥ 0.85x;
- set: ``await h.set(k, v)`` vs bare ``await r.hset(key, field, text)`` — target ≥ 0.85x;
- burst: ``h[k] = v`` x N then one read (fire-and-forget, pipelined by the backend) vs the
  sequential ``await h.set`` rate — target ≥ 2x; the bare column shows one redis-py
  pipeline of N ``HSET`` for reference.

Bare redis-py does no JSON work at all (a fixed string value), so the ratios include
Skick's encoding, ordering and error handling. Each measurement is repeated, ours and
bare interleaved; the table shows median rates and the median of the per-round ratios.
Uses ``SKICK_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) under a throwaway key
prefix.
"""

from __future__ import annotations

import os
import uuid

from redis.asyncio import Redis

from bench._measure import interleaved_medians
from skick_core import Runtime
from skick_core.exceptions import HashError

URL = os.environ.get("SKICK_REDIS_URL") or "redis://127.0.0.1:6379/0"
OPS = 300
"""Sequential operations per get/set measurement."""
BURST = 1000
"""Writes per burst."""
REPEATS = 31


async def main() -> None:
    prefix = f"skick-bench:{uuid.uuid4().hex}:"
    sep = "&" if "?" in URL else "?"
    bare = Redis.from_url(URL)
    try:
        async with Runtime(hashes=f"{URL}{sep}prefix={prefix}") as runtime:
            await _run(runtime, bare, prefix)
    except HashError as exc:
        print(f"skipped: {exc}")
    finally:
        keys = [key async for key in bare.scan_iter(match=f"{prefix}*")]
        if keys:
            await bare.delete(*keys)
        await bare.aclose()


async def _run(runtime: Runtime, bare: Redis, prefix: str) -> None:
    h = runtime.hash("bench")
    key = f"{prefix}bench-bare"
    value = {"user": "ada", "n": 1}
    text = '{"user":"ada","n":1}'
    await h.set("k", value)
    await bare.hset(key, "k", text)

    async def ours_get() -> int:
        for _ in range(OPS):
            await h.get("k")
        return OPS

    async def bare_get() -> int:
        for _ in range(OPS):
            await bare.hget(key, "k")
        return OPS

    async def ours_set() -> int:
        for i in range(OPS):
            await h.set(f"s{i % 100}", value)
        return OPS

    async def bare_set() -> int:
        for i in range(OPS):
            await bare.hset(key, f"s{i % 100}", text)
        return OPS

    async def ours_burst() -> int:
        for i in range(BURST):
            h[f"b{i}"] = value
        assert await h.get(f"b{BURST - 1}") == value  # waits for every write before it
        return BURST

    async def ours_sequential() -> int:
        for i in range(BURST):
            await h.set(f"b{i}", value)
        return BURST

    async def bare_pipeline() -> int:
        async with bare.pipeline(transaction=False) as pipe:
            for i in range(BURST):
                pipe.hset(key, f"b{i}", text)
            await pipe.execute()
        return BURST

    # Warm up connections and code paths.
    for warm in (ours_get, bare_get, ours_set, bare_set, ours_burst, bare_pipeline):
        await warm()

    got, got_ratio = await interleaved_medians({"ours": ours_get, "bare": bare_get}, REPEATS)
    put, put_ratio = await interleaved_medians({"ours": ours_set, "bare": bare_set}, REPEATS)
    burst, burst_ratio = await interleaved_medians(
        {"ours": ours_burst, "seq": ours_sequential, "bare": bare_pipeline}, REPEATS
    )
    assert h.failed_writes == 0

    rows = [
        ("get  await h.get / HGET", got["ours"], got["bare"], got_ratio["bare"], 0.85),
        ("set  await h.set / HSET", put["ours"], put["bare"], put_ratio["bare"], 0.85),
        (
            f"burst h[k]=v x{BURST} / pipelined HSET",
            burst["ours"],
            burst["bare"],
            burst_ratio["seq"],
            2.0,
        ),
    ]
    print(f"Redis {URL}: medians of {REPEATS} rounds ({OPS} sequential ops, bursts of {BURST})")
    header = f"{'operation':<38} {'ours ops/s':>11} {'bare ops/s':>11} {'ratio':>6} {'target':>7}"
    print(header)
    print("-" * len(header))
    for name, ours, floor, ratio, target in rows:
        verdict = "ok" if ratio >= target else "MISS"
        goal = f">={target}"
        print(f"{name:<38} {ours:>11,.0f} {floor:>11,.0f} {ratio:>6.2f} {goal:>7} {verdict}")
    print(
        f"burst ratio is against sequential 'await h.set' ({burst['seq']:,.0f} ops/s), "
        "the bare column is one redis-py pipeline of the same writes"
    )
