"""Consistent online backups: SQLite's backup API, pg_dump -Fc on PostgreSQL."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from casetrack.models import Case, CaseEvent
from casetrack.services.errors import ServiceError

CORE_TABLES = (Case.__tablename__, CaseEvent.__tablename__)  # a casetrack database has at least these


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


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _existing_sqlite(url: str) -> Path:
    """The SQLite file at `url`, refused if it is not there (connecting would create it empty)."""
    path = _sqlite_path(url)
    if not path.is_file():
        raise ServiceError(f"no database at {path}: check CASETRACK_DATABASE_URL")
    return path


def check_database(url: str) -> None:
    """Refuse a database that does not exist or holds no casetrack tables, creating nothing."""
    if url.startswith("sqlite"):
        _existing_sqlite(url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            found = inspect(connection)
            missing = [t for t in CORE_TABLES if not found.has_table(t)]
    except SQLAlchemyError as exc:
        raise ServiceError(f"cannot read the database at {_shown(url)}: "
                           f"{str(getattr(exc, 'orig', exc)).strip()[:300]}") from None
    finally:
        engine.dispose()
    if missing:
        raise ServiceError(f"the database at {_shown(url)} has no casetrack tables "
                           f"({', '.join(missing)} missing): check CASETRACK_DATABASE_URL, or run init-db")


def backup(url: str, target: Path) -> None:
    """Copy the database at `url` to `target` while the app may be writing to it; a missing or
    empty database is refused and nothing is written."""
    check_database(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    existed = target.exists()
    try:
        if url.startswith("sqlite"):
            source = sqlite3.connect(_existing_sqlite(url))
            try:
                dest = sqlite3.connect(target)
                try:
                    with dest:
                        source.backup(dest)  # a consistent snapshot, page by page, other writers go on
                finally:
                    dest.close()
            finally:
                source.close()
            return
        args, env = _pg_args(url)
        _run([_tool("pg_dump"), "-Fc", "--file", str(target), *args], env)
    except (ServiceError, sqlite3.Error) as exc:
        if not existed:
            target.unlink(missing_ok=True)  # no half-written copy that looks like a backup
        raise ServiceError(getattr(exc, "message", None) or f"backup failed: {exc}") from None


def restore(url: str, source: Path) -> None:
    """Replace the database at `url` with the copy in `source`."""
    if not source.is_file():
        raise ServiceError(f"no backup file at {source}")
    if url.startswith("sqlite"):
        check_database(f"sqlite:///{source}")  # an empty copy would empty the database
        try:
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            try:
                dest = sqlite3.connect(_existing_sqlite(url))  # a wrong path would get a new file
                try:
                    src.backup(dest)
                finally:
                    dest.close()
            finally:
                src.close()
        except sqlite3.Error as exc:
            raise ServiceError(f"restore failed: {exc}") from None
        return
    listing = _run([_tool("pg_restore"), "--list", str(source)], {})
    if not any(f" TABLE public {CORE_TABLES[0]} " in line for line in listing.splitlines()):
        raise ServiceError(f"{source} is not a backup of a casetrack database")
    args, env = _pg_args(url)
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
          *args, str(source)], env)


def _tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                                                   reverse=True)), None)
    if not found:
        raise ServiceError(f"{name} is not installed (Debian package postgresql-client)")
    return str(found)


def _run(cmd: list[str], env: dict[str, str]) -> str:
    import os
    result = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"{Path(cmd[0]).name} failed: {result.stderr.strip()[:500]}")
    return result.stdout
