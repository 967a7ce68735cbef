"""Malformed input: one clear `file:line: what is wrong` line, exit code 2, nothing written."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from bot.cli import cli

GOOD = "稀土\nSearch documents\n标题\nX· 2025-06-12 10:08\nGroup 1 - fact [1]\n"


def bad_files():
    """(name, bytes, expected message after 'name:')"""
    return [
        ("binary.txt", b"\x7fELF\x02\x01\x01\x00\x00\x00", "1: binary data (NUL byte): not an export text file"),
        ("gbk.txt", GOOD.encode("gbk"), "1: not UTF-8 text (byte 0xcd); save the export as UTF-8"),
        ("utf16.txt", GOOD.encode("utf-16"), "1: UTF-16 text; save the export as UTF-8"),
        ("empty.txt", b"", "1: empty file"),
        ("prose.txt", "just some notes\nabout rare earths\n".encode(), "2: expected 'Search documents' after topic 'just some notes'"),
        ("no_records.txt", "稀土\nSearch documents\n\n".encode(), "3: no articles after 'Search documents'"),
        ("truncated.txt", GOOD.rsplit("\n", 2)[0].encode(), "3: truncated record: expected title, 'source· YYYY-MM-DD HH:MM' and body lines"),
        ("absurd_date.txt", GOOD.replace("2025-06-12", "9999-06-12").encode(), "4: date '9999-06-12 10:08' is outside 1990-2100"),
        ("huge_line.txt", (GOOD + "标题二\nX· 2025-06-12 10:09\n" + "a" * 1_048_576 + "\n").encode(), "8: line is 1,048,576 characters long; at most 100,000 are allowed"),
    ]


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "m.db"
    CliRunner().invoke(cli, ["topics", "--db", str(path)], catch_exceptions=False)
    return path


def count(db_path) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]


@pytest.mark.parametrize("name, data, message", bad_files(), ids=[case[0] for case in bad_files()])
def test_a_malformed_file_is_refused_with_file_and_line(name, data, message, db_path, tmp_path):
    path = tmp_path / name
    path.write_bytes(data)
    result = CliRunner().invoke(cli, ["ingest", str(path), "--db", str(db_path)])
    assert result.exit_code == 2
    assert result.output == f"{path}:{message}\nNothing was written.\n"
    assert count(db_path) == 43


def test_a_good_file_beside_a_bad_one_is_not_written_either(db_path, tmp_path):
    (tmp_path / "a.txt").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(b"")
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--db", str(db_path)])
    assert result.exit_code == 2
    assert count(db_path) == 43


def test_a_folder_without_exports_says_so(db_path, tmp_path):
    folder = tmp_path / "nothing-here"
    folder.mkdir()
    (folder / "notes.md").write_text("hi")
    result = CliRunner().invoke(cli, ["ingest", str(folder), "--db", str(db_path)])
    assert result.exit_code == 2
    assert result.output == f"Error: {folder}: no .txt export files in this folder\n"


def test_a_database_path_that_cannot_be_created_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(cli, ["topics", "--db", str(blocker / "x.db")])
    assert result.exit_code == 2
    assert result.output.startswith("Error: cannot create database folder")


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    fake = tmp_path / "fake.db"
    fake.write_bytes(b"this is not sqlite" * 100)
    result = CliRunner().invoke(cli, ["topics", "--db", str(fake)])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: cannot open database {fake}")
