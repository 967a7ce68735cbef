"""The article store's specification, run on both backends (SQLite and PostgreSQL): what an
ingest counts, how copies of an article merge, what each read returns, the generation and
the changes since one, migrations applied once, and backups that restore."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from retrieval import StoreError, parse_file, store
from retrieval.models import SHANGHAI, Article
from retrieval.store_postgres import pg_dump_binary
from tests.conftest import REPO, SEEDS

SEED_ARTICLES = [article for path in sorted(SEEDS.glob("*.txt")) for article in parse_file(path).articles]
SEEDED = 43
WRITERS = 4


def article(title: str, body: str = "a body", topics: tuple[str, ...] = ("稀土",), day: int = 1, bullets=("one",)):
    published = datetime(2026, 3, day, 9, 30, tzinfo=SHANGHAI)
    return Article(title, "Reuters", published, tuple(bullets), topics, body)


def written_by(article_store: store.ArticleStore) -> dict[str, int]:
    """Each article's title with the generation that last wrote it, told apart by changed_since."""
    found = {}
    for generation in range(article_store.generation()):
        found.update({a.title: generation + 1 for _, a in article_store.changed_since(generation)})
    return found


@pytest.fixture
def seeded_store(article_store) -> store.ArticleStore:
    article_store.save_articles(SEED_ARTICLES)
    return article_store


# --- Writing -------------------------------------------------------------------------------


def test_an_ingest_counts_new_and_known_articles_and_new_topic_links(article_store):
    links = {(a.uid, topic) for a in SEED_ARTICLES for topic in a.topics}
    assert article_store.save_articles(SEED_ARTICLES) == store.IngestCounts(SEEDED, 0, len(links), 0)
    assert article_store.count_articles() == SEEDED
    assert article_store.generation() == 1
    assert article_store.save_articles(SEED_ARTICLES) == store.IngestCounts(0, SEEDED, 0, 0)
    assert article_store.generation() == 1, "a write that changed nothing bumped the generation"


def test_one_article_from_two_files_is_one_article_with_both_topics_and_the_longer_body(article_store):
    short, full = article("稀土协议", "short", ("稀土",)), article("稀土协议", "the full body", ("协议",), bullets=("full",))
    assert article_store.save_articles([short, full]) == store.IngestCounts(1, 0, 2, 0)
    [(rowid, kept)] = article_store.all_articles()
    assert (kept.topics, kept.bullets, kept.rowid) == (("协议", "稀土"), ("full",), rowid)


def test_a_longer_copy_replaces_the_bullets_of_a_shorter_one_and_a_shorter_copy_changes_nothing(article_store):
    article_store.save_articles([article("被截断的文章", "cut", bullets=("cut",))])
    before = article_store.generation()
    [(rowid, _)] = article_store.all_articles()

    fuller = article("被截断的文章", "the whole body", bullets=("whole", "second"))
    assert article_store.save_articles([fuller]) == store.IngestCounts(0, 1, 0, 1)
    assert article_store.generation() == before + 1
    assert [(r, a.bullets) for r, a in article_store.changed_since(before)] == [(rowid, ("whole", "second"))]

    assert article_store.save_articles([article("被截断的文章", "cut", bullets=("cut",))]) == store.IngestCounts(0, 1, 0, 0)
    assert article_store.generation() == before + 1
    assert article_store.articles_by_rowid([rowid])[rowid].bullets == ("whole", "second")


def test_a_known_article_under_a_new_topic_gains_the_topic(article_store):
    article_store.save_articles([article("镓出口管制", topics=("镓",))])
    before = article_store.generation()
    assert article_store.save_articles([article("镓出口管制", topics=("出口管制",))]) == store.IngestCounts(0, 1, 1, 0)
    assert article_store.generation() == before + 1
    [(_, kept)] = article_store.all_articles()
    assert kept.topics == ("出口管制", "镓")


def test_concurrent_writers_each_get_their_own_generation(article_store):
    batches = [[article(f"文章{writer}-{n}", day=1 + n) for n in range(20)] for writer in range(WRITERS)]
    with ThreadPoolExecutor(WRITERS) as pool:
        counts = list(pool.map(article_store.save_articles, batches))
    assert [c.new for c in counts] == [20] * WRITERS
    assert article_store.generation() == WRITERS
    versions = written_by(article_store)
    written_together = {frozenset(t for t, v in versions.items() if v == g) for g in range(1, WRITERS + 1)}
    assert written_together == {frozenset(a.title for a in batch) for batch in batches}


