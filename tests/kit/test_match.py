"""Patterns: what matches, and how a miss is explained."""

from __future__ import annotations

import re
from typing import Any

import pytest

from skick_core.testing import ANY, describe, matches, mismatch


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        ({"a": 1}, {"a": 1, "b": 2}),
        ({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}, "d": 3}),
        ({}, {"anything": True}),
        ({"a": ANY}, {"a": None}),
        (ANY, "x"),
        ({"n": int}, {"n": 3}),
        ({"n": float}, {"n": 3.5}),
        ({"flag": bool}, {"flag": False}),
        ({"s": str}, {"s": ""}),
        ({"s": re.compile(r"q\d+")}, {"s": "q12"}),
        ({"n": lambda n: n > 3}, {"n": 4}),
        (lambda m: "x" in m, {"x": 1}),
        ([1, {"a": 2}], [1, {"a": 2, "b": 3}]),
        ((1, 2), [1, 2]),
        (1.0, 1),
        (None, None),
        ("text", "text"),
    ],
)
def test_matches(pattern: Any, value: Any) -> None:
    assert matches(pattern, value), mismatch(pattern, value)


@pytest.mark.parametrize(
    ("pattern", "value", "reason"),
    [
        ({"a": 1}, {"b": 1}, "['a'] is missing"),
        ({"a": 1}, {"a": 2}, "['a']: 2 != 1"),
        ({"a": {"b": 1}}, {"a": {"b": 2}}, "['a']['b']: 2 != 1"),
        ({"a": 1}, [1], "the value: [1] is not an object"),
        ({"n": int}, {"n": "3"}, "['n']: '3' is not int"),
        ({"n": int}, {"n": True}, "['n']: True is not int"),
        ({"n": float}, {"n": False}, "['n']: False is not float"),
        (1, True, "the value: True != 1"),
        (True, 1, "the value: 1 != True"),
        ({"s": re.compile("q")}, {"s": "qq"}, "['s']: 'qq' does not match /q/"),
        ({"s": re.compile("q")}, {"s": 1}, "['s']: 1 does not match /q/"),
        ({"n": lambda n: n > 3}, {"n": 1}, "['n']: 1 fails a lambda"),
        ({"n": lambda n: n > 3}, {"n": "x"}, "['n']: a lambda raised TypeError("),
        ([1, 2], [1], "the value: 1 items, not 2"),
        ([1, 2], [1, 3], "[1]: 3 != 2"),
        ([1], "x", "the value: 'x' is not a list"),
        ({"long": "x"}, {"long": "y" * 500}, "['long']: '" + "y" * 118 + "… != 'x'"),
    ],
)
def test_mismatch_explains(pattern: Any, value: Any, reason: str) -> None:
    assert not matches(pattern, value)
    explained = mismatch(pattern, value)
    assert explained is not None
    assert explained.startswith(reason), explained


def test_describe() -> None:
    def positive(n: int) -> bool:
        return n > 0

    assert describe(ANY) == "ANY"
    assert describe({"a": ANY, "n": int, "s": re.compile("x+"), "p": positive}) == (
        "{'a': ANY, 'n': int, 's': /x+/, 'p': test_describe.<locals>.positive}"
    )
    assert describe([1, "a"]) == "[1, 'a']"
    assert describe({"x": "y" * 400}).endswith("…")
    assert repr(ANY) == "ANY"
    assert object() == ANY
    assert {ANY} == {ANY}
