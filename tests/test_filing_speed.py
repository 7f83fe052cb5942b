"""Filing over the API does only what it must, and holds SQLite's write lock only for its writes."""
import fcntl
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from casetrack.db import sqlite, writer_lock
from casetrack.db.intent import write_intent
from casetrack.extensions import db
from casetrack.models import Notification
from casetrack.services.organisation.accounts import set_active
from casetrack.services.integrity.audit import verify_chain
from casetrack.services.casework.cases import fire
from tests.test_query_counts import counting

BODY = {"title": "村道坑洼，雨天无法通行", "category": "infrastructure", "kind": "individual",
        "description": "王家组到李家组的路", "resident": {"name": "张三", "phone": "13800000000"}}


def test_filing_reads_nothing_it_does_not_need(api, world):
    group = api("group1")
    assert group.post("/cases", json=BODY).status_code == 201  # this process's copy of the reference data
    db.session.remove()  # an empty session, as in a server process
    with counting() as statements:
        r = group.post("/cases", json=BODY)
    assert r.status_code == 201 and r.json["extension_pending"] is False
    writes = [s.split()[2] for s in statements if s.startswith("INSERT")]
    assert sorted(writes) == ["case_events", "cases", "daily_figures", "notifications"]
    # A new case has no earlier event to chain to, and no extension to look up after the commit.
    assert not any(s.startswith(("SELECT case_events.hash", "SELECT extensions.id")) for s in statements)
    # One flush, and the daily figures of a case left as filed come from the objects held: no
    # SELECT of cases, events, extensions or units (it was 23 statements, 12 of them for the
    # daily figures before and after each of two flushes).
    assert not any(s.lstrip().startswith("SELECT") and ("FROM cases" in s or "FROM case_events" in s
                                                        or "FROM extensions" in s or "FROM units" in s)
                   for s in statements), statements
    # The token's owner comes with the reference version; while it is unchanged the categories,
    # days off and webhooks are this process's copy; the case, its event and its notice are three
    # INSERTs, the daily figures one upsert (11 statements before: 3 transactions, 4 reads); the
    # case's sealed head, known once its id is, one UPDATE (on PostgreSQL sent with the COMMIT).
    assert not any(f"FROM {table}" in s for s in statements for table in ("categories", "days_off", "webhooks"))
    assert len(statements) <= 7 + (db.engine.dialect.name == "sqlite"), statements


def test_the_chain_holds_for_a_case_filed_and_moved_in_one_transaction(api, world):
    case = world.file("group1")  # not committed: the escalation is in the same transaction
    fire(case, "escalate", world.users["group1"], version=case.version, reason="组内无法解决")
    db.session.commit()
    api("group1").post("/cases", json=BODY)
    checked, findings = verify_chain()
    assert (checked, findings) == (3, [])


def test_revoked_tokens_and_deactivated_users_are_refused_at_once(api, world):
    group = api("group1")
    assert group.post("/cases", json=BODY).status_code == 201
    set_active(world.users["group1"], False)
    db.session.commit()
    assert group.post("/cases", json=BODY).status_code == 401
    assert group.get("/me").status_code == 401


@pytest.mark.sqlite_only
def test_a_request_waits_for_the_write_lock_only_to_write(api, world, impatient):
    """While another worker writes, a wrong token is refused at once, not after the lock."""
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 15000  # LOCK_TIMEOUT's default
    # A request that asked for the lock now would give up at once with "database is locked".
    group = api("group1")
    group.client = client = impatient(0).test_client()  # the same user on a server that does not wait
    fd = os.open(f"{db.engine.url.database}-writer.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        r = client.post("/api/v1/cases", json=BODY, headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401, r.json
        # The same request with a good token does need the lock, and says the database is busy.
        busy = group.post("/cases", json=BODY)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "5", busy.json
        assert busy.json["error"] == "busy" and "系统繁忙" in busy.json["message"]
    finally:
        os.close(fd)


@pytest.mark.sqlite_only
def test_the_wal_is_checkpointed_after_commits(app, world, monkeypatch):
    """Checkpoints no longer run inside COMMIT; they still keep the WAL from growing."""
    monkeypatch.setattr(writer_lock, "CHECKPOINT_EVERY", 5)
    wal = Path(f"{db.engine.url.database}-wal")
    token = write_intent.set(True)
    try:
        def write(n: int) -> int:
            for _ in range(n):
                db.session.add(Notification(kind="new_case", message="x" * 2000, unit_id=world.units["G1"].id))
                db.session.commit()
            return wal.stat().st_size
        first = write(20)
        assert write(200) <= first * 1.5
    finally:
        write_intent.reset(token)
    assert db.session.scalar(select(func.count(Notification.id))) == 220


@pytest.mark.sqlite_only
def test_the_wal_is_cut_back_after_a_burst_of_writes(tmp_path, monkeypatch):
    """A large transaction grows the WAL; once checkpointed, the next write starts it over and
    the file shrinks to the limit instead of keeping its largest size on disk."""
    limit = 64 * 1024
    monkeypatch.setattr(sqlite, "WAL_KEPT_BYTES", limit)
    path = tmp_path / "burst.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (body TEXT)"))
        conn.execute(text("INSERT INTO notes VALUES (:body)"), [{"body": "x" * 4000}] * 1000)
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > 4_000_000
    with engine.connect() as conn:
        conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO notes VALUES ('y')"))
    assert wal.stat().st_size <= limit
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM notes")).scalar_one() == 1001
    engine.dispose()


def _count_up(url: str, times: int, threads: int = 2) -> None:
    """`times` read-then-write increments of one counter from each of `threads` threads, each in a
    write transaction of its own (the lost update the writer lock exists to prevent)."""
    import threading
    engine = create_engine(url, connect_args={"timeout": 15})

    def count() -> None:
        for _ in range(times):
            with engine.begin() as conn:
                n = conn.execute(text("SELECT n FROM counter")).scalar_one()
                conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    workers = [threading.Thread(target=count) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    engine.dispose()


@pytest.mark.sqlite_only
def test_writers_of_one_process_and_of_two_lose_no_update(tmp_path):
    """Threads of one worker queue on the process's mutex, workers on the lock file: every
    increment of a counter read and written by four threads in two processes is kept."""
    import multiprocessing
    url = f"sqlite:///{tmp_path / 'counter.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_count_up, args=(url, 100)) for _ in range(2)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
    assert [p.exitcode for p in workers] == [0, 0]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 400
    engine.dispose()


@pytest.mark.sqlite_only
def test_a_writer_that_gave_up_waiting_lets_the_next_one_write(tmp_path):
    """A write refused after the timeout (another process kept the lock) leaves the process's
    mutex free: once that process lets go, this one writes again."""
    import threading
    import sqlite3
    path = tmp_path / "held.db"
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.3})
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    other = os.open(f"{path}-writer.lock", os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)  # another worker writing, as far as this process can tell
    refused = []

    def write() -> None:
        try:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (1)"))
        except sqlite3.OperationalError as exc:  # raised by the begin hook, not wrapped
            refused.append(exc)
    attempts = [threading.Thread(target=write) for _ in range(2)]
    for t in attempts:
        t.start()
    for t in attempts:
        t.join()
    assert [str(e) for e in refused] == ["database is locked (writer lock)"] * 2
    os.close(other)
    write()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    engine.dispose()
