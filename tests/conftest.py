"""Shared fixtures: the real seed files and fresh databases in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval import Library

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
