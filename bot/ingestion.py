"""Ingest in a child process. The bot keeps answering from its current index meanwhile,
without sharing a core or the interpreter lock with the tokenizer, and its own memory
stays at the serving level: whatever the ingest needed goes back when the child exits."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from retrieval import Library
from retrieval.store import IngestCounts


def ingest_in_child(db_path: str | Path, paths: list[str | Path]) -> IngestCounts:
    """Library(db_path).ingest(paths) in a fresh process; its BriefbotErrors are raised here."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_ingest, str(db_path), [str(path) for path in paths]).result()


def _ingest(db_path: str, paths: list[str]) -> IngestCounts:
    return Library(db_path, seed=False).ingest(paths)
