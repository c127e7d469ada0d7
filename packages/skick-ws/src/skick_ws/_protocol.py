"""The wire protocol: frame shapes, error codes, the JSON codec, query subschemas.

PROTOCOL.md (next to this package's pyproject.toml) is the contract for client
authors; this module is its implementation. Every frame is a JSON object in a
text frame.

The codec is the standard library's ``json``, or orjson when it is installed
(``pip install "skick[fast]"``) and ``SKICK_NO_ORJSON`` is not set. Both accept and
refuse the same frames and read them as the same values: what orjson refuses or
reads differently (integers beyond 64 bits, lone surrogates, ``1e400``) goes
through ``json``, and so does every outbound message that orjson would write
differently (``NaN`` as ``null``). The one difference: orjson also serialises
``uuid.UUID`` and plain ``enum`` members.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, Final

from skick_core._validation import Validator, compile_schema

__all__ = [
    "ERROR_CODES",
    "ORJSON",
    "PREDEFINED_QUERY_SCHEMAS",
    "QUERY_ACTION",
    "QUERY_REPLY_ACTION",
    "RESERVED_SOCKET_NAMES",
    "clip",
    "decode",
    "encode",
    "encode_bytes",
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


def json_decode(text: str) -> Any:
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


def json_encode(message: Any) -> str:
    """Serialise an outbound frame; a clear ``TypeError`` for what JSON cannot carry."""
    try:
        if _c_encode is not None:
            return "".join(_c_encode(message, 0))
        return _encoder.encode(message)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"socksend needs a JSON-serialisable message: {exc}") from exc


def json_encode_bytes(message: Any) -> bytes:
    """:func:`json_encode` as UTF-8 (``UnicodeEncodeError`` for lone surrogates)."""
    return json_encode(message).encode()


def orjson_codec() -> tuple[Callable[[str], Any], Callable[[Any], bytes]] | None:
    """orjson's ``(decode, encode_bytes)`` with ``json``'s semantics; None without it."""
    try:
        import orjson
    except ImportError:
        return None
    loads, dumps = orjson.loads, orjson.dumps
    decode_error, encode_error = orjson.JSONDecodeError, orjson.JSONEncodeError
    # json's rules: int/float/bool/None keys become strings; datetimes and
    # dataclasses are not JSON (passed through to the fallback, which refuses them).
    options = (
        orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    )

    long_number = re.compile(r"\d{19}").search

    def fast_decode(text: str) -> Any:
        if long_number(text) is not None:  # orjson reads integers beyond 64 bits as floats
            return json_decode(text)
        try:
            return loads(text)
        except decode_error:
            # json decides what orjson refuses: bad input raises json's ValueError.
            return json_decode(text)

    def fast_encode_bytes(message: Any) -> bytes:
        try:
            data = dumps(message, option=options)
        except encode_error:
            return json_encode_bytes(message)  # the same TypeError, or json's output
        if b"null" in data:  # NaN and Infinity became null: json refuses them
            return json_encode_bytes(message)
        return data

    return fast_decode, fast_encode_bytes


_fast = None if os.environ.get("SKICK_NO_ORJSON") else orjson_codec()

ORJSON: Final = _fast is not None
"""Whether frames go through orjson (installed, and ``SKICK_NO_ORJSON`` unset)."""

decode: Callable[[str], Any]
"""Parse one inbound frame (``NaN``/``Infinity`` refused); raises ``ValueError``."""
encode_bytes: Callable[[Any], bytes]
"""Serialise one outbound frame to UTF-8; ``TypeError`` for what JSON cannot carry."""
if _fast is not None:
    decode, encode_bytes = _fast
else:
    decode, encode_bytes = json_decode, json_encode_bytes


def encode(message: Any) -> str:
    """:data:`encode_bytes` as text."""
    return encode_bytes(message).decode()


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
