"""Writes sent with the COMMIT (PostgreSQL).

A write whose answer nobody reads can wait for the COMMIT and go with it, in one round trip
(a psycopg pipeline). The bulletin's figures are why: every filing of a group on a day adds to
the same rows, locked until the COMMIT, and a worker thread waiting for the GIL between the
upsert's answer and sending COMMIT kept the group's other filings waiting (with the new case's
notice sent this way too, 12-15% more filings a second at 8 connections). On SQLite, one writer
at a time and in process, the write is done at once.
"""
from __future__ import annotations

import functools

from sqlalchemy import event
from sqlalchemy.engine import Engine

_AT_COMMIT = "casetrack.writes_at_commit"
# What a savepoint rolled back had queued goes with it (savepoints nest: a stack of the queue's
# length when each began).
_SAVEPOINTS = "casetrack.writes_at_savepoints"


def write_at_commit(conn, stmt, params: dict | list[dict]) -> None:
    """Execute `stmt` (with one row of `params`, or many) in the transaction of the connection
    `conn`, at the latest with its COMMIT; nothing in the transaction may read what it writes."""
    if conn.dialect.name != "postgresql":
        conn.execute(stmt, params)
    else:
        conn.info.setdefault(_AT_COMMIT, []).append((stmt, params))


def send_queued(conn) -> None:
    """Execute now what waits for the COMMIT (before a write that must come after it: the daily
    figures rebuilt); a savepoint rolled back later still undoes it, in the database."""
    writes = conn.info.pop(_AT_COMMIT, None)
    if _SAVEPOINTS in conn.info:
        conn.info[_SAVEPOINTS] = [0] * len(conn.info[_SAVEPOINTS])
    for stmt, params in writes or ():
        conn.execute(stmt, params)


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
