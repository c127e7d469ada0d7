"""The wire protocol: frame shapes, error codes, the JSON codec, query subschemas.

PROTOCOL.md (next to this package's pyproject.toml) is the contract for client
authors; this module is its implementation. Every frame is a JSON object in a
text frame.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, Final

from skick_core._validation import Validator, compile_schema

__all__ = [
    "ERROR_CODES",
    "PREDEFINED_QUERY_SCHEMAS",
    "QUERY_ACTION",
    "QUERY_REPLY_ACTION",
    "RESERVED_SOCKET_NAMES",
    "clip",
    "decode",
    "encode",
    "error_frame",
    "query_validators",
]

QUERY_ACTION: Final = "query"
"""Server → client: ``{"action": "query", "query_id", "message", "schema"}``."""
QUERY_REPLY_ACTION: Final = "query_reply"
"""Client → server: ``{"action": "query_reply", "query_id", "message"}``."""
ERROR_ACTION: Final = "error"

RESERVED_SOCKET_NAMES: Final = frozenset({QUERY_REPLY_ACTION})
"""Actions a session may not declare with ``inst.socket``."""

# Stable error codes (PROTOCOL.md lists them with their meaning). They never change
# meaning once released; new codes may be added.
ERROR_CODES: Final = frozenset(
    {
        "bad_json",
        "not_an_object",
        "bad_handshake",
        "unknown_session",
        "handshake_timeout",
        "session_failed",
        "bad_action",
        "unknown_action",
        "schema",
        "bad_query_reply",
        "unknown_query",
        "rate_limited",
        "overloaded",
    }
)

CLIP: Final = 64
"""Longest piece of client input an error frame repeats."""


def clip(value: Any, limit: int = CLIP) -> str:
    """A bounded, printable rendering of client input for error details."""
    text = value if isinstance(value, str) else type(value).__name__
    if len(text) > limit:
        return repr(text[:limit]) + "…"
    return repr(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_scan = _decoder.scan_once  # type: ignore[attr-defined]
_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
# The C encoder, built once: ``JSONEncoder.encode`` builds it again on every call,
# which costs more than the encoding of a small frame. No circular-reference check:
# a cyclic message ends in RecursionError, reported like any unencodable message.
_c_encode = (
    c_make_encoder(None, _encoder.default, encode_basestring, None, ":", ",", False, False, False)
    if c_make_encoder is not None
    else None
)


def decode(text: str) -> Any:
    """Parse one JSON text (``NaN``/``Infinity`` are rejected); raises ``ValueError``.

    The scanner is called directly (a third of ``json.loads``'s cost); anything
    unusual, such as surrounding whitespace or an error, goes the standard way.
    """
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        return _decoder.decode(text)
    if end != len(text):
        return _decoder.decode(text)
    return value


def encode(message: Any) -> str:
    """Serialise an outbound frame; a clear ``TypeError`` for what JSON cannot carry."""
    try:
        if _c_encode is not None:
            return "".join(_c_encode(message, 0))
        return _encoder.encode(message)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"socksend needs a JSON-serialisable message: {exc}") from exc


def error_frame(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """``{"action": "error", "code": code, "detail": detail, **extra}``."""
    return {"action": ERROR_ACTION, "code": code, "detail": detail, **extra}


# --------------------------------------------------------------- query schemas

_SCALARS: Final = frozenset({int, float, str, bool})


def _default(value: Any) -> bool:
    return type(value) in _SCALARS


def _int(value: Any) -> bool:
    return type(value) is int


def _float(value: Any) -> bool:
    # JSON has one number type: a browser sends 1.0 as 1, so integers are floats too.
    return type(value) is float or type(value) is int


def _str(value: Any) -> bool:
    return type(value) is str


def _bool(value: Any) -> bool:
    return type(value) is bool


def _list(value: Any) -> bool:
    if type(value) is not list:
        return False
    for item in value:
        if type(item) not in _SCALARS:
            return False
    return True


PREDEFINED_QUERY_SCHEMAS: Final[Mapping[str, Validator]] = {
    "default": _default,
    "int": _int,
    "float": _float,
    "str": _str,
    "bool": _bool,
    "list": _list,
}


def query_validators(custom: Mapping[str, Any] | None) -> dict[str, Validator]:
    """The predefined subschemas plus *custom* ones (``schema``-library specs)."""
    table = dict(PREDEFINED_QUERY_SCHEMAS)
    for name, spec in (custom or {}).items():
        table[name] = compile_schema(spec)
    return table
