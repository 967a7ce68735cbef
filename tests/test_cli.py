"""The `briefbot` command: its JSON contract, ingest counts, errors and help."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.conftest import REPO, SEEDS

RESULT_KEYS = {"title", "date", "source", "topics", "score", "bullets"}


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "cli.db")


def run(args, db_path, input=None):
    return CliRunner().invoke(cli, [*args, "--db", db_path], input=input, catch_exceptions=False)


def article_count(db_path) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]


def test_first_ask_ingests_the_bundled_corpus_by_itself(db_path):
    result = run(["ask", "--json", "美澳稀土协议总金额是多少?"], db_path)
    assert result.exit_code == 0
    assert article_count(db_path) == 43
    assert json.loads(result.output)["results"]


def test_ask_json_follows_the_contract(db_path):
    result = run(["ask", "--json", "--k", "3", "rare earth export controls Japan"], db_path)
    payload = json.loads(result.output)
    assert payload["query"] == "rare earth export controls Japan"
    assert 1 <= len(payload["results"]) <= 3
    for item in payload["results"]:
        assert RESULT_KEYS <= set(item)
        assert isinstance(item["score"], float)
        assert item["date"].endswith("+08:00") and item["date"][10] == "T"
        assert item["topics"] and all(isinstance(topic, str) for topic in item["topics"])
        assert 1 <= len(item["bullets"]) <= 3
        assert not any("[1]" in bullet for bullet in item["bullets"])
    scores = [item["score"] for item in payload["results"]]
    assert scores == sorted(scores, reverse=True)


def test_ask_json_from_stdin_answers_each_line_in_order(db_path):
    result = run(["ask", "--json", "-"], db_path, input="Lynas Malaysia\n\n钕铁硼永磁体\n")
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["query"] for line in lines] == ["Lynas Malaysia", "", "钕铁硼永磁体"]
    assert lines[1]["results"] == []
    assert lines[0]["results"] and lines[2]["results"]


@pytest.mark.parametrize(
    "question",
    ["", "   ", "x" * 100_000, "稀土\x00\x07\x1b[31m出口", "🚀🔥 rare earth 🇨🇳", "<script>alert(1)</script>"],
    ids=["empty", "blank", "huge", "control-characters", "emoji", "html"],
)
def test_odd_questions_get_a_clean_answer(question, db_path):
    result = run(["ask", "--json", question], db_path)
    assert result.exit_code == 0
    payload = json.loads(result.output)
    assert isinstance(payload["results"], list)
    assert "\x00" not in payload["query"] and len(payload["query"]) <= 512


def test_notes_about_the_question_are_sentences_in_json_and_text(db_path):
    payload = json.loads(run(["ask", "--json", "2024年3月 稀土 出口管制"], db_path).output)
    assert payload["notes"] == ["No article is dated 2024-03-01 – 2024-03-31; showing the best matches from any date."]
    assert run(["ask", "2024年3月 稀土 出口管制"], db_path).output.startswith(payload["notes"][0] + "\n\n1. ")


def test_an_empty_question_in_text_mode_shows_an_example(db_path):
    result = run(["ask", ""], db_path)
    assert result.exit_code == 0
    assert "Empty question. Try: briefbot ask" in result.output


def test_ingest_counts_new_and_known_articles(db_path, tmp_path):
    empty = tmp_path / "empty.db"
    first = run(["ingest", str(SEEDS)], str(empty))
    again = run(["ingest", str(SEEDS / "004_1e4ab5c80f4e55d0.txt")], str(empty))
    assert first.output.splitlines()[-1] == "0 new articles, 43 already known."
    assert again.output.splitlines()[-1] == "0 new articles, 3 already known."
    assert article_count(empty) == 43


def test_ingest_into_a_database_without_seeds_counts_them_new(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", str(SEEDS / "004_1e4ab5c80f4e55d0.txt")],
        cwd=REPO,
        env={"BRIEFBOT_DB": str(tmp_path / "x.db"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0 new articles, 3 already known."


def test_a_malformed_file_stops_the_whole_run_and_writes_nothing(db_path, tmp_path):
    run(["topics"], db_path)
    folder = tmp_path / "exports"
    folder.mkdir()
    good = folder / "a_good.txt"
    good.write_text("新话题\nSearch documents\n新标题\nX· 2026-03-01 08:00\nGroup 1 - New fact [1]\n", encoding="utf-8")
    (folder / "b_bad.txt").write_text("新话题\nSearch documents\n坏标题\nX· 2026-13-01 08:00\nbody [1]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["ingest", str(folder), "--db", db_path])
    assert result.exit_code == 2
    assert f"{folder / 'b_bad.txt'}:4: impossible date '2026-13-01 08:00'" in result.output
    assert article_count(db_path) == 43


def test_ingest_of_a_missing_path_says_so(db_path, tmp_path):
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path / "nope.txt"), "--db", db_path])
    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_an_article_in_two_exports_keeps_both_topics(db_path, tmp_path):
    copy = tmp_path / "copy.txt"
    text = (SEEDS / "004_1e4ab5c80f4e55d0.txt").read_text(encoding="utf-8").replace("稀土主导权", "新话题", 1)
    copy.write_text(text, encoding="utf-8")
    run(["ingest", str(copy)], db_path)
    topics = json.loads(run(["topics", "--json"], db_path).output)
    assert {"topic": "新话题", "articles": 3, "first": "2025-06-24", "last": "2025-09-03"} in topics
    answer = json.loads(run(["ask", "--json", "Oklahoma nickel refining"], db_path).output)
    assert set(answer["results"][0]["topics"]) == {"稀土主导权", "新话题"}


def test_topics_json_lists_each_topic_with_counts_and_dates(db_path):
    topics = json.loads(run(["topics", "--json"], db_path).output)
    assert sorted(t["topic"] for t in topics) == sorted(["稀土产业链", "稀土联盟", "稀土", "钕", "稀土主导权"])
    assert sum(t["articles"] for t in topics) == 43
    assert {"topic": "钕", "articles": 10, "first": "2025-10-09", "last": "2026-02-08"} in topics


def test_digest_of_an_empty_window_says_so_and_shows_the_most_recent(db_path):
    result = run(["digest", "钕", "--days", "7"], db_path)
    assert result.exit_code == 0
    assert result.output.splitlines()[1] == "No articles in the last 7 days — the 10 most recent (newest 2026-02-08)"
    payload = json.loads(run(["digest", "钕", "--json"], db_path).output)
    assert payload["window_empty"] is True and payload["newest"] == "2026-02-08"
    leads = [story["articles"][0]["title"] for story in payload["stories"]]
    assert "中国真要收紧对日稀土出口管制?" in leads[:2]


def test_digest_json_has_every_article_in_exactly_one_story(db_path):
    payload = json.loads(run(["digest", "稀土联盟", "--all", "--json"], db_path).output)
    assert payload["window_empty"] is False and payload["matched_topic"] is True
    shown = [(a["title"], a["date"]) for story in payload["stories"] for a in story["articles"]]
    assert len(shown) == len(set(shown)) == 10
    for story in payload["stories"]:
        assert story["headline"] == story["bullets"][0] and 1 <= len(story["bullets"]) <= 3
        assert set(story["articles"][0]) == {"title", "date", "source"}
    assert len(payload["results"]) == len(payload["stories"])  # kept one more release
    assert payload["themes"] and payload["themes_zh"]


def test_digest_orders_stories_by_weight_and_shows_where_sources_differ(db_path):
    payload = json.loads(run(["digest", "稀土联盟", "--all", "--json"], db_path).output)
    sizes = [len(story["articles"]) for story in payload["stories"]]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == 2
    deal = next(s for s in payload["stories"] if any("澳签协议" in a["title"] for a in s["articles"]))
    conflict = next(c for c in deal["conflicts"] if c["what"] == "investment each (USD)")
    assert [claim["text"][:40] for claim in conflict["claims"]] == [
        "The agreement entails a joint investment",
        "Both countries will invest $3 billion ea",
    ]
    text = run(["digest", "稀土联盟", "--all"], db_path).output
    assert "   ⚠ sources differ: $1B each vs $3B each" in text
    assert "2 articles · Sou Hu Cai Jing · 2025-10-22" in text


def test_digest_of_free_text_searches_when_no_topic_matches(db_path):
    payload = json.loads(run(["digest", "Lynas", "--all", "--json"], db_path).output)
    assert payload["matched_topic"] is False
    assert any("Lynas" in " ".join(story["bullets"]) for story in payload["stories"])


def test_every_command_has_help():
    for name, command in cli.commands.items():
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert command.get_short_help_str(), name


def test_the_package_runs_as_a_module(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "Usage: briefbot" in result.stdout


def test_bundled_seeds_are_the_shared_corpus():
    shared = REPO.parent / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip("../shared/seeds is not beside this checkout")
    assert sorted(p.name for p in SEEDS.glob("*.txt")) == sorted(p.name for p in shared.glob("*.txt"))
    for path in SEEDS.glob("*.txt"):
        assert path.read_bytes() == (shared / path.name).read_bytes()


def test_an_unexpected_failure_is_one_line_not_a_traceback(db_path, monkeypatch):
    from retrieval import Library

    def explode(self, question, k=5):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Library, "ask", explode)
    result = CliRunner().invoke(cli, ["ask", "稀土", "--db", db_path])
    assert result.exit_code == 1
    assert result.output == (
        "Error: unexpected failure (RuntimeError: disk on fire). Run again with BRIEFBOT_DEBUG=1 for details.\n"
    )


def test_a_blank_digest_topic_is_a_usage_error(db_path):
    result = CliRunner().invoke(cli, ["digest", "  ", "--db", db_path])
    assert result.exit_code == 2
    assert "Invalid value for TOPIC: give a topic (see `briefbot topics`) or words to look for" in result.output


@pytest.mark.parametrize("words", ["x" * 100_000, "稀土\x01\x02<b>"], ids=["huge", "control-characters"])
def test_a_free_text_digest_shows_the_cleaned_words(words, db_path):
    payload = json.loads(run(["digest", words, "--all", "--json"], db_path).output)
    assert payload["matched_topic"] is False
    assert len(payload["topic"]) <= 512 and "\x01" not in payload["topic"]


def test_a_glossary_path_that_does_not_exist_stops_with_the_path_named(db_path, tmp_path, monkeypatch):
    missing = tmp_path / "mine.tsv"
    monkeypatch.setenv("BRIEFBOT_GLOSSARY", str(missing))
    result = CliRunner().invoke(cli, ["ask", "稀土", "--db", db_path])
    assert result.exit_code == 2
    assert result.output == f"Error: {missing}: no such glossary file (BRIEFBOT_GLOSSARY; use 'none' for no glossary)\n"


@pytest.mark.parametrize("setting", ["none", "NONE"])
def test_a_glossary_set_to_none_still_answers(setting, db_path, monkeypatch):
    monkeypatch.setenv("BRIEFBOT_GLOSSARY", setting)
    result = run(["ask", "--json", "gallium germanium export controls"], db_path)
    assert result.exit_code == 0 and json.loads(result.output)["results"]


def test_an_owners_glossary_file_replaces_the_bundled_one(tmp_path):
    from retrieval.expand import configured_entries

    path = tmp_path / "mine.tsv"
    path.write_text("# mine\n大豆\tsoybean|soybeans\n", encoding="utf-8")
    entries = configured_entries(str(path))
    assert [(e.chinese, e.english) for e in entries] == [(("大豆",), ("soybean", "soybeans"))]


def test_a_glossary_with_a_bad_weight_names_the_line(db_path, tmp_path, monkeypatch):
    path = tmp_path / "mine.tsv"
    path.write_text("# mine\n稀土\trare earth\tabc\n", encoding="utf-8")
    monkeypatch.setenv("BRIEFBOT_GLOSSARY", str(path))
    result = CliRunner().invoke(cli, ["ask", "稀土", "--db", db_path])
    assert result.exit_code == 2
    assert result.output == f"Error: {path}: line 2: the weight 'abc' is not a number (BRIEFBOT_GLOSSARY)\n"


def test_migrate_brings_a_new_file_up_to_date_once(db_path):
    first = CliRunner().invoke(cli, ["migrate", "--db", db_path])
    assert (first.exit_code, first.output) == (
        0,
        "articles: applied Version 1: articles (with their whole body), topic links and the meta counters.\n"
        "articles: applied Version 2: each article records the generation that last wrote it, "
        "and only its body's length.\n"
        "bot state: applied version 1\n"
        "bot state: applied version 2\n",
    )
    assert article_count(db_path) == 0, "migrating ingested the seeds"
    assert CliRunner().invoke(cli, ["migrate", "--db", db_path]).output == "articles: up to date\nbot state: up to date\n"
