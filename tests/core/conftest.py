"""Fixtures of the core tests: a running :class:`Runtime` and an inbox to observe it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from skick_core import Message, Runtime


@pytest.fixture
def inbox() -> asyncio.Queue[Message]:
    """Where probe actors and test actors put what they observe."""
    return asyncio.Queue()


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    """A started runtime with an empty directory; tests declare actors on it."""
    async with Runtime() as rt:
        yield rt
