"""The exceptions retrieval raises; the CLI and the bot turn them into messages."""

from __future__ import annotations

from pathlib import Path


class BriefbotError(Exception):
    """Anything the user should read as a message, not as a traceback."""


class ParseError(BriefbotError):
    """An export file that does not follow the format, with where and why."""

    def __init__(self, path: str | Path, line: int, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{self.path}:{line}: {reason}")

    def __reduce__(self):  # rebuilt from its parts when it crosses a process boundary
        return type(self), (self.path, self.line, self.reason)


class StoreError(BriefbotError):
    """The database cannot be opened or written."""
