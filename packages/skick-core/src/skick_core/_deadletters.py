"""Dead letters: messages that could not be delivered or handled.

Nothing is dropped silently. Each dead letter is counted by reason and logged, but
logging is rate-limited so that a flood of bad input cannot flood the log too.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

__all__ = ["DeadLetters"]

logger = logging.getLogger("skick.deadletters")


class DeadLetters:
    """Counts dead letters per reason and logs at most *log_rate* of them a second."""

    def __init__(self, log_rate: int = 10) -> None:
        self.counts: Counter[str] = Counter()
        self._log_rate = log_rate
        self._window = 0.0
        self._logged = 0
        self._suppressed = 0

    @property
    def total(self) -> int:
        """How many dead letters there have been in all."""
        return self.counts.total()

    def record(self, reason: str, address: str, message: Any) -> bool:
        """Count one dead letter; returns False so callers can ``return dead(...)``."""
        self.counts[reason] += 1
        now = time.monotonic()
        if now - self._window >= 1.0:
            if self._suppressed:
                logger.warning("%d more dead letters were not logged", self._suppressed)
            self._window, self._logged, self._suppressed = now, 0, 0
        if self._logged < self._log_rate:
            self._logged += 1
            logger.warning("dead letter (%s) to %s: %.200r", reason, address, message)
        else:
            self._suppressed += 1
        return False
