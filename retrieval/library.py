"""The one object the CLI and the bot share: a database, its tokenizer and its index."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from . import lexicon, segments, store
from .digest import digest as build_digest
from .digest import resolve_topic
from .errors import BriefbotError
from .expand import Glossary, Translator, configured_entries, glossary_words
from .index import DamagedIndex, Index
from .lexicon import Dictionary
from .models import SHANGHAI, Answer, Article, Digest
from .parse import Export, parse_file
from .search import search
from .seeds import bundled_seed_files
from .stories import Storyteller
from .tokenize import Tokenizer

ProgressCallback = Callable[[Path], None]
T = TypeVar("T")
INLINE_CATCH_UP = 200  # a question indexes at most this many missing articles itself, else a thread does
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
        self._built_here: Index | None = None  # the last index this process built anew from the database
        self._rebuild_next = False  # the saved index is damaged: the next write builds it anew
        self._catching_up: threading.Thread | None = None
        self._save_failed = False
        if seed:
            self.seed_if_empty()

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
        """Parse all files, then, holding the index's write lock, write them in one
        transaction and index what they added as a new segment. Questions meanwhile are
        answered from the index as it was; the next one sees the new articles."""
        exports = parse_all(export_files(paths), on_file)
        with segments.write_lock(self.index_folder):
            counts = self.store.save_articles((article for export in exports for article in export.articles))
            del exports  # indexing reads the articles back from the database, a batch at a time
            self._publish(self._add_changes())
        return counts

    def index(self) -> Index:
        """The index for what the database holds now. A question never waits for an ingest:
        when the database is ahead, the saved index is loaded if it has caught up; else a
        few missing articles are indexed here and now (unless another process is writing
        the index) and many in a background thread, and the current view answers meanwhile.
        Only the very first question on a database without an index waits for the build."""
        current = self.store.generation()
        view = self._index
        if view is not None and view.generation == current:
            return view
        with self._index_lock:
            view = self._index
            if view is None or view.generation != current:
                view = self._load_saved(view)
            if view is None:
                with segments.write_lock(self.index_folder):
                    view = self._add_changes()
            elif view.generation != current:
                if self.store.count_changed_since(view.generation) <= INLINE_CATCH_UP:
                    with segments.write_lock(self.index_folder, wait=False) as held:
                        view = self._add_changes() if held else view
                else:
                    self._catch_up_in_background()
            if self._index is None or view.generation >= self._index.generation:
                self._index = view
            return self._index

    def index_generation(self) -> int | None:
        """The generation of the index in memory (None before one is loaded); no database read."""
        return self._index.generation if self._index is not None else None

    def _load_saved(self, view: Index | None) -> Index | None:
        """The saved index when it is newer than `view` and made by this tokenizer, else
        `view`. A damaged one is logged and left for the next write to rebuild."""
        try:
            saved = segments.load_index(self.index_folder, view)
        except DamagedIndex as damage:
            logger.warning("the search index at %s is damaged (%s); rebuilding it", self.index_folder, damage)
            self._rebuild_next = True
            return view if view is not None and view.tokenizer_version == self.tokenizer.version else None
        except OSError:  # a segment merged away between reading the manifest and its files
            return view
        if saved is None or saved.tokenizer_version != self.tokenizer.version:
            return view if view is not None and view.tokenizer_version == self.tokenizer.version else None
        return saved if view is None or saved.generation >= view.generation else view

    def _add_changes(self) -> Index:
        """Index what the database holds past the saved index (everything, when there is no
        usable one) and save it; the caller holds the write lock. If it cannot be saved (a full
        disk, a read-only folder) the new view serves from memory, and the log says so once."""
        generation = self.store.generation()
        update = segments.add_changes(
            self.index_folder,
            lambda since: self.store.changed_since(since, upto=generation),
            generation,
            self.tokenizer,
            self.tokenizer.version,
            previous=None if self._rebuild_next else self._index,
            fresh=self._rebuild_next,
        )
        self._rebuild_next = False
        if update.rebuilt:
            self._built_here = update.index
        if update.error is not None:
            if not self._save_failed:
                logger.warning(
                    "cannot save the search index to %s (%s); serving it from memory, "
                    "and every new process will rebuild it",
                    self.index_folder,
                    update.error,
                )
            self._save_failed = True
        else:
            self._save_failed = False
        return update.index

    def _publish(self, view: Index) -> None:
        with self._index_lock:
            if self._index is None or view.generation >= self._index.generation:
                self._index = view

    def _catch_up_in_background(self) -> None:
        """Index what the database holds past the current view in a thread, once at a time;
        it waits for the write lock, so when another process is ingesting it finds that done."""
        if self._catching_up is not None and self._catching_up.is_alive():
            return

        def catch_up() -> None:
            try:
                with segments.write_lock(self.index_folder):
                    self._publish(self._add_changes())
            except Exception:  # noqa: BLE001 - a question will try again; say why meanwhile
                logger.exception("indexing new articles in the background failed")

        self._catching_up = threading.Thread(target=catch_up, name="briefbot-index", daemon=True)
        self._catching_up.start()

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
                    self._rebuild_next = True
                    with segments.write_lock(self.index_folder):
                        self._index = self._add_changes()
                index = self._index
        return use(index)

    def warm_up(self) -> None:
        """Load what the first questions would otherwise wait for: the index (and its files
        into the kernel's page cache), jieba's dictionary, CC-CEDICT, the English word lists
        and lemmas. A server calls it at start.
        Dictionary tables not built yet are built in a child process first, so that reading
        the dictionaries whole does not stay in the server's memory."""
        lexicon.build_tables_apart()
        segments.preload(self.index_folder, [segment.name for segment in self.index().segments])
        self.ask("稀土出口管制 rare earht export curbs")
        self.index().vocabulary.fold()  # every word in one dict: a cold CLI question searches sorted words instead

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
