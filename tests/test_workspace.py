"""Workspace invariants: the five distributions are installed and move in lockstep."""

from __future__ import annotations

import importlib
from importlib.metadata import distribution, version

import pytest
from packaging.requirements import Requirement

DISTRIBUTIONS = ["skick-core", "skick", "skick-ws", "skick-amqp", "skick-redis"]


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_versions_move_in_lockstep(name: str) -> None:
    assert version(name) == version("skick-core")


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_siblings_are_pinned_exactly(name: str) -> None:
    expected = f"=={version('skick-core')}"
    for line in distribution(name).requires or []:
        req = Requirement(line)
        if req.name in DISTRIBUTIONS and req.name != name:
            assert str(req.specifier) == expected, f"{name}: {line}"


@pytest.mark.parametrize("module", ["skick_ws", "skick_amqp", "skick_redis"])
def test_plugin_version_attribute(module: str) -> None:
    imported = importlib.import_module(module)
    assert imported.__version__ == version(module.replace("_", "-"))