# --- Reading -------------------------------------------------------------------------------


def test_every_read_by_rowid_agrees_with_all_articles(seeded_store):
    everything = seeded_store.all_articles()
    rowids = [rowid for rowid, _ in everything]
    assert rowids == sorted(rowids) and len(rowids) == SEEDED
    assert seeded_store.articles_by_rowid(rowids) == dict(everything)
    assert {r: a.topics for r, a in seeded_store.articles_by_rowid(rowids).items()} == {
        r: a.topics for r, a in everything
    }
    headers = seeded_store.headers_by_rowid(rowids)
    assert {r: (h.title, h.source, h.published, h.bullets) for r, h in headers.items()} == {
        r: (a.title, a.source, a.published, ()) for r, a in everything
    }
    assert seeded_store.days_by_rowid(rowids) == {r: a.day for r, a in everything}
    assert seeded_store.articles_by_rowid([]) == seeded_store.headers_by_rowid([]) == seeded_store.days_by_rowid([]) == {}
    assert seeded_store.articles_by_rowid([max(rowids) + 1000]) == {}


def test_seeds_read_back_as_parsed(seeded_store):
    expected = {a.uid: a for a in store.merge_duplicates(SEED_ARTICLES)}
    back = {a.uid: a for _, a in seeded_store.all_articles()}
    assert back == {uid: Article(a.title, a.source, a.published, a.bullets, tuple(sorted(a.topics))) for uid, a in expected.items()}


def test_articles_between_a_window_and_a_topic_newest_first(seeded_store):
    everything = [a for _, a in seeded_store.all_articles()]
    newest = max(a.day for a in everything)
    start = newest - timedelta(days=30)
    topic = Counter(t for a in everything for t in a.topics).most_common(1)[0][0]
    in_window = [a for a in everything if start <= a.day <= newest and topic in a.topics]
    in_window.sort(key=lambda a: (a.published, a.rowid), reverse=True)
    assert seeded_store.articles_between(start, newest, topic) == in_window
    assert seeded_store.articles_between(start, newest, topic, limit=2) == in_window[:2]
    every = sorted(everything, key=lambda a: (a.published, a.rowid), reverse=True)
    assert seeded_store.articles_between(None, None) == every
    assert seeded_store.articles_between(None, None, "没有这个主题") == []


def test_rowids_between_newest_day_first(seeded_store):
    everything = seeded_store.all_articles()
    end = max(a.day for _, a in everything)
    start = end - timedelta(days=10)
    expected = sorted(((a.day, r) for r, a in everything if start <= a.day <= end), reverse=True)
    assert seeded_store.rowids_between(start, end) == [r for _, r in expected]
    assert seeded_store.rowids_between(None, None, 5) == [r for _, r in sorted(((a.day, r) for r, a in everything), reverse=True)][:5]


def test_topic_summaries_count_articles_and_span_days_most_articles_first(seeded_store):
    by_topic: dict[str, list[date]] = {}
    for _, a in seeded_store.all_articles():
        for topic in a.topics:
            by_topic.setdefault(topic, []).append(a.day)
    expected = [store.TopicSummary(t, len(days), min(days), max(days)) for t, days in by_topic.items()]
    expected.sort(key=lambda s: (-s.articles, s.topic))
    assert seeded_store.topic_summaries() == expected


def test_newest_day_over_everything_and_within_a_topic(article_store):
    assert article_store.newest_day() is None
    article_store.save_articles([article("旧", topics=("镓",), day=2), article("新", topics=("锗",), day=9)])
    assert article_store.newest_day() == date(2026, 3, 9)
    assert article_store.newest_day("镓") == date(2026, 3, 2)
    assert article_store.newest_day("没有这个主题") is None


