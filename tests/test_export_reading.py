"""Reading export files safely: regular files only, a size cap, a file that changes while
it is read, a file cut off mid-article, and a later, longer copy of an article."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from retrieval import Library, ParseError, parse_file, parse_text
from retrieval.parse import MAX_FILE_BYTES
from tests.conftest import REPO, SEEDS
from tests.exports import export_text

SEEDED = 43
SEED = SEEDS / "003_f677a3b4de769b06.txt"


def ingest(*paths: Path, db: Path):
    return CliRunner().invoke(cli, ["ingest", *map(str, paths), "--db", str(db)])


def article_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "read.db"
    Library(path).index()
    return path


def refused(result, path: Path, line: int, reason: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.output == f"{path}:{line}: {reason}\nNothing was written.\n"


# --- What is read at all -------------------------------------------------------------------


def test_a_fifo_is_refused_without_waiting_for_a_writer(db, tmp_path):
    fifo = tmp_path / "export.txt"
    os.mkfifo(fifo)
    finished = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", str(fifo), "--db", str(db)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert finished.returncode == 2
    assert finished.stderr == f"{fifo}:0: not a regular file (a FIFO); give an export file\nNothing was written.\n"


def test_a_device_is_refused_without_reading_it(db):
    finished = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", "/dev/zero", "--db", str(db)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert finished.returncode == 2
    assert finished.stderr == "/dev/zero:0: not a regular file (a character device); give an export file\nNothing was written.\n"


def test_a_socket_is_refused(db, tmp_path):
    path = tmp_path / "export.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        refused(ingest(path, db=db), path, 0, "not a regular file (a socket); give an export file")


def test_a_file_over_the_size_cap_is_refused_by_name_and_cap(db, tmp_path):
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written to disk
    refused(
        ingest(huge, db=db), huge, 0,
        "file is 50.0 MB (52,428,801 bytes); exports of more than 50 MB (52,428,800 bytes) are refused: split it",
    )
    assert article_count(db) == SEEDED


def test_a_file_changed_while_it_is_read_is_refused(db, tmp_path, monkeypatch):
    export = tmp_path / "growing.txt"
    export.write_text(export_text("合成", 3000), encoding="utf-8")
    real_read = os.read
    appended = []

    def read_then_append(fd, size):
        block = real_read(fd, size)
        if not appended:  # another program writes more while the first block is being read
            appended.append(True)
            with export.open("a", encoding="utf-8") as file:
                file.write(export_text("合成", 1, first=5000).split("Search documents\n", 1)[1])
        return block

    monkeypatch.setattr(os, "read", read_then_append)
    refused(ingest(export, db=db), export, 0, "the file changed while it was being read; ingest it again once it is complete")
    assert appended and article_count(db) == SEEDED


def records_cut_mid_body(text: str) -> list[str]:
    """`text` in pieces that each end inside an article body, as a slow writer leaves it."""
    pieces, start = [], 0
    for line in text.split("\n"):
        if line.startswith("Group 1 - "):
            middle = text.index(line, start) + len(line) // 2
            pieces.append(text[start:middle])
            start = middle
    return pieces + [text[start:]]


def test_a_file_rewritten_during_ingest_is_refused_or_read_whole(db, tmp_path):
    export = tmp_path / "rewritten.txt"
    total = 4000
    text = export_text("重写", total)
    export.write_text(text, encoding="utf-8")
    stop = threading.Event()

    def rewrite_until_stopped() -> None:
        pieces = records_cut_mid_body(text)
        while not stop.is_set():
            with export.open("w", encoding="utf-8") as file:
                for piece in pieces:
                    file.write(piece)
                    file.flush()

    writer = threading.Thread(target=rewrite_until_stopped)
    writer.start()
    try:
        outcomes = []
        for _ in range(5):
            finished = subprocess.run(
                [sys.executable, "-m", "bot", "ingest", str(export), "--db", str(db)],
                cwd=REPO, capture_output=True, text=True, timeout=300,
            )
            outcomes.append((finished.returncode, finished.stdout, finished.stderr))
    finally:
        stop.set()
        writer.join()
    for code, out, err in outcomes:
        if code == 0:
            assert out in (f"{total} new articles, 0 already known.\n", f"0 new articles, {total} already known.\n")
        else:
            assert code == 2 and err.endswith("Nothing was written.\n"), err
    assert article_count(db) in (SEEDED, SEEDED + total)


# --- A file cut off mid-article ------------------------------------------------------------


def cut(text: str, drop: int) -> str:
    return text[: len(text) - drop]


@pytest.mark.parametrize(
    "ending",
    ["mid-word", "after-a-space", "after-a-bullet-mark", "inside-a-citation"],
)
def test_an_export_cut_inside_its_last_body_is_refused(db, tmp_path, ending):
    text = SEED.read_text(encoding="utf-8")
    body = text.rsplit("\n", 1)[1]
    cuts = {
        "mid-word": body[: body.rindex("technology") + 5],
        "after-a-space": body[: body.rindex("technology") + len("technology ")],
        "after-a-bullet-mark": body[: body.rindex(" - ") + 3],
        "inside-a-citation": body[: body.rindex("[19]") + 3],
    }
    export = tmp_path / "cut.txt"
    export.write_text(text.rsplit("\n", 1)[0] + "\n" + cuts[ending], encoding="utf-8")
    line = len(text.split("\n"))
    tail = " ".join(cuts[ending].split())[-30:]
    refused(
        ingest(export, db=db), export, line,
        f"the last article's body stops mid-sentence (…{tail!r}): the file looks cut off; export it again",
    )
    assert article_count(db) == SEEDED


def test_a_cut_chinese_prose_body_is_refused_too(tmp_path):
    text = "稀土\nSearch documents\n一\nX· 2025-06-12 10:08\n第一句。第二句。\n二\nX· 2025-06-12 10:09\n第一句。第二"
    with pytest.raises(ParseError) as caught:
        parse_text(text, "prose.txt")
    assert (caught.value.line, caught.value.reason) == (
        8, "the last article's body stops mid-sentence (…'第一句。第二'): the file looks cut off; export it again"
    )


def test_a_last_body_without_an_ending_is_kept_when_other_bodies_lack_one_too():
    text = "稀土\nSearch documents\n一\nX· 2025-06-12 10:08\nGroup 1 - no marker here\n二\nX· 2025-06-12 10:09\nGroup 1 - nor here"
    assert [article.title for article in parse_text(text, "plain.txt").articles] == ["一", "二"]


def test_every_seed_file_reads_as_complete(seed_files):
    assert sum(len(parse_file(path).articles) for path in seed_files) == SEEDED


# --- A later, longer copy of an article ----------------------------------------------------


def stored_body_length(library: Library, title: str) -> int:
    """The database keeps the length of a body (what tells a cut copy from a full one), not the body."""
    return library.store.db.execute("SELECT body_chars FROM articles WHERE title = ?", [title]).fetchone()[0]


def test_a_longer_copy_of_an_article_replaces_the_shorter_and_reaches_the_index(tmp_path):
    head, body = SEED.read_text(encoding="utf-8").rsplit("\n", 1)
    title = head.split("\n")[-2]
    partial = tmp_path / "partial.txt"
    partial.write_text(f"{head}\n{body[: body.rindex(' - ')]}", encoding="utf-8")  # ends cleanly: cannot tell
    library = Library(tmp_path / "longer.db", seed=False)
    library.ingest([partial])
    assert stored_body_length(library, title) == len(body[: body.rindex(" - ")])

    counts = library.ingest([SEED])
    assert (counts.new, counts.known, counts.updated) == (0, len(parse_file(SEED).articles), 1)
    assert stored_body_length(library, title) == len(body)
    hit = library.ask("refining and separation technology posing a significant challenge to U.S. efforts", k=1).hits[0]
    assert hit.article.title == title
    assert "posing a significant challenge to U.S. efforts" in hit.bullets[0]

    assert library.ingest([partial]).updated == 0  # the shorter copy does not come back
    assert stored_body_length(library, title) == len(body)
