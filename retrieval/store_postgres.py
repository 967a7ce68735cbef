"""The article store in PostgreSQL, for several workers sharing one database: psycopg 3
through a connection pool. It behaves as the SQLite store does (`store.ArticleStore`);
what differs is how: an article's rowid is an identity column, writers queue on the
generation row (`SELECT … FOR UPDATE`) so each write's version is the generation it makes,
and migrations run under an advisory lock so workers starting together apply each once."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from .errors import StoreError
from .models import Article
from .store import (
    NO_LATER_GENERATION,
    IngestCounts,
    TopicSummary,
    apply_migrations,
    between_clauses,
    data_folder,
    merge_duplicates,
    write_new_file,
)

POOL_MAX_CONNECTIONS = 10  # per process; the server's max_connections must cover every worker's
CONNECT_TIMEOUT_SECONDS = 10
WAIT_FOR_CONNECTION_SECONDS = 30  # when every pooled connection is busy, or the server is down
MIGRATION_LOCK = 0x62726965  # the advisory lock held while migrating ("brie")
WRITE_BATCH = 5000  # rows per statement within an ingest's one transaction
DUMP_TIMEOUT_SECONDS = 3600


def _create_tables(conn: psycopg.Connection) -> None:
    """Version 1: articles (rowid an identity column), topic links in the order they were made, and the meta counters.

    Text that is ordered or compared (times, topics) uses the "C" collation: code-point
    order, as SQLite's, whatever the server's locale."""
    for statement in (
        'CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL)',
        "INSERT INTO meta (key, value) VALUES ('generation', '0')",
        """CREATE TABLE articles (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            uid TEXT COLLATE "C" NOT NULL UNIQUE,
            title TEXT NOT NULL,
            source TEXT NOT NULL,
            published TEXT COLLATE "C" NOT NULL,
            day DATE NOT NULL,
            bullets JSONB NOT NULL,
            body_chars INTEGER NOT NULL,
            version BIGINT NOT NULL)""",
        "CREATE INDEX articles_day ON articles (day, id)",
        "CREATE INDEX articles_version ON articles (version, id)",
        """CREATE TABLE article_topics (
            id BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
            uid TEXT COLLATE "C" NOT NULL,
            topic TEXT COLLATE "C" NOT NULL,
            PRIMARY KEY (uid, topic))""",
        "CREATE INDEX article_topics_topic ON article_topics (topic)",
    ):
        conn.execute(statement)


MIGRATIONS = (_create_tables,)

_SELECT = (
    "SELECT a.id, a.title, a.source, a.published, a.bullets, "
    "ARRAY(SELECT t.topic FROM article_topics t WHERE t.uid = a.uid) FROM articles a"
)

_UPDATE_FULLER = (
    "UPDATE articles a SET bullets = i.bullets, body_chars = i.body_chars, version = %(version)s "
    "FROM unnest(%(uid)s::text[], %(bullets)s::jsonb[], %(body_chars)s::int[]) AS i(uid, bullets, body_chars) "
    "WHERE a.uid = i.uid AND i.body_chars > a.body_chars"
)

_COPY_NEW = "COPY articles (uid, title, source, published, day, bullets, body_chars, version) FROM STDIN"

_INSERT_LINKS = (
    "INSERT INTO article_topics (uid, topic) "
    "SELECT i.uid, i.topic FROM unnest(%(uid)s::text[], %(topic)s::text[]) WITH ORDINALITY AS i(uid, topic, n) "
    "WHERE NOT EXISTS (SELECT 1 FROM article_topics t WHERE t.uid = i.uid AND t.topic = i.topic) ORDER BY i.n"
)


def shown_url(url: str) -> str:
    """The URL with its password masked, as messages and logs show it."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _article(row: Sequence) -> Article:
    return Article(row[1], row[2], datetime.fromisoformat(row[3]), tuple(row[4]), tuple(sorted(row[5])), rowid=row[0])


def _columns(articles: Sequence[Article], version: int) -> dict:
    """What a fuller copy replaces, one array per column, for unnest()."""
    return {
        "version": version,
        "uid": [a.uid for a in articles],
        "bullets": [Jsonb(list(a.bullets)) for a in articles],
        "body_chars": [len(a.body) for a in articles],
    }


def _copy_new(conn: psycopg.Connection, articles: Sequence[Article], version: int) -> int:
    """COPY the articles in (twice as fast as INSERT … unnest on a large ingest), in order,
    so their rowids follow it. Returns how many went in."""
    with conn.cursor() as cursor:
        with cursor.copy(_COPY_NEW) as copy:
            for a in articles:
                row = (a.uid, a.title, a.source, a.published.isoformat(), a.day, Jsonb(list(a.bullets)), len(a.body), version)
                copy.write_row(row)
        return cursor.rowcount


