"""Consistent online backups: SQLite's backup API, pg_dump -Fc on PostgreSQL."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from casetrack.services.errors import ServiceError


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ServiceError("an in-memory database cannot be backed up")
    return Path(database)


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    args = ["--host", u.host or "localhost", "--port", str(u.port or 5432), "--dbname", u.database or ""]
    if u.username:
        args += ["--username", u.username]
    env = {"PGPASSWORD": u.password} if u.password else {}
    return args, env


def backup(url: str, target: Path) -> None:
    """Copy the database at `url` to `target` while the app may be writing to it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        source = sqlite3.connect(_sqlite_path(url))
        dest = sqlite3.connect(target)
        try:
            with dest:
                source.backup(dest)  # a consistent snapshot, page by page, other writers go on
        finally:
            dest.close()
            source.close()
        return
    args, env = _pg_args(url)
    _run([_tool("pg_dump"), "-Fc", "--file", str(target), *args], env)


def restore(url: str, source: Path) -> None:
    """Replace the database at `url` with the copy in `source`."""
    if not source.is_file():
        raise ServiceError(f"no backup file at {source}")
    if url.startswith("sqlite"):
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dest = sqlite3.connect(_sqlite_path(url))
        try:
            src.backup(dest)
        finally:
            dest.close()
            src.close()
        return
    args, env = _pg_args(url)
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
          *args, str(source)], env)


def _tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                                                   reverse=True)), None)
    if not found:
        raise ServiceError(f"{name} is not installed (Debian package postgresql-client)")
    return str(found)


def _run(cmd: list[str], env: dict[str, str]) -> None:
    import os
    result = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"{Path(cmd[0]).name} failed: {result.stderr.strip()[:500]}")
