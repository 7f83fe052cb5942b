"""Whether the transaction about to begin may write. On SQLite a writing transaction takes the
write lock up front (BEGIN IMMEDIATE); a read begins a plain deferred one, so that reads never
queue behind writers. The request sets the intent from its method; `outside_write_lock` lets a
write request do its preliminary reads without the lock."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from casetrack.extensions import db

# Reads (GET) begin a plain deferred transaction, everything else takes SQLite's write lock up
# front with BEGIN IMMEDIATE.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


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
