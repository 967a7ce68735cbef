"""The whole product over PostgreSQL: a Library on a postgresql:// URL seeds itself and answers
and digests as it does on SQLite; the command line takes the URL from --db or $BRIEFBOT_DB;
`briefbot migrate` says what it applied, and a server it cannot reach is one clean line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from bot.cli import answer_json, cli, digest_json
from retrieval import Library
from tests.conftest import REPO

QUESTIONS = ["美澳稀土协议总金额是多少?", "MP Materials Pentagon price floor", "2025年5月 稀土联盟"]
UNREACHABLE = "postgresql://briefbot:s3cret-pw@127.0.0.1:1/briefbot"


@pytest.fixture
def postgres_library(postgres_url):
    library = Library(postgres_url)
    yield library
    library.close()


def briefbot(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ, **env},
    )


def test_a_library_on_postgresql_seeds_itself_and_answers_as_on_sqlite(postgres_library, seeded_library):
    assert postgres_library.store.count_articles() == seeded_library.store.count_articles() == 43
    first = postgres_library.ask(QUESTIONS[0])
    assert first.hits[0].article.title == seeded_library.ask(QUESTIONS[0]).hits[0].article.title
    for question in QUESTIONS:
        assert answer_json(postgres_library.ask(question)) == answer_json(seeded_library.ask(question))


def test_a_digest_on_postgresql_is_the_digest_on_sqlite(postgres_library, seeded_library):
    for topic in ("稀土联盟", "Lynas"):
        on_postgres = postgres_library.digest(topic, days=None)
        assert digest_json(on_postgres) == digest_json(seeded_library.digest(topic, days=None))
    assert postgres_library.topics() == seeded_library.topics()


def test_the_command_line_reads_the_url_from_briefbot_db(postgres_url, tmp_path):
    answered = briefbot("ask", "--json", QUESTIONS[0], BRIEFBOT_DB=postgres_url)
    assert answered.returncode == 0, answered.stderr
    assert '"title": "9月中国对美出口稀土下降30%,美国澳大利亚稀土协议能改变什么?"' in answered.stdout
    backed_up = briefbot("backup", str(tmp_path / "briefbot.dump"), BRIEFBOT_DB=postgres_url)
    assert backed_up.stdout == f"Backed up {postgres_url} to {tmp_path / 'briefbot.dump'}.\n", backed_up.stderr
    assert (tmp_path / "briefbot.dump").read_bytes()[:5] == b"PGDMP"


def test_migrate_lists_what_it_applied_then_finds_the_database_up_to_date(postgres_url):
    first = CliRunner().invoke(cli, ["migrate", "--db", postgres_url])
    assert (first.exit_code, first.output) == (
        0,
        "articles: applied Version 1: articles (rowid an identity column), topic links in the order they "
        "were made, and the meta counters.\n"
        "bot state: applied version 1\n"
        "bot state: applied version 2\n",
    )
    again = CliRunner().invoke(cli, ["migrate", "--db", postgres_url])
    assert (again.exit_code, again.output) == (0, "articles: up to date\nbot state: up to date\n")


@pytest.mark.parametrize("command", [["migrate"], ["ask", "稀土"], ["backup", "copy.dump"]])
def test_a_database_that_cannot_be_reached_is_one_line_without_the_password(command):
    finished = briefbot(*command, "--db", UNREACHABLE)
    assert finished.returncode == 2
    assert finished.stdout == ""
    assert finished.stderr == (
        "Error: cannot reach database postgresql://briefbot:***@127.0.0.1:1/briefbot: connection failed: "
        'connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
    )


def test_a_backup_without_pg_dump_says_what_is_missing(postgres_library, tmp_path, monkeypatch):
    from retrieval import store_postgres

    monkeypatch.setattr(store_postgres, "pg_dump_binary", lambda: None)
    result = CliRunner().invoke(cli, ["backup", str(tmp_path / "copy.dump"), "--db", postgres_library.db_path])
    assert (result.exit_code, result.output) == (
        2,
        "Error: backup needs pg_dump (PostgreSQL's client tools), and none was found on PATH\n",
    )
    assert not (tmp_path / "copy.dump").exists()
