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
    """Compile the simple subset of schemas; None when *spec* is outside it.

    The check becomes one generated boolean expression (the way ``dataclasses``
    writes ``__init__``), so a three-key message costs a few attribute-free
    comparisons instead of a call per key. Values enter the generated code only as
    names bound in its namespace, never as source text.
    """
    namespace: dict[str, Any] = {}
    expression = _expression(spec, "data", namespace, ignore)
    if expression is None:
        return None
    source = (
        "def check(data):\n"
        "    try:\n"
        f"        return bool({expression})\n"
        "    except (KeyError, TypeError):\n"
        "        return False\n"
    )
    exec(compile(source, "<skick schema>", "exec"), namespace)
    check: Validator = namespace["check"]
    return check


def _bind(namespace: dict[str, Any], value: Any) -> str:
    name = f"_v{len(namespace)}"
    namespace[name] = value
    return name


def _expression(
    spec: Any, var: str, namespace: dict[str, Any], ignore: frozenset[str]
) -> str | None:
    """Source of a boolean expression checking *var* against *spec*, or None."""
    if isinstance(spec, type) and spec is not object:
        if spec is int:  # as in the library: a bool is not an int here
            return f"(isinstance({var}, int) and not isinstance({var}, bool))"
        return f"isinstance({var}, {_bind(namespace, spec)})"
    if type(spec) in _CONSTANT_TYPES:
        return f"({var} == {_bind(namespace, spec)})"
    if type(spec) is not dict or not all(type(key) is str for key in spec):
        return None
    size = len(spec)
    parts = [f"isinstance({var}, dict)"]
    hidden = [_bind(namespace, k) for k in sorted(ignore) if k not in spec]
    if hidden:
        present = " + ".join(f"({name} in {var})" for name in hidden)
        parts.append(f"(len({var}) == {size} or len({var}) - ({present}) == {size})")
    else:
        parts.append(f"len({var}) == {size}")
    for key, value in spec.items():
        check = _expression(value, f"{var}[{_bind(namespace, key)}]", namespace, frozenset())
        if check is None:
            return None
        parts.append(check)
    return "(" + " and ".join(parts) + ")"
