"""Shared fixtures: the real seed files and fresh databases in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval import Library, store
from tests.postgres_server import PostgresServer, server_binaries

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def isolated_data_home(tmp_path, monkeypatch):
    """No test touches the real per-user database."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("BRIEFBOT_DB", raising=False)


@pytest.fixture
def seed_files() -> list[Path]:
    return sorted(SEEDS.glob("*.txt"))


@pytest.fixture
def fresh_library(tmp_path) -> Library:
    """An empty database: nothing ingested."""
    return Library(tmp_path / "fresh.db", seed=False)


@pytest.fixture(scope="session")
def _seeded_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("seeded")
    library = Library(folder / "seeded.db")
    library.index()
    return folder


@pytest.fixture
def seeded_library(_seeded_template, tmp_path) -> Library:
    """A database holding the bundled corpus, with its index, copied per test."""
    target = tmp_path / "seeded"
    shutil.copytree(_seeded_template, target)
    return Library(target / "seeded.db")


def pytest_report_header(config) -> str:
    """Say loudly, at the top of every run, whether the PostgreSQL tests can run."""
    binaries = server_binaries()
    if binaries is None:
        return "PostgreSQL: NO SERVER BINARIES (initdb, pg_ctl) FOUND: every PostgreSQL test is SKIPPED"
    return f"PostgreSQL: server binaries in {binaries}"


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL cluster on loopback for the whole run."""
    if server_binaries() is None:
        pytest.skip("PostgreSQL server binaries not found: PostgreSQL storage tests SKIPPED")
    server = PostgresServer.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh, empty PostgreSQL database for one test, dropped after it."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_location(request, tmp_path) -> str:
    """A fresh, empty database on each backend in turn: a SQLite file's path, a PostgreSQL URL.
    The same specification runs on both."""
    if request.param == "sqlite":
        return str(tmp_path / "briefbot.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def article_store(database_location) -> store.ArticleStore:
    """An open article store on each backend, its migrations applied, nothing saved."""
    opened = store.open_store(database_location)
    yield opened
    opened.close()


@pytest.fixture
def bot_state(database_location):
    """The bot's state, migrated, on each backend in turn."""
    from bot.state import open_state

    opened = open_state(database_location)
    yield opened
    opened.close()
