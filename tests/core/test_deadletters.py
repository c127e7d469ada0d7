"""Dead letters: every one is counted, the log is rate-limited."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from skick_core import DeadLetters
from skick_core import _deadletters as module


def test_counts_by_reason_and_rate_limits_the_log(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    now = [100.0]
    monkeypatch.setattr(module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    letters = DeadLetters(log_rate=3)
    with caplog.at_level(logging.WARNING, logger="skick.deadletters"):
        for n in range(10):
            assert letters.record("unknown action", "a:1", {"action": "x", "n": n}) is False
        letters.record("mailbox full", "a:2", {"action": "y"})
        assert len(caplog.records) == 3  # only log_rate per second
        now[0] += 1.5
        letters.record("not a dict", "a:3", [1])
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 5
    assert "8 more dead letters were not logged" in messages[3]
    assert "not a dict" in messages[4]
    assert letters.counts == {"unknown action": 10, "mailbox full": 1, "not a dict": 1}
    assert letters.total == 12


def test_long_messages_are_truncated_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    letters = DeadLetters()
    with caplog.at_level(logging.WARNING, logger="skick.deadletters"):
        letters.record("schema mismatch", "a:1", {"action": "x", "blob": "z" * 10_000})
    (record,) = caplog.records
    assert len(record.getMessage()) < 400
