"""Message validation: the compiled fast path agrees with the ``schema`` library."""

from __future__ import annotations

from typing import Any

import pytest
from schema import And, Optional, Or, Schema, Use

from skick_core._conversation import RESERVED_KEYS
from skick_core._validation import compile_schema

SPECS: list[Any] = [
    {"action": "add", "number": int},
    {"action": "add", "number": float},
    {"action": "mix", "flag": bool, "none": None, "const": 3, "text": "x"},
    {"action": "nested", "inner": {"a": int, "b": {"c": str}}},
    {"action": "typed", "message": dict, "items": list},
    {"action": "opt", Optional("maybe"): int},
    {"action": "or", "v": Or(int, str)},
    {"action": "and", "v": And(int, lambda n: n > 0)},
    {"action": "list", "v": [int]},
    {"action": "any", "v": object},
    {1: int},
    int,
    "constant",
    Schema({"action": "wrapped", "n": int}),
]

DATA: list[Any] = [
    {"action": "add", "number": 1},
    {"action": "add", "number": 1.5},
    {"action": "add", "number": True},
    {"action": "add", "number": "1"},
    {"action": "add"},
    {"action": "add", "number": 1, "extra": 0},
    {"action": "mix", "flag": True, "none": None, "const": 3, "text": "x"},
    {"action": "mix", "flag": True, "none": 0, "const": 3, "text": "x"},
    {"action": "mix", "flag": True, "none": None, "const": 3.0, "text": "x"},
    {"action": "nested", "inner": {"a": 1, "b": {"c": "s"}}},
    {"action": "nested", "inner": {"a": 1, "b": {"c": 2}}},
    {"action": "nested", "inner": {"a": 1, "b": {"c": "s", "d": 0}}},
    {"action": "nested", "inner": [1]},
    {"action": "typed", "message": {}, "items": []},
    {"action": "typed", "message": [], "items": {}},
    {"action": "opt"},
    {"action": "opt", "maybe": 2},
    {"action": "opt", "maybe": "2"},
    {"action": "or", "v": "s"},
    {"action": "or", "v": 1.0},
    {"action": "and", "v": 3},
    {"action": "and", "v": -3},
    {"action": "list", "v": [1, 2]},
    {"action": "list", "v": [1, "2"]},
    {"action": "any", "v": object()},
    {"action": "wrapped", "n": 1},
    {1: 2},
    5,
    "constant",
    "other",
    None,
    [("action", "add")],
]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_compiled_validators_agree_with_the_schema_library(spec: Any) -> None:
    validate = compile_schema(spec)
    library = spec if isinstance(spec, Schema) else Schema(spec)
    for data in DATA:
        assert validate(data) is library.is_valid(data), data


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_envelope_keys_are_invisible_to_the_schema(spec: Any) -> None:
    validate = compile_schema(spec, RESERVED_KEYS)
    library = spec if isinstance(spec, Schema) else Schema(spec)
    envelope = {"skick.conv": "a:1/1", "skick.from": "a:1"}
    for data in DATA:
        if isinstance(data, dict):
            assert validate({**data, **envelope}) is library.is_valid(data), data
            assert validate({**data, "skick.conv": "k"}) is library.is_valid(data), data
        assert validate(data) is library.is_valid(data), data


def test_none_accepts_everything() -> None:
    validate = compile_schema(None)
    assert all(validate(data) for data in DATA)


def test_a_schema_that_transforms_still_only_validates() -> None:
    validate = compile_schema({"action": "use", "n": Use(int)})
    assert validate({"action": "use", "n": "12"})
    assert not validate({"action": "use", "n": "twelve"})