def _batches(items: Sequence, size: int = WRITE_BATCH) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def schema_version(conn: psycopg.Connection) -> int:
    """How many of MIGRATIONS the database has had: 0 for an empty database."""
    if conn.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the migrations the database lacks, in one transaction, holding an advisory
    lock: a worker that starts meanwhile waits, then finds them applied. Returns their names.

    The lock is the session's, taken before the transaction begins: a transaction that
    began before another worker's DDL committed may not see its tables in the catalog."""
    if schema_version(conn) == len(MIGRATIONS):
        return []
    conn.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
    try:
        with conn.transaction():
            applied = apply_migrations(MIGRATIONS, conn, schema_version(conn), "%s")
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
    return applied


def pg_dump_binary() -> str | None:
    """pg_dump on PATH, else the newest in Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which("pg_dump")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), key=lambda p: int(p.split("/")[4]))
    return candidates[-1] if candidates else None


class PostgresStore:
    """The store in a PostgreSQL database, shared by every worker that names the same URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = shown_url(url)
        self.index_folder = data_folder() / f"{self._folder_name()}.index"
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
                self.migrations_applied = migrate(conn)
        except psycopg.OperationalError as error:
            raise StoreError(f"cannot reach database {self.location}: {_first_line(error)}") from None
        except psycopg.Error as error:
            raise StoreError(f"cannot migrate database {self.location}: {_first_line(error)}") from None
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_MAX_CONNECTIONS,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS},
            timeout=WAIT_FOR_CONNECTION_SECONDS,
            name="briefbot-articles",
            open=False,
        )
        self._pool.open()

    def _folder_name(self) -> str:
        """host-port-database: one index per database this machine serves."""
        params = conninfo_to_dict(self.url)
        named = f"{params.get('host', 'localhost')}-{params.get('port', 5432)}-{params.get('dbname', '')}"
        return "postgres-" + re.sub(r"[^A-Za-z0-9._-]+", "_", named)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection (autocommit); a lost server is a StoreError."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout:
            raise StoreError(
                f"cannot reach database {self.location}: no connection within {WAIT_FOR_CONNECTION_SECONDS} s"
            ) from None
        except psycopg.OperationalError as error:
            raise StoreError(f"database {self.location} failed: {_first_line(error)}") from None

    def _rows(self, query: str, params: Sequence | dict = ()) -> list[tuple]:
        with self._connection() as conn:
            return conn.execute(query, params).fetchall()

    def schema_version(self) -> int:
        with self._connection() as conn:
            return schema_version(conn)

    def save_articles(self, articles: Iterable[Article]) -> IngestCounts:
        """The stored body lengths are read first (uids only cross the wire), so only new
        articles and fuller copies are sent; writers are queued on the generation row, so
        none can add the same uid meanwhile."""
        merged = merge_duplicates(articles)
        links = [(article.uid, topic) for article in merged for topic in article.topics]
        new = updated = topics_added = 0
        with self._connection() as conn, conn.transaction():
            (current,) = conn.execute("SELECT value FROM meta WHERE key = 'generation' FOR UPDATE").fetchone()
            version = int(current) + 1  # what the generation becomes if anything searchable changes
            for batch in _batches(merged):
                stored = dict(
                    conn.execute(
                        "SELECT uid, body_chars FROM articles WHERE uid = ANY(%s::text[])", [[a.uid for a in batch]]
                    ).fetchall()
                )
                fuller = [a for a in batch if a.uid in stored and len(a.body) > stored[a.uid]]
                unseen = [a for a in batch if a.uid not in stored]
                if fuller:
                    updated += conn.execute(_UPDATE_FULLER, _columns(fuller, version)).rowcount
                if unseen:
                    new += _copy_new(conn, unseen, version)
            for batch in _batches(links):
                uids, topics = zip(*batch)
                topics_added += conn.execute(_INSERT_LINKS, {"uid": list(uids), "topic": list(topics)}).rowcount
            if new or topics_added or updated:
                conn.execute("UPDATE meta SET value = %s WHERE key = 'generation'", [str(version)])
        return IngestCounts(new, len(merged) - new, topics_added, updated)

    def generation(self) -> int:
        return int(self._rows("SELECT value FROM meta WHERE key = 'generation'")[0][0])

    def count_articles(self) -> int:
        return self._rows("SELECT count(*) FROM articles")[0][0]

    def all_articles(self) -> list[tuple[int, Article]]:
        return [(row[0], _article(row)) for row in self._rows(f"{_SELECT} ORDER BY a.id")]

    def changed_since(
        self, generation: int, upto: int | None = None, batch: int = 1000
    ) -> Iterator[tuple[int, Article]]:
        """Read through a server-side cursor: one snapshot, `batch` rows at a time."""
        with self._connection() as conn, conn.transaction(), conn.cursor(name="changed_since") as cursor:
            cursor.itersize = batch
            cursor.execute(
                "SELECT id, title, source, published, bullets, ARRAY[]::text[] FROM articles "
                "WHERE version > %s AND version <= %s ORDER BY id",
                [generation, NO_LATER_GENERATION if upto is None else upto],
            )
            while rows := cursor.fetchmany(batch):
                yield from ((row[0], _article(row)) for row in rows)

    def count_changed_since(self, generation: int) -> int:
        return self._rows("SELECT count(*) FROM articles WHERE version > %s", [generation])[0][0]

    def articles_by_rowid(self, rowids: Sequence[int]) -> dict[int, Article]:
        if not rowids:
            return {}
        rows = self._rows(f"{_SELECT} WHERE a.id = ANY(%s::bigint[])", [list(rowids)])
        return {row[0]: _article(row) for row in rows}

    def headers_by_rowid(self, rowids: Sequence[int]) -> dict[int, Article]:
        if not rowids:
            return {}
        rows = self._rows("SELECT id, title, source, published FROM articles WHERE id = ANY(%s::bigint[])", [list(rowids)])
        return {row[0]: Article(row[1], row[2], datetime.fromisoformat(row[3]), (), rowid=row[0]) for row in rows}

    def days_by_rowid(self, rowids: Sequence[int]) -> dict[int, date]:
        if not rowids:
            return {}
        return dict(self._rows("SELECT id, day FROM articles WHERE id = ANY(%s::bigint[])", [list(rowids)]))

    def rowids_between(self, start: date | None, end: date | None, limit: int | None = None) -> list[int]:
        rows = self._rows(
            "SELECT id FROM articles WHERE day >= %s AND day <= %s ORDER BY day DESC, id DESC LIMIT %s",
            [start or date.min, end or date.max, limit],
        )
        return [row[0] for row in rows]

    def articles_between(
        self, start: date | None, end: date | None, topic: str | None = None, limit: int | None = None
    ) -> list[Article]:
        where, params = between_clauses(start, end, topic, "%s", lambda day: day)
        rows = self._rows(f"{_SELECT}{where} ORDER BY a.published DESC, a.id DESC LIMIT %s", [*params, limit])
        return [_article(row) for row in rows]

    def topic_summaries(self) -> list[TopicSummary]:
        rows = self._rows(
            "SELECT t.topic, count(*), min(a.day), max(a.day) FROM article_topics t "
            "JOIN articles a ON a.uid = t.uid GROUP BY t.topic ORDER BY count(*) DESC, t.topic"
        )
        return [TopicSummary(*row) for row in rows]

    def newest_day(self, topic: str | None = None) -> date | None:
        if topic:
            rows = self._rows(
                "SELECT max(a.day) FROM articles a JOIN article_topics t ON t.uid = a.uid WHERE t.topic = %s", [topic]
            )
        else:
            rows = self._rows("SELECT max(day) FROM articles")
        return rows[0][0]

    def newest_in_topic(self, topic: str, count: int) -> list[tuple[int, str]]:
        return [
            tuple(row)
            for row in self._rows(
                "SELECT a.id, a.uid FROM articles a JOIN article_topics t ON t.uid = a.uid WHERE t.topic = %s "
                "ORDER BY a.published DESC, a.id DESC LIMIT %s",
                [topic, count],
            )
        ]

    def topic_cursor(self) -> int:
        return int(self._rows("SELECT coalesce(max(id), 0) FROM article_topics")[0][0])

    def linked_since(self, topic: str, cursor: int) -> list[tuple[int, str]]:
        return [
            tuple(row)
            for row in self._rows(
                "SELECT a.id, a.uid FROM article_topics t JOIN articles a ON a.uid = t.uid "
                "WHERE t.topic = %s AND t.id > %s ORDER BY a.published DESC, a.id DESC",
                [topic, cursor],
            )
        ]

    def backup(self, target: str | Path) -> Path:
        """pg_dump's custom format (restore with pg_restore); the password, if any, goes
        to pg_dump through its environment, not its command line."""
        binary = pg_dump_binary()
        if binary is None:
            raise StoreError("backup needs pg_dump (PostgreSQL's client tools), and none was found on PATH")
        params = conninfo_to_dict(self.url)
        password = params.pop("password", None)
        environment = {**os.environ, **({"PGPASSWORD": str(password)} if password else {})}

        def dump_to(partial: Path) -> None:
            command = [binary, "--format=custom", "--no-password", f"--file={partial}", f"--dbname={make_conninfo(**params)}"]
            try:
                done = subprocess.run(
                    command, env=environment, capture_output=True, text=True, timeout=DUMP_TIMEOUT_SECONDS
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                raise StoreError(f"pg_dump did not run: {error}") from None
            if done.returncode != 0:
                raise StoreError(" ".join(done.stderr.split()) or f"pg_dump exited with {done.returncode}")

        return write_new_file(target, dump_to)

    def close(self) -> None:
        self._pool.close()
