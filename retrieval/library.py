"""The one object the CLI and the bot share: a database, its tokenizer and its index."""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from . import store
from .digest import digest as build_digest
from .digest import resolve_topic
from .errors import BriefbotError, StoreError
from .expand import Glossary, Translator, configured_entries, glossary_words
from .lexicon import Dictionary
from .index import Index, build_index, load_index, save_index
from .models import SHANGHAI, Answer, Article, Digest
from .parse import Export, parse_file
from .search import search
from .seeds import bundled_seed_files
from .stories import Storyteller
from .tokenize import Tokenizer

ProgressCallback = Callable[[Path], None]
T = TypeVar("T")
SWAP_RACES = (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST)  # another process saving at the same moment
logger = logging.getLogger(__name__)


def _plain(name: str) -> str:
    """A name compared without case, spaces or a plural s: "Rare Earths" ~ "rare earth"."""
    return " ".join(word.rstrip("s") if len(word) > 3 else word for word in name.casefold().split())


def export_files(paths: Iterable[str | Path]) -> list[Path]:
    """The export files named by `paths`: files as given, folders' *.txt files sorted."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.txt") if p.is_file())
            if not found:
                raise BriefbotError(f"{path}: no .txt export files in this folder")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise BriefbotError(f"{path}: no such file or folder")
    return files


def parse_all(files: Iterable[Path], on_file: ProgressCallback | None = None) -> list[Export]:
    """Parse every file before anything is written: one bad file stops the run."""
    exports = []
    for path in files:
        exports.append(parse_file(path))
        if on_file:
            on_file(path)
    return exports


class Library:
    """Search, digests and ingest over one database; safe to share between threads."""

    def __init__(self, db_path: str | Path | None = None, seed: bool = True, glossary: str | None = None) -> None:
        """`db_path` is a SQLite file or a postgresql:// URL (default: $BRIEFBOT_DB, else a file
        in the data folder); `glossary` a BRIEFBOT_GLOSSARY value (default: that variable):
        a TSV path, or "none"."""
        self.db_path = store.location(db_path)
        self.store = store.open_store(self.db_path)
        entries = configured_entries(glossary)
        self.tokenizer = Tokenizer(user_words=glossary_words(entries))
        self.glossary = Glossary(entries, self.tokenizer)
        self.translator = Translator(self.glossary, Dictionary(self.tokenizer), self.tokenizer.frequency)
        self._index: Index | None = None
        self._index_lock = threading.Lock()
        self._built_here: Index | None = None  # the last index this process built from the database
        self._save_failed = False
        if seed:
            self.seed_if_empty()

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's SQLite connection, for the bot's state (subscriptions, deliveries,
        chat settings), which lives beside the articles until it has a store of its own."""
        if not isinstance(self.store, store.SqliteStore):
            raise StoreError(
                f"the bot's state (subscriptions, deliveries, chat settings) cannot be kept in "
                f"{self.store.location} yet: give the bot a SQLite database file"
            )
        return self.store.db

    @property
    def index_folder(self) -> Path:
        return self.store.index_folder

    def close(self) -> None:
        """Release the database connections (a pool's, for PostgreSQL)."""
        self.store.close()

    def seed_if_empty(self) -> store.IngestCounts | None:
        """Ingest the bundled corpus into an empty database."""
        if self.store.count_articles():
            return None
        return self.ingest(bundled_seed_files())

    def ingest(self, paths: Iterable[str | Path], on_file: ProgressCallback | None = None) -> store.IngestCounts:
        """Parse all files, then write them in one transaction, then refresh the index."""
        counts = self._parse_and_save(paths, on_file)
        self.index()  # the parsed files are gone by now: building the index is the larger peak
        return counts

    def _parse_and_save(self, paths: Iterable[str | Path], on_file: ProgressCallback | None) -> store.IngestCounts:
        exports = parse_all(export_files(paths), on_file)
        return self.store.save_articles((article for export in exports for article in export.articles))

    def index(self) -> Index:
        """The index for what the database holds now: loaded, or rebuilt when stale."""
        current = self.store.generation()
        index = self._index
        if index is not None and index.generation == current:
            return index
        with self._index_lock:
            index = self._index
            if index is None or index.generation != current:
                index = self._load_saved()
            if index is None or index.generation != current or index.tokenizer_version != self.tokenizer.version:
                index = self._rebuild(current)
            self._index = index
        return index

    def _load_saved(self) -> Index | None:
        """The index saved on disk, or None when it is missing or damaged (then it is rebuilt)."""
        try:
            return load_index(self.index_folder)
        except Exception:  # noqa: BLE001 - any damage to derived files only means: rebuild
            return None

    def _rebuild(self, generation: int) -> Index:
        """Build the index from the database and save it; if it cannot be saved (a full disk,
        a read-only folder) it serves from memory, and the log says so once."""
        index = build_index(self.store.all_articles(), self.tokenizer, generation, self.tokenizer.version)
        self._built_here = index
        try:
            save_index(index, self.index_folder)
        except OSError as error:
            if error.errno not in SWAP_RACES and not self._save_failed:
                logger.warning(
                    "cannot save the search index to %s (%s); serving it from memory, "
                    "and every new process will rebuild it",
                    self.index_folder,
                    error,
                )
            self._save_failed = self._save_failed or error.errno not in SWAP_RACES
        else:
            self._save_failed = False
        return index

    def _on_index(self, use: Callable[[Index], T]) -> T:
        """use(index). If that raises on an index loaded from disk, damage the load-time checks
        missed is the likely cause: the index is rebuilt from the database once and `use` retried."""
        index = self.index()
        try:
            return use(index)
        except (BriefbotError, sqlite3.Error):
            raise
        except Exception:  # noqa: BLE001 - any failure on derived data: rebuild it, then let a second one through
            if index is self._built_here:
                raise
            logger.warning("the search index at %s failed a question; rebuilding it", self.index_folder)
            with self._index_lock:
                if self._index is index:
                    self._index = self._rebuild(self.store.generation())
                index = self._index
        return use(index)

    def warm_up(self) -> None:
        """Load what the first questions would otherwise wait for: the index, jieba's
        dictionary, CC-CEDICT, the English word lists and lemmas. A server calls it at start."""
        self.ask("稀土出口管制 rare earht export curbs")

    def ask(self, question: str, k: int = 5) -> Answer:
        return self._on_index(lambda index: search(self.store, index, self.tokenizer, question, k, self.translator))

    def digest(self, topic_or_query: str, days: int | None = 7, today: date | None = None) -> Digest:
        today = today or datetime.now(SHANGHAI).date()
        return self._on_index(
            lambda index: build_digest(
                self.store, index, self.tokenizer, topic_or_query, days, today, glossary=self.glossary
            )
        )

    def storyteller(self) -> Storyteller:
        """Groups articles into stories with this library's index, tokenizer and glossary."""
        return Storyteller(self.index(), self.tokenizer, self.glossary)

    def topics(self) -> list[store.TopicSummary]:
        return self.store.topic_summaries()

    def resolve_topic(self, name: str, prefix: bool = False) -> str | None:
        return resolve_topic(self.store, name, prefix)

    def find_topic(self, name: str, prefix: bool = False) -> str | None:
        """The stored topic `name` names in either language: as `resolve_topic` does, else
        through the glossary ("neodymium" and "NdFeB" name 钕, "rare earth alliance" 稀土联盟)."""
        found = self.resolve_topic(name, prefix)
        if found is not None:
            return found
        wanted = _plain(name)
        if not wanted:
            return None
        for summary in self.topics():
            if wanted in {_plain(english) for english in self._english_names(summary.topic)}:
                return summary.topic
        return None

    def topic_in_english(self, topic: str) -> str | None:
        """A topic's English name from the glossary, when every part of it has one."""
        names = self._english_names(topic, every=False)
        return names[0] if names else None

    @cached_property
    def _english_by_chinese(self) -> dict[str, tuple[str, ...]]:
        """Each Chinese glossary term's English terms."""
        return {term: entry.english for entry in self.glossary.entries for term in entry.chinese}

    def _english_names(self, topic: str, every: bool = True) -> list[str]:
        """English renderings of a Chinese topic, made of glossary terms covering it from left
        to right, longest term first; every combination of aliases, or only the first."""
        by_chinese = self._english_by_chinese
        longest = max(map(len, by_chinese), default=0)
        parts: list[tuple[str, ...]] = []
        position = 0
        while position < len(topic):
            for size in range(min(longest, len(topic) - position), 0, -1):
                english = by_chinese.get(topic[position : position + size])
                if english is not None:
                    parts.append(english if every else english[:1])
                    position += size
                    break
            else:
                return []
        names = [""]
        for choices in parts:
            names = [f"{name} {choice}".strip() for name in names for choice in choices][:64]
        return names

    def latest(self, count: int = 5) -> list[Article]:
        return self.store.articles_between(None, None, limit=count)
