"""The benchmark writes real export files and reports every column the README quotes."""

from __future__ import annotations

import itertools

import pytest

from benchmarks import bench as benchmark
from retrieval import parse_file


def test_the_synthetic_corpus_is_in_the_export_format(tmp_path):
    files = benchmark.write_corpus(tmp_path / "corpus", 120, seed=3)
    articles = [a for path in files for a in parse_file(path).articles]
    assert len(articles) == 120
    assert all(a.title and a.source and len(a.bullets) >= 4 for a in articles)
    assert benchmark.write_corpus(tmp_path / "again", 120, seed=3)[0].read_text() == files[0].read_text()


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict:
    return benchmark.measure_size(150, 4, seed=5, workdir=str(tmp_path_factory.mktemp("bench")), added=3, bulk=400)


def test_one_size_measures_all_three_engines(measured):
    row = measured
    assert row["articles"] == 150 and row["questions"] == 4
    for engine in ("briefbot", "bm25s", "rank_bm25"):
        assert row[f"{engine}_questions"] == 4
        assert row[f"{engine}_median_ms"] > 0
    assert row["peak_rss_mb"] > 0 and row["speedup_vs_rank_bm25"] > 0
    assert row["digest_questions"] == benchmark.DIGEST_RUNS and row["digest_median_ms"] > 0
    assert row["digest_cold_seconds"] > 0 and row["cold_ask_seconds"] > 0


def test_one_size_measures_growth_while_serving(measured):
    row = measured
    assert row["add_seconds"] > 0 and row["add_peak_rss_mb"] > 0
    assert row["added_found_next"] is True, "the question after an ingest must see the added articles"
    assert row["during_ingest_questions"] >= 1 and row["during_ingest_p99_ms"] > 0
    assert row["bulk_seconds"] > 0
    assert 0 < row["serving_rss_mb"] and 0 < row["serving_rss_after_mb"]


def test_indexed_bullet_ids_are_the_tokenizers_tokens(seeded_library):
    index = seeded_library.index()
    for rowid, article in seeded_library.store.all_articles():
        ids, lengths = index.bullet_ids(rowid)
        words = index.words(ids.tolist())
        starts = [0, *itertools.accumulate(lengths.tolist())]
        indexed = [words[start:end] for start, end in zip(starts, starts[1:])]
        assert indexed == [seeded_library.tokenizer(bullet) for bullet in article.bullets]


def test_the_table_names_the_cold_start(measured):
    text = benchmark.table({"sizes": [measured], "cold_ask_seconds": {"q": 0.5}})
    assert "| 150 |" in text and "cold `briefbot ask 'q'` on the bundled corpus: median 0.5 s" in text
    assert "| add 10: s |" in text
