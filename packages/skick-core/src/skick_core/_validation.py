"""Message validation against ``schema``-library schemas, with a compiled fast path.

``schema.Schema(...).validate`` costs ~14 µs for a three-key dict on the reference
box, which would dominate local dispatch. Most action schemas are closed dicts of
string keys mapping to types or constants, so those are compiled into a plain
function with the library's semantics (``isinstance`` for types, ``==`` for
constants, nested dicts, no missing or extra keys). Anything else (``Optional``,
``Or``, callables, …) falls back to the library itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schema as schema_lib

__all__ = ["Validator", "compile_schema"]

Validator = Callable[[Any], bool]
"""Returns True when the data conforms; never raises for bad data."""

_CONSTANT_TYPES = (str, int, float, bool, type(None))


def _accept_all(data: Any) -> bool:
    return True


def compile_schema(spec: Any, ignore: frozenset[str] = frozenset()) -> Validator:
    """Return a validator for *spec*; ``None`` accepts everything.

    Top-level keys in *ignore* (the conversation envelope) are invisible to the
    schema, without copying the message on the fast path.
    """
    if spec is None:
        return _accept_all
    fast = _compile_fast(spec, ignore)
    if fast is not None:
        return fast
    compiled = spec if isinstance(spec, schema_lib.Schema) else schema_lib.Schema(spec)

    def slow(data: Any) -> bool:
        if ignore and isinstance(data, dict) and not ignore.isdisjoint(data):
            data = {k: v for k, v in data.items() if k not in ignore}
        return bool(compiled.is_valid(data))

    return slow


def _compile_fast(spec: Any, ignore: frozenset[str] = frozenset()) -> Validator | None:
    """Compile the simple subset of schemas; None when *spec* is outside it."""
    if isinstance(spec, type) and spec is not object:
        kind = spec
        if kind is int:  # as in the library: a bool is not an int here
            return lambda data: isinstance(data, int) and not isinstance(data, bool)
        return lambda data: isinstance(data, kind)
    if type(spec) in _CONSTANT_TYPES:
        const = spec
        return lambda data: bool(data == const)
    if type(spec) is not dict or not all(type(key) is str for key in spec):
        return None
    checks: list[tuple[str, Validator]] = []
    for key, value in spec.items():
        check = _compile_fast(value)
        if check is None:
            return None
        checks.append((key, check))
    size = len(checks)
    hidden = tuple(k for k in ignore if k not in spec)

    def check_dict(data: Any) -> bool:
        if not isinstance(data, dict):
            return False
        if len(data) != size and len(data) - sum(k in data for k in hidden) != size:
            return False
        for key, check in checks:
            if key not in data or not check(data[key]):
                return False
        return True

    return check_dict
