"""The command line at its edges: a reader that goes away, paths the system cannot take,
and a backup target that cannot be written."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import EXIT_CLOSED_PIPE, cli
from retrieval import Library
from tests.conftest import REPO


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("edges") / "edges.db"
    Library(path).index()
    return path


@pytest.mark.parametrize(
    "command",
    [["topics"], ["ask", "rare earth export controls"], ["digest", "稀土", "--all"]],
    ids=["topics", "ask", "digest"],
)
def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(db, command):
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *command, "--db", str(db)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    process.stdout.close()  # like `| head -1` once it has its line, but before anything is written
    err = process.stderr.read()
    assert process.wait(timeout=120) == EXIT_CLOSED_PIPE == 141
    assert err == ""


def test_head_of_a_long_listing_in_a_shell_pipeline(db):
    finished = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {sys.executable} -m bot ask - --db {db} | head -1"],
        cwd=REPO, input="rare earth\n" * 200, capture_output=True, text=True, timeout=300,
    )
    assert finished.stdout.count("\n") == 1
    assert finished.stderr == ""
    assert finished.returncode == EXIT_CLOSED_PIPE


def deep_path(root: Path) -> Path:
    return root.joinpath(*["folder"] * 700, "export.txt")  # about 4,900 characters: over PATH_MAX


@pytest.mark.parametrize(
    "args",
    [["ingest", "{deep}"], ["backup", "{deep}"], ["eval", "{deep}"], ["ingest", "{long_name}"]],
    ids=["ingest-deep", "backup-deep", "eval-deep", "ingest-long-name"],
)
def test_a_path_the_system_cannot_take_is_a_clear_error(db, tmp_path, args):
    paths = {"deep": str(deep_path(tmp_path)), "long_name": str(tmp_path / ("名" * 300 + ".txt"))}
    result = CliRunner().invoke(cli, [arg.format(**paths) for arg in args] + ["--db", str(db)])
    given = paths["long_name" if "long_name" in args[1] else "deep"]
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and "File name too long" in result.output
    assert f"{given[:40]}…{given[-40:]}" in result.output
    assert len(result.output) < 300 and result.output.count("\n") == 1


# --- Backing up where nothing can be written --------------------------------------------------


def test_a_backup_whose_cleanup_also_fails_still_reports_the_first_failure(db, tmp_path, monkeypatch):
    """On a read-only file system, removing the partial copy fails as well (EROFS, not ENOENT)."""
    target = tmp_path / "ro" / "copy.db"
    target.parent.mkdir()
    real_unlink, real_connect = Path.unlink, sqlite3.connect

    def read_only_unlink(self, missing_ok=False):
        if self.parent == target.parent:
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_unlink(self, missing_ok)

    def read_only_connect(name, *args, **kwargs):
        if str(name).startswith(str(target.parent)):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(name, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", read_only_unlink)
    monkeypatch.setattr(sqlite3, "connect", read_only_connect)
    result = CliRunner().invoke(cli, ["backup", str(target), "--db", str(db)])
    assert result.exit_code == 2
    assert result.output == f"Error: backup to {target} failed: unable to open database file\n"


def can_mount_read_only() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o ro tmpfs /mnt"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not can_mount_read_only(), reason="needs user and mount namespaces (unshare -rm)")
def test_a_backup_to_a_read_only_file_system_says_so(db, tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    target = folder / "copy.db"
    script = f'mount -t tmpfs -o ro tmpfs "{folder}" && exec "{sys.executable}" -m bot backup "{target}" --db "{db}"'
    finished = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "BRIEFBOT_DEBUG": ""},
    )
    assert finished.returncode == 2, finished.stderr
    assert finished.stderr == f"Error: backup to {target} failed: {folder} is on a read-only file system\n"
