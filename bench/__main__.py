"""Discover and run ``bench/bench_*.py`` modules, each exposing ``main()`` (sync or async)."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil
import sys

import bench


def _selected(filters: list[str]) -> list[str]:
    modules = pkgutil.iter_modules(bench.__path__)
    names = sorted(m.name for m in modules if m.name.startswith("bench_"))
    return [n for n in names if not filters or any(f in n for f in filters)]


def main(argv: list[str]) -> int:
    names = _selected(argv)
    if not names:
        print(f"no benchmark module matches {argv!r}", file=sys.stderr)
        return 1
    for name in names:
        print(f"== {name}", flush=True)
        entry = importlib.import_module(f"bench.{name}").main
        if inspect.iscoroutinefunction(entry):
            asyncio.run(entry())
        else:
            entry()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
