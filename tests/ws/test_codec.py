"""The frame codec: orjson (skick[fast]) and json accept, refuse and write the same."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from skick_ws import _protocol

Codec = tuple[Callable[[str], Any], Callable[[Any], bytes]]


def _orjson() -> Codec:
    codec = _protocol.orjson_codec()
    if codec is None:
        pytest.skip("orjson is not installed")
    return codec


@pytest.fixture(params=["json", "orjson"])
def codec(request: pytest.FixtureRequest) -> Codec:
    if request.param == "json":
        return _protocol.json_decode, _protocol.json_encode_bytes
    return _orjson()


GOOD_TEXTS = [
    '{"action": "add", "n": 1}',
    '  {"a": [1, 2.5, -3e-7, true, false, null, "x"]}  ',
    '{"big": 123456789012345678901234567890}',  # beyond 64 bits: orjson reads a float
    '{"i64": -9223372036854775809, "u64": 18446744073709551616, "ok": 18446744073709551615}',
    '{"floats": [0.1, 2.2250738585072014e-308, 5e-324, 1.7976931348623157e308, -0.0, 1E2]}',
    '{"n": -0}',
    '{"s": "\\ud800"}',  # a lone surrogate escape
    '{"k": 1, "k": 2}',  # duplicate keys: the last wins
    '{"huge": 1e400}',
    '{"uni": "Zoë ✓ \\u00e9"}',
    "[" * 200 + "]" * 200,
    "3",
]

BAD_TEXTS = [
    '{"n": NaN}',
    '{"n": Infinity}',
    '{"n": -Infinity}',
    "{",
    '{"a": 1} x',
    "",
    "{'a': 1}",
]


@pytest.mark.parametrize("text", GOOD_TEXTS)
def test_decode_takes_what_json_takes(codec: Codec, text: str) -> None:
    decode, _ = codec
    expected = json.loads(text)
    assert repr(decode(text)) == repr(expected)


@pytest.mark.parametrize("text", BAD_TEXTS)
def test_decode_refuses_what_json_refuses(codec: Codec, text: str) -> None:
    decode, _ = codec
    with pytest.raises(ValueError):  # noqa: PT011 - the one error callers catch
        decode(text)


def test_decode_of_too_deep_nesting_raises_what_the_reader_catches(codec: Codec) -> None:
    decode, _ = codec
    with pytest.raises((ValueError, RecursionError)):
        decode("[" * 100_000 + "]" * 100_000)


@dataclasses.dataclass
class Point:
    x: int


class Text(str):
    pass


class Number(int):
    pass


class Mapping(dict[str, Any]):
    pass


GOOD_MESSAGES: list[Any] = [
    {"action": "said", "text": "hi", "n": 1, "f": 2.5, "ok": True, "none": None},
    {"unicode": "Zoë ✓", "list": [1, [2, [3]]], "tuple": (1, 2)},
    {1: "int key", 2.5: "float key", None: "none key"},
    {True: "bool key", False: "another"},
    {"big": 2**80, "neg": -(2**70)},
    {"tiny": 1e-300, "large": 1e300},
    {"sub": Text("s"), "num": Number(7), "map": Mapping(a=1)},
    {"deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},
    [{"deeper": 1}] * 3,
]


@pytest.mark.parametrize("message", GOOD_MESSAGES)
def test_encode_means_what_json_means(codec: Codec, message: Any) -> None:
    _, encode_bytes = codec
    data = encode_bytes(message)
    assert isinstance(data, bytes)
    expected = _protocol.json_encode_bytes(message)
    assert json.loads(data) == json.loads(expected)
    if "unicode" in str(message):
        assert "Zoë ✓".encode() in data  # UTF-8, not \\u escapes


def test_encode_of_deep_nesting_matches_json(codec: Codec) -> None:
    _, encode_bytes = codec
    message: Any = []
    for _ in range(300):  # deeper than orjson writes
        message = [message]
    assert encode_bytes(message) == _protocol.json_encode_bytes(message)


BAD_MESSAGES: list[Any] = [
    {"n": float("nan")},
    {"n": float("inf")},
    {"n": [float("-inf")]},
    {"set": {1, 2}},
    {"object": object()},
    {"when": datetime.datetime(2024, 1, 1)},
    {"date": datetime.date(2024, 1, 1)},
    {"point": Point(1)},
    {"bytes": b"x"},
    {(1, 2): "tuple key"},
]


@pytest.mark.parametrize("message", BAD_MESSAGES)
def test_encode_refuses_what_json_refuses(codec: Codec, message: Any) -> None:
    _, encode_bytes = codec
    with pytest.raises(TypeError, match="JSON-serialisable"):
        encode_bytes(message)


def test_encode_of_a_cycle_is_a_type_error(codec: Codec) -> None:
    _, encode_bytes = codec
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    with pytest.raises(TypeError):
        encode_bytes(cycle)


def test_encode_of_a_lone_surrogate_fails_like_json(codec: Codec) -> None:
    _, encode_bytes = codec
    with pytest.raises(UnicodeEncodeError):
        encode_bytes({"s": "\ud800"})


def test_encode_text_is_the_bytes_decoded() -> None:
    message = {"a": "é", "b": [1, 2]}
    assert _protocol.encode(message) == _protocol.encode_bytes(message).decode()


def _active_codec(**env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "SKICK_NO_ORJSON"}
    done = subprocess.run(
        [sys.executable, "-c", "import skick_ws._protocol as p; print(p.ORJSON)"],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


def test_orjson_is_used_when_installed_unless_disabled() -> None:
    installed = _protocol.orjson_codec() is not None
    assert _active_codec() == str(installed)
    assert _active_codec(SKICK_NO_ORJSON="1") == "False"
