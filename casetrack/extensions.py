"""Extension objects, created unbound and initialised by create_app."""
from __future__ import annotations

import fcntl
import functools
import itertools
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from operator import itemgetter

from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from sqlalchemy import DateTime, MetaData, event, text
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import Pool
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Objects stay loaded after the one commit of a request: rendering the answer reads what was
# just written, without a second round of SELECTs.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
talisman = Talisman()

# Whether the transaction about to begin may write: reads (GET) begin a plain deferred
# transaction, everything else takes SQLite's write lock up front with BEGIN IMMEDIATE.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


# PostgreSQL's lock_not_available, deadlock_detected and serialization_failure.
BUSY_SQLSTATES = {"55P03", "40P01", "40001"}


def database_busy(exc: Exception) -> bool:
    """Another writer held the database past the wait: the same work can succeed later."""
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    return ("database is locked" in str(orig)
            or getattr(orig, "sqlstate", None) in BUSY_SQLSTATES)


@contextmanager
def outside_write_lock() -> Iterator[None]:
    """Reads that may be a moment old when the writes commit (who is asking, a category...):
    on SQLite in a transaction of their own, ended here, so that a write request holds the
    write lock only for its writes; what they load stays loaded. With a transaction begun or
    work pending in the session, or on PostgreSQL, they are plain reads of that transaction."""
    session = db.session()
    if session.in_transaction() or session.new or session.dirty or session.deleted \
            or session.get_bind().dialect.name != "sqlite":
        yield
        return
    token = write_intent.set(False)
    try:
        yield
        session.commit()
    finally:
        write_intent.reset(token)


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, _record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        # Python 3.11's driver sends no BEGIN before a SELECT; take control of BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        path = cursor.execute("PRAGMA database_list").fetchone()[2]
        # the driver's `timeout` (LOCK_TIMEOUT), which the writer lock waits as long as
        _record.info["writer_wait"] = cursor.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
        cursor.close()
        if path:  # a file, not :memory:
            _record.info["writer_lock"] = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
            _record.info["writer_db"] = path
            # Checkpoints run after the writer lock is released (below), not inside COMMIT.
            dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection):
    if connection.dialect.name == "sqlite":
        if write_intent.get():
            _take_writer_lock(connection.connection.info)
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


# SQLAlchemy's SQLite compiler drops table hints; render them after the table, so a query can
# say `.with_hint(Model, "INDEXED BY ix_…", "sqlite")` where SQLite's planner picks a worse index.
SQLiteCompiler.get_from_hint_text = lambda _compiler, _table, text: text


# Writers wait for each other on a lock file beside the database: SQLite's own busy handler
# backs off to 100 ms sleeps, which left a second gunicorn worker sleeping while the first held
# the lock for a few milliseconds. Within one process the threads queue first on a mutex per
# database (woken at once when it is released, without polling), so that only one thread per
# process polls the file, every 0.2 ms: with every thread of every worker polling, the pollers
# took the CPU from the writer they were waiting for. Both are held until the connection goes
# back to the pool, after COMMIT or ROLLBACK. The wait is the connection's busy timeout.
WRITER_LOCK_POLL = 0.0002
_mutexes: dict[str, threading.Lock] = {}
_mutexes_guard = threading.Lock()


def _process_mutex(path: str) -> threading.Lock:
    with _mutexes_guard:
        return _mutexes.setdefault(path, threading.Lock())


def _forget_mutexes() -> None:
    # A forked worker must not inherit a mutex some thread of its parent held at the fork; a
    # connection it inherits looks its mutex up by the database's path when it next writes.
    global _mutexes_guard
    _mutexes_guard = threading.Lock()
    _mutexes.clear()


os.register_at_fork(after_in_child=_forget_mutexes)


def _take_writer_lock(info: dict) -> None:
    fd = info.get("writer_lock")
    if fd is None or info.get("writer_locked"):
        return
    mutex = _process_mutex(info["writer_db"])
    wait = info["writer_wait"]
    deadline = time.monotonic() + wait
    if not mutex.acquire(timeout=wait):
        raise sqlite3.OperationalError("database is locked (writer lock)")
    info["writer_mutex"] = mutex
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            info["writer_locked"] = True
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                info.pop("writer_mutex").release()
                raise sqlite3.OperationalError("database is locked (writer lock)") from None
            time.sleep(WRITER_LOCK_POLL)


