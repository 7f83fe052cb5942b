"""SQLite's engine set-up: pragmas on connect, and BEGIN under our control. Python 3.11's
driver sends no BEGIN before a SELECT, so a read-modify-write lost concurrent updates; every
transaction here begins explicitly, IMMEDIATE when it may write (see intent.py)."""
from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine

from casetrack.db import writer_lock
from casetrack.db.intent import write_intent

# The WAL file is reused, not shrunk, after a checkpoint: a burst of writes (an import, a busy
# hour) left it at its largest (880 MB after 5M filings). SQLite cuts it back to this much when
# it next starts the WAL over.
WAL_KEPT_BYTES = 64 * 1024 * 1024


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None  # BEGIN is ours (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA journal_size_limit={int(WAL_KEPT_BYTES)}")
        path = cursor.execute("PRAGMA database_list").fetchone()[2]
        # the driver's `timeout` (LOCK_TIMEOUT), which the writer lock waits as long as
        wait = cursor.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
        cursor.close()
        if path:  # a file, not :memory:
            writer_lock.attach(dbapi_connection, record.info, path, wait)


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection):
    if connection.dialect.name == "sqlite":
        if write_intent.get():
            writer_lock.take(connection.connection.info)
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


# SQLAlchemy's SQLite compiler drops table hints; render them after the table, so a query can
# say `.with_hint(Model, "INDEXED BY ix_…", "sqlite")` where SQLite's planner picks a worse index.
SQLiteCompiler.get_from_hint_text = lambda _compiler, _table, text: text
