"""A throwaway PostgreSQL server on loopback for the storage tests: `initdb` and `pg_ctl`
from PATH (or Debian's /usr/lib/postgresql/*/bin), run as the `postgres` system user when
the tests run as root, since initdb refuses root. Each test gets its own database."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path


def server_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when this machine has no PostgreSQL server."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    """A running cluster: `url()` names a database on it; `new_database()` makes a fresh one."""

    folder: Path
    port: int
    binaries: Path
    as_user: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, timeout=120)

    @classmethod
    def start(cls) -> PostgresServer:
        binaries = server_binaries()
        if binaries is None:
            raise FileNotFoundError("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        folder = Path(tempfile.mkdtemp(prefix="briefbot-pg-"))
        if as_user:
            shutil.chown(folder, "postgres")
        server = cls(folder, _free_port(), binaries, as_user)
        data = folder / "data"
        server._run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        options = f"-p {server.port} -k {folder} -h 127.0.0.1 -F -c max_connections=200"
        server._run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
        return server

    def stop(self) -> None:
        try:
            self._run(str(self.binaries / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