def _let_go(info: dict) -> None:
    fcntl.flock(info["writer_lock"], fcntl.LOCK_UN)
    info.pop("writer_mutex").release()


# SQLite's automatic checkpoint runs inside COMMIT, so the writer lock stayed held through
# its two fsyncs (10-40 ms every ~40 filings): the other workers waited for the disk. Each
# connection checkpoints instead after every CHECKPOINT_EVERY write transactions, once it
# has let go of the writer lock (PASSIVE: it never waits for, nor blocks, other writers).
CHECKPOINT_EVERY = 200
_writes = itertools.count(1)  # write transactions of this process


@event.listens_for(Pool, "checkin")
def _release_writer_lock(dbapi_connection, record) -> None:
    if record is not None and record.info.pop("writer_locked", False):
        _let_go(record.info)
        if next(_writes) % CHECKPOINT_EVERY == 0 and dbapi_connection is not None:
            dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()


@event.listens_for(Pool, "close")
def _close_writer_lock(_dbapi_connection, record) -> None:
    if record is None or record.info.get("writer_lock") is None:
        return
    if record.info.pop("writer_locked", False):
        _let_go(record.info)
    os.close(record.info.pop("writer_lock"))


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as naive UTC, read back as aware UTC on every engine."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC datetimes")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def insert_many(table, rows: list, columns: tuple[str, ...] | None = None) -> None:
    """One executemany of `rows` on the session's connection: each value bound by its column's
    type, without SQLAlchemy's per-row statement machinery, which costs more than the database's
    own insert (the sweep writes a row per flag). Rows are dicts with the same keys or, given
    `columns`, tuples in that order (cheaper to build and to bind: no key lookups)."""
    if not rows:
        return
    conn = db.session.connection()
    dialect = conn.dialect
    if columns is None:
        keys = tuple(rows[0])
        take = itemgetter(*keys) if len(keys) > 1 else (lambda row: (row[keys[0]],))
    else:
        keys, take = columns, tuple
    # the statement is written here, so a column's Python-side default would be silently skipped
    skipped = [c.key for c in table.c if c.default is not None and not c.primary_key and c.key not in keys]
    if skipped:
        raise ValueError(f"insert_many into {table.name}: give {', '.join(skipped)} (column defaults are not applied)")
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
           f"({', '.join(quote(k) for k in keys)}) VALUES ({driver_marks(conn, len(keys))})")
    processors = [(i, _memo(p)) for i, p in enumerate(
        table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys) if p]
    params = []
    for row in rows:
        bound = list(take(row))
        for i, process in processors:
            bound[i] = process(bound[i])
        params.append(tuple(bound))
    conn.exec_driver_sql(sql, params)


# On PostgreSQL a write whose answer nobody reads can wait for the COMMIT and go with it, in one
# round trip (a psycopg pipeline). The bulletin's figures are why: every filing of a group on a
# day adds to the same rows, locked until the COMMIT, and a worker thread waiting for the GIL
# between the upsert's answer and sending COMMIT kept the group's other filings waiting
# (with the new case's notice sent this way too, 12-15% more filings a second at 8 connections).
# On SQLite, one writer at a time and in process, the write is done at once.
_AT_COMMIT = "casetrack.writes_at_commit"


def write_at_commit(conn, stmt, params: dict | list[dict]) -> None:
    """Execute `stmt` (with one row of `params`, or many) in the transaction of the connection
    `conn`, at the latest with its COMMIT; nothing in the transaction may read what it writes."""
    if conn.dialect.name != "postgresql":
        conn.execute(stmt, params)
    else:
        conn.info.setdefault(_AT_COMMIT, []).append((stmt, params))


@event.listens_for(Engine, "commit")
def _write_with_commit(conn) -> None:
    conn.info.pop(_SAVEPOINTS, None)
    writes = conn.info.pop(_AT_COMMIT, None)
    if writes:
        send_with_commit(conn, writes)