def test_changed_since_yields_only_what_a_later_write_added_or_replaced_in_rowid_order(article_store):
    article_store.save_articles(SEED_ARTICLES[:10])
    first = article_store.generation()
    assert list(article_store.changed_since(first)) == []
    article_store.save_articles(SEED_ARTICLES[10:])
    added = list(article_store.changed_since(first, batch=7))
    assert {a.uid for _, a in added} == {a.uid for a in SEED_ARTICLES[10:]} - {a.uid for a in SEED_ARTICLES[:10]}
    assert [rowid for rowid, _ in added] == sorted(rowid for rowid, _ in added)
    assert len(list(article_store.changed_since(0))) == article_store.count_articles()
    assert article_store.count_changed_since(first) == len(added)
    assert article_store.count_changed_since(article_store.generation()) == 0


def test_changed_since_up_to_a_generation_leaves_out_later_writes(article_store):
    article_store.save_articles([article("第一篇")])
    article_store.save_articles([article("第二篇")])
    article_store.save_articles([article("第一篇", "a longer body")])
    assert [a.title for _, a in article_store.changed_since(0, upto=1)] == []
    assert [a.title for _, a in article_store.changed_since(0, upto=2)] == ["第二篇"]
    assert [a.title for _, a in article_store.changed_since(1, upto=3)] == ["第一篇", "第二篇"]
    assert [a.title for _, a in article_store.changed_since(2)] == ["第一篇"]


def test_both_backends_read_the_seeds_alike(tmp_path, postgres_url):
    sqlite_store, postgres_store = store.open_store(str(tmp_path / "a.db")), store.open_store(postgres_url)
    try:
        readings = []
        for opened in (sqlite_store, postgres_store):
            opened.save_articles(SEED_ARTICLES)
            topics = [s.topic for s in opened.topic_summaries()]
            readings.append(
                (
                    [(r, a, a.topics) for r, a in opened.all_articles()],
                    opened.topic_summaries(),
                    [opened.articles_between(None, None, topic, limit=3) for topic in topics],
                    [opened.newest_day(topic) for topic in topics],
                    opened.rowids_between(None, None),
                    opened.generation(),
                )
            )
        assert readings[0] == readings[1]
    finally:
        sqlite_store.close()
        postgres_store.close()


# --- Migrations ----------------------------------------------------------------------------

OPEN_AND_COUNT = "import sys; from retrieval import store; print(len(store.open_store(sys.argv[1]).migrations_applied))"


def backend_migrations(target: str) -> int:
    if store.is_postgres_url(target):
        from retrieval import store_postgres

        return len(store_postgres.MIGRATIONS)
    return len(store.MIGRATIONS)


def test_opening_applies_each_migration_once(database_location):
    first = store.open_store(database_location)
    assert len(first.migrations_applied) == first.schema_version() == backend_migrations(database_location)
    second = store.open_store(database_location)
    assert second.migrations_applied == [] and second.schema_version() == backend_migrations(database_location)
    first.close()
    second.close()


def test_workers_starting_at_once_apply_each_migration_once(database_location):
    workers = [
        subprocess.Popen([sys.executable, "-c", OPEN_AND_COUNT, database_location], cwd=REPO, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    applied = sorted(int(worker.communicate(timeout=60)[0]) for worker in workers)
    assert applied == [0, 0, backend_migrations(database_location)]


# --- Backup --------------------------------------------------------------------------------


def restored(backup: Path, request) -> store.ArticleStore:
    """The backup opened as a store: a SQLite copy as it is, a dump restored into a new database."""
    if backup.read_bytes()[:5] != b"PGDMP":
        return store.open_store(str(backup))
    url = request.getfixturevalue("postgres_server").new_database()
    pg_restore = str(Path(pg_dump_binary()).with_name("pg_restore"))
    subprocess.run([pg_restore, "--no-owner", f"--dbname={url}", str(backup)], check=True, capture_output=True)
    return store.open_store(url)


def test_a_backup_restores_to_the_same_articles_and_generation(seeded_store, tmp_path, request):
    written = seeded_store.backup(tmp_path / "copy")
    assert written == tmp_path / "copy" and not (tmp_path / "copy.partial").exists()
    copy = restored(written, request)
    try:
        assert copy.migrations_applied == []
        assert copy.all_articles() == seeded_store.all_articles()
        assert copy.generation() == seeded_store.generation()
    finally:
        copy.close()


def test_a_backup_never_overwrites_a_file(seeded_store, tmp_path):
    target = tmp_path / "taken"
    target.write_text("keep me")
    with pytest.raises(StoreError, match="already exists; choose a new file name"):
        seeded_store.backup(target)
    assert target.read_text() == "keep me"
