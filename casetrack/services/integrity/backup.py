"""Consistent online backups: SQLite's backup API, pg_dump -Fc on PostgreSQL, and the folder of
attachments as a tar file beside the copy."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from casetrack.long_work import report
from casetrack.models import Case, CaseEvent
from casetrack.services.common.errors import ServiceError

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


def files_beside(path: Path) -> Path:
    """Where a backup keeps the attachments folder: a tar file next to the database's copy."""
    return path.with_name(path.name + ".attachments.tar")


def backup(url: str, target: Path, attachments: Path | None = None, skip: tuple[str, ...] = ()) -> int:
    """Copy the database at `url` to `target` while the app may be writing to it, then the
    `attachments` folder (if given) beside it but for its subfolders named in `skip`; a missing or
    empty database is refused and nothing is written. Returns how many attachment files were copied."""
    check_database(url)
    report("database", 0, 1)  # one step: SQLite's copy in steps starts again whenever the app writes
    _backup_database(url, target)
    report("database", 1, 1)
    return _backup_files(attachments, files_beside(target), skip) if attachments is not None else 0


def _backup_files(folder: Path, tar_path: Path, skip: tuple[str, ...] = ()) -> int:
    """The folder after the database: every file a row of the copy names was written before
    that row committed, and files are never changed (named by their hash), so all are there."""
    part = tar_path.with_name(f".{tar_path.name}.part")
    try:
        files = [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")
                 and p.relative_to(folder).parts[0] not in skip] if folder.is_dir() else []
        with tarfile.open(part, "w") as tar:
            for n, path in enumerate(files, 1):
                tar.add(path, arcname=str(path.relative_to(folder)))
                report("attachments", n, len(files))
        part.replace(tar_path)
        return len(files)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise ServiceError(f"backup of the attachments in {folder} failed: {exc}") from None


def _restore_files(tar_path: Path, folder: Path) -> int:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tar_path) as tar:
            members = tar.getmembers()
            for n, member in enumerate(members, 1):
                tar.extract(member, folder, filter="data")  # no paths outside the folder, no links out
                report("attachments", n, len(members))
            return sum(m.isfile() for m in members)
    except (OSError, tarfile.TarError) as exc:
        raise ServiceError(f"restore of the attachments from {tar_path} failed: {exc}") from None


def _backup_database(url: str, target: Path) -> None:
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


def restore(url: str, source: Path, attachments: Path | None = None) -> int:
    """Replace the database at `url` with the copy in `source`, and put back into the
    `attachments` folder (if given) the files the backup kept beside it; returns how many."""
    if not source.is_file():
        raise ServiceError(f"no backup file at {source}")
    report("database", 0, 1)
    _restore_database(url, source)
    report("database", 1, 1)
    if attachments is not None and files_beside(source).is_file():
        return _restore_files(files_beside(source), attachments)
    return 0


def _restore_database(url: str, source: Path) -> None:
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