def send_with_commit(conn, writes: list[tuple]) -> None:
    """The queued writes and COMMIT, in one round trip."""
    raw = conn.connection.dbapi_connection
    with raw.pipeline(), raw.cursor() as cursor:
        for stmt, params in writes:
            rows = params if isinstance(params, list) else [params]
            sql, processors = _driver_statement(stmt, conn.dialect, tuple(rows[0]))
            cursor.executemany(sql, [{k: processors[k](v) if k in processors else v for k, v in row.items()}
                                     for row in rows])
        cursor.execute("COMMIT")  # SQLAlchemy's own commit, next, then finds nothing to commit


@event.listens_for(Engine, "rollback")
def _drop_writes(conn) -> None:
    conn.info.pop(_AT_COMMIT, None)
    conn.info.pop(_SAVEPOINTS, None)


# What a savepoint rolled back had queued goes with it (savepoints nest: a stack of the queue's
# length when each began).
_SAVEPOINTS = "casetrack.writes_at_savepoints"


@event.listens_for(Engine, "savepoint")
def _mark_writes(conn, _name) -> None:
    conn.info.setdefault(_SAVEPOINTS, []).append(len(conn.info.get(_AT_COMMIT, ())))


@event.listens_for(Engine, "rollback_savepoint")
def _drop_savepoint_writes(conn, _name, _context) -> None:
    mark = conn.info[_SAVEPOINTS].pop()
    if _AT_COMMIT in conn.info:
        del conn.info[_AT_COMMIT][mark:]


@event.listens_for(Engine, "release_savepoint")
def _keep_savepoint_writes(conn, _name, _context) -> None:
    conn.info[_SAVEPOINTS].pop()


@functools.cache
def _driver_statement(stmt, dialect, keys: tuple[str, ...]) -> tuple[str, dict]:
    """The SQL of `stmt` given the parameters `keys`, for the driver, and the bind processor of
    each parameter that has one."""
    compiled = stmt.compile(dialect=dialect, column_keys=keys)
    missing = set(compiled.binds) - set(keys)
    if missing:  # a column's Python-side default, which a statement compiled here would skip
        raise ValueError(f"write_at_commit: give {', '.join(sorted(missing))}")
    processors = {key: p for key, bind in compiled.binds.items()
                  if (p := bind.type.dialect_impl(dialect).bind_processor(dialect))}
    return str(compiled), processors


def analyze(table: str) -> None:
    """PostgreSQL: sample `table` now, after a bulk load, rather than when autovacuum comes by.
    Until then the planner takes the table for empty: psycopg prepares a repeated lookup after
    five runs and the generic plan then scans the table for every chunk of an IN list (the
    same 100k-row list imported a second time took 258 s, not 14). SQLite plans well without
    statistics and its ANALYZE reads whole indexes, so it is left alone there."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"ANALYZE {table}"))


def driver_rows(conn, statement, params=None) -> list[tuple]:
    """The rows of a SELECT (a Core statement, or SQL text in the driver's own style) as the
    driver's plain tuples, values as the driver gives them (on SQLite a date is its ISO text):
    SQLAlchemy's Row objects cost the sweep more than SQLite's own reads (its due batches, twice
    the time of the scan; its chain heads, half of the lookup's time)."""
    if isinstance(statement, str):
        result = conn.exec_driver_sql(statement, params if params is not None else ())
    else:
        result = conn.execute(statement, params or {})
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def driver_marks(conn, n: int) -> str:
    """n positional placeholders in the driver's own style, for a statement run with
    `exec_driver_sql` (a list of ids bound by the driver: SQLAlchemy's expanding IN of 1,000
    ids cost the sweep more per batch than the database's work)."""
    return ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * n)


def _memo(process):
    """A bind processor that converts each value object only once: the rows of one bulk insert
    share their timestamp and a few data dicts (the sweep's, one per deadline)."""
    seen: dict[int, tuple] = {}  # id -> (the value, kept so that its id is not reused; converted)

    def bound(value):
        hit = seen.get(id(value))
        if hit is None:
            hit = seen[id(value)] = (value, process(value))
        return hit[1]
    return bound
