"""SQLite's writers queue on a lock file beside the database, and checkpoint outside it.

SQLite's own busy handler backs off to 100 ms sleeps, which left a second gunicorn worker
sleeping while the first held the lock for a few milliseconds. Within one process the threads
queue first on a mutex per database (woken at once when it is released, without polling), so
that only one thread per process polls the file, every 0.2 ms: with every thread of every
worker polling, the pollers took the CPU from the writer they were waiting for. Both are held
until the connection goes back to the pool, after COMMIT or ROLLBACK. The wait is the
connection's busy timeout.
"""
from __future__ import annotations

import fcntl
import itertools
import os
import sqlite3
import threading
import time

from sqlalchemy import event
from sqlalchemy.pool import Pool

WRITER_LOCK_POLL = 0.0002
_mutexes: dict[str, threading.Lock] = {}
_mutexes_guard = threading.Lock()


def attach(dbapi_connection, info: dict, path: str, wait: float) -> None:
    """Give a new connection to the database file `path` its writer lock, waited for `wait` s."""
    info["writer_wait"] = wait
    info["writer_lock"] = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    info["writer_db"] = path
    # Checkpoints run after the writer lock is released (below), not inside COMMIT.
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


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


def take(info: dict) -> None:
    """Hold the writer lock of the connection whose pool record `info` is, if it has one."""
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
