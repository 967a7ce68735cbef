"""The schema carries a version; opening a database applies the migrations it lacks, once."""

import sqlite3
from pathlib import Path

from retrieval import store
from retrieval.library import Library

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def make_version_one(path: Path) -> None:
    """A database as the first schema wrote it: whole bodies, no versions."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE articles (uid TEXT PRIMARY KEY, title TEXT, source TEXT, published TEXT, day TEXT,
                               bullets TEXT, body TEXT);
        CREATE TABLE article_topics (uid TEXT, topic TEXT, PRIMARY KEY (uid, topic));
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        INSERT INTO articles VALUES ('a1', '标题', 'Reuters', '2026-01-02T03:04:00+08:00', '2026-01-02',
                                     '["one bullet"]', 'a body of 23 characters');
        INSERT INTO article_topics VALUES ('a1', '稀土');
        INSERT INTO meta VALUES ('generation', '7');
        """
    )
    conn.commit()
    conn.close()


def test_an_old_database_is_migrated_keeping_its_articles_and_body_lengths(tmp_path):
    path = tmp_path / "old.db"
    make_version_one(path)
    db = store.open_db(path)
    assert store.schema_version(db) == len(store.MIGRATIONS)
    row = db.execute("SELECT uid, body_chars, version FROM articles").fetchone()
    assert row == ("a1", len("a body of 23 characters"), 7)
    assert "body" not in db["articles"].columns_dict
    assert store.generation(db) == 7
    assert [a.title for _, a in store.all_articles(db)] == ["标题"]


def test_opening_a_current_database_again_changes_nothing(tmp_path):
    path = tmp_path / "new.db"
    store.open_db(path)
    schema = sqlite3.connect(path).execute("SELECT group_concat(sql, ';') FROM sqlite_master").fetchone()[0]
    store.open_db(path)
    assert sqlite3.connect(path).execute("SELECT group_concat(sql, ';') FROM sqlite_master").fetchone()[0] == schema


def test_changed_since_yields_only_what_a_later_write_added_or_replaced(tmp_path):
    library = Library(tmp_path / "c.db", seed=False)
    files = sorted(SEEDS.glob("*.txt"))
    library.ingest(files[:1])
    first = store.generation(library.db)
    assert list(store.changed_since(library.db, first)) == []
    library.ingest(files[1:2])
    added = list(store.changed_since(library.db, first))
    assert added and {rowid for rowid, _ in added} == {
        rowid for rowid, in library.db.execute("SELECT rowid FROM articles WHERE version > ?", [first])
    }
    assert [rowid for rowid, _ in added] == sorted(rowid for rowid, _ in added)
    assert len(list(store.changed_since(library.db, 0))) == store.count_articles(library.db)
