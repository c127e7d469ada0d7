"""Shared measuring helpers: rates, and ours-vs-floor medians taken round by round."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

__all__ = ["Timed", "interleaved_medians", "rate"]

Timed = Callable[[], Awaitable[int]]
"""A measurement: runs once and returns how many operations it did."""


async def rate(run: Timed) -> float:
    """Operations per second of one run of *run*."""
    started = time.perf_counter()
    ops = await run()
    return ops / (time.perf_counter() - started)


async def interleaved_medians(
    timed: dict[str, Timed], repeats: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Median ops/s of each function, and the median ratio of the first one to each.

    The functions run in *repeats* rounds, interleaved (the order flips every round); a
    ratio is taken within each round, so load from other processes mostly cancels out.
    """
    names = list(timed)
    rates: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        now: dict[str, float] = {}
        for name in names if round_ % 2 == 0 else reversed(names):
            now[name] = await rate(timed[name])
            rates[name].append(now[name])
        for name in names:
            ratios[name].append(now[names[0]] / now[name])
    median = statistics.median
    return (
        {name: median(values) for name, values in rates.items()},
        {name: median(values) for name, values in ratios.items()},
    )
