"""`hotline db backup FILE` / `hotline db restore FILE`: the whole database in one file and back.

PostgreSQL through its own tools (`pg_dump --format=custom`, `pg_restore`), which dump a consistent
snapshot while the system keeps taking reports; SQLite through its online backup API (Python's
`sqlite3.Connection.backup`), which copies a consistent image page by page while writers wait their turn.
Neither tool is reimplemented here: this module only turns the configured URL into their arguments.
The password goes to pg_dump in its environment (PGPASSWORD), never on a command line `ps` shows.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(Exception):
    """What went wrong, in one line for the operator."""


@dataclass(frozen=True)
class PgTarget:
    args: list[str]  # connection options for pg_dump / pg_restore
    env: dict[str, str]


def pg_target(url: URL) -> PgTarget:
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    args += ["--dbname", url.database or "postgres"]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return PgTarget(args, env)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed: {done.stderr.strip()[-2000:]}")


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def backup(database_url: str, file: Path) -> None:
    """Write the whole database at `database_url` to `file` (custom-format dump, or a SQLite file)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        _sqlite_copy(_sqlite_path(url), file)
        return
    target = pg_target(url)
    _run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(file), *target.args],
        target.env,
    )


def restore(database_url: str, file: Path, clean: bool = False) -> None:
    """Load `file` (made by `backup`) into the database at `database_url`. Into an empty database, unless
    `clean`: then what the file holds replaces the tables of the same names."""
    if not file.is_file():
        raise BackupError(f"{file}: no such file")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        target = _sqlite_path(url)
        if not clean and _sqlite_has_tables(target):
            raise BackupError(f"{target} already holds tables: restore into an empty database, or pass --clean")
        _sqlite_copy(file, target)
        return
    pg = pg_target(url)
    options = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    if clean:
        options += ["--clean", "--if-exists"]
    _run([_tool("pg_restore"), *options, *pg.args, str(file)], pg.env)


def _sqlite_has_tables(path: Path) -> bool:
    if not path.exists():
        return False
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1").fetchone() is not None


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"{source}: no such database file")
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
