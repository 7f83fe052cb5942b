"""audit-verify on a live database: it reads through the writers, and a database that stays
busy gets a message and exit 75, never a traceback (issue 21)."""
import sqlite3

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from casetrack.db.intent import write_intent
from casetrack.extensions import db
from casetrack.services.integrity import audit


def test_audit_verify_reads_while_a_writer_holds_the_lock(world, impatient, database_url):
    world.file()
    db.session.commit()
    busy = impatient(0.3)  # a writer's lock outlasts this wait
    token = write_intent.set(True)  # as under `flask audit-verify` (the test app reads without)
    if database_url.startswith("sqlite"):
        writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # SQLite's write lock, as a saving request holds it
        result = busy.test_cli_runner().invoke(args=["audit-verify"])
        writer.close()
    else:
        holder = create_engine(database_url)
        with holder.connect() as writer:
            writer.execute(text("LOCK TABLE case_events IN EXCLUSIVE MODE"))  # writers wait, readers not
            result = busy.test_cli_runner().invoke(args=["audit-verify"])
            writer.rollback()
        holder.dispose()
    write_intent.reset(token)
    assert result.exit_code == 0, result.output
    assert "1 events checked, 0 problems" in result.output


def test_audit_verify_retries_a_busy_database_then_says_so(runner, monkeypatch):
    tries = []

    def busy(**_options):
        tries.append(1)
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(audit, "verify_chain", busy)
    monkeypatch.setattr("time.sleep", lambda _s: None)  # the back-off, not waited here
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 75 and isinstance(result.exception, SystemExit)
    assert "the database stayed busy" in result.output
    assert len(tries) > 1


def test_audit_verify_succeeds_when_the_database_frees_up(runner, world, monkeypatch):
    world.file()
    db.session.commit()
    verify, tries = audit.verify_chain, []

    def busy_once(**options):
        tries.append(1)
        if len(tries) == 1:
            raise OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked"))
        return verify(**options)

    monkeypatch.setattr(audit, "verify_chain", busy_once)
    monkeypatch.setattr("time.sleep", lambda _s: None)  # the back-off, not waited here
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 0, result.output
    assert "1 events checked, 0 problems" in result.output
