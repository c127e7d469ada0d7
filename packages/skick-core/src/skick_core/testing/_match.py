"""Patterns for the test kits: what ``expect(pattern)`` accepts and how a miss is explained.

A pattern is matched against a received message (or websocket frame):

- a ``dict`` matches a dict that has at least its keys, each value matching in turn
  (extra keys are allowed, at every depth, like an Elixir map pattern);
- a ``list`` or ``tuple`` matches a list of the same length, item by item;
- :data:`ANY` matches anything;
- a type matches its instances (``{"query_id": str}``); ``int`` and ``float`` do not
  match ``True``/``False``, as JSON tells booleans and numbers apart;
- a compiled regular expression matches a string it ``fullmatch``-es;
- any other callable is a predicate: it matches when it returns something truthy
  (an exception counts as a miss);
- anything else matches an equal value (``1`` does not match ``True``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

__all__ = ["ANY", "describe", "matches", "mismatch"]


class _Any:
    """Matches every value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY"

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0


ANY: Final[Any] = _Any()
"""A pattern (or a value inside one) that matches anything."""


def matches(pattern: Any, value: Any) -> bool:
    """Whether *value* matches *pattern* (see the module docstring)."""
    return mismatch(pattern, value) is None


def mismatch(pattern: Any, value: Any, path: str = "") -> str | None:
    """None when *value* matches *pattern*, else a one-line reason naming where."""
    where = path or "the value"
    if pattern is ANY:
        return None
    if isinstance(pattern, type):
        if isinstance(value, pattern) and not (type(value) is bool and pattern in (int, float)):
            return None
        return f"{where}: {_short(value)} is not {pattern.__name__}"
    if isinstance(pattern, re.Pattern):
        if isinstance(value, str) and pattern.fullmatch(value):
            return None
        return f"{where}: {_short(value)} does not match /{pattern.pattern}/"
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return f"{where}: {_short(value)} is not an object"
        for key, sub in pattern.items():
            here = f"{path}[{key!r}]"
            if key not in value:
                return f"{here} is missing"
            reason = mismatch(sub, value[key], here)
            if reason is not None:
                return reason
        return None
    if isinstance(pattern, list | tuple):
        if not isinstance(value, list | tuple):
            return f"{where}: {_short(value)} is not a list"
        if len(value) != len(pattern):
            return f"{where}: {len(value)} items, not {len(pattern)}"
        for index, (sub, item) in enumerate(zip(pattern, value, strict=True)):
            reason = mismatch(sub, item, f"{path}[{index}]")
            if reason is not None:
                return reason
        return None
    if callable(pattern):
        try:
            if pattern(value):
                return None
        except Exception as exc:
            return f"{where}: {_name(pattern)} raised {exc!r}"
        return f"{where}: {_short(value)} fails {_name(pattern)}"
    if pattern == value and (type(pattern) is bool) == (type(value) is bool):
        return None
    return f"{where}: {_short(value)} != {_short(pattern)}"


def describe(pattern: Any, limit: int = 300) -> str:
    """A readable rendering of a pattern for failure messages."""
    text = _render(pattern)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _render(pattern: Any) -> str:
    if pattern is ANY:
        return "ANY"
    if isinstance(pattern, type):
        return pattern.__name__
    if isinstance(pattern, re.Pattern):
        return f"/{pattern.pattern}/"
    if isinstance(pattern, dict):
        return "{" + ", ".join(f"{k!r}: {_render(v)}" for k, v in pattern.items()) + "}"
    if isinstance(pattern, list | tuple):
        return "[" + ", ".join(_render(v) for v in pattern) + "]"
    if callable(pattern):
        return _name(pattern)
    return repr(pattern)


def _name(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__qualname__", None) or repr(fn)
    return "a lambda" if name.endswith("<lambda>") else name


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
