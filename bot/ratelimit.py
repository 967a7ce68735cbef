"""A per-user sliding-window limit on questions: one notice when exceeded, then silence."""

from __future__ import annotations

from collections import deque
from enum import Enum


class Verdict(Enum):
    ALLOW = "allow"
    NOTIFY = "notify"
    SILENT = "silent"


class QuestionLimiter:
    """At most `limit` questions per user in any `window` seconds."""

    def __init__(self, limit: int = 20, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._asked: dict[int, deque[float]] = {}
        self._notified: set[int] = set()

    def check(self, user_id: int, now: float) -> Verdict:
        """Count a question at time `now` unless the user is over the limit."""
        asked = self._asked.setdefault(user_id, deque())
        while asked and asked[0] <= now - self.window:
            asked.popleft()
        if len(asked) < self.limit:
            asked.append(now)
            self._notified.discard(user_id)
            return Verdict.ALLOW
        if user_id in self._notified:
            return Verdict.SILENT
        self._notified.add(user_id)
        return Verdict.NOTIFY
