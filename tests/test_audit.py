"""The audit trail is append-only in the database and hash-chained; audit-verify names the altered row."""
import sqlite3
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import psycopg
import pytest
from sqlalchemy import make_url, select, text
from sqlalchemy.exc import DatabaseError

from casetrack.extensions import db
from casetrack.models import CaseEvent
from casetrack.models.cases import EVENT_COLUMNS, append_events
from casetrack.services.casework.cases import fire
from tests.helpers import case_in


@pytest.fixture
def trail(world):
    cases = [case_in(world, "closed"), case_in(world, "department"), case_in(world, "group")]
    db.session.commit()
    return cases


def ids(case) -> list[int]:
    """[case id, its event ids...], read and then released so the test holds no snapshot."""
    case_id = case.id
    events = list(db.session.scalars(select(CaseEvent.id).where(CaseEvent.case_id == case_id)
                                     .order_by(CaseEvent.id)))
    db.session.rollback()
    return [case_id, *events]


def raw(app):
    """A connection that bypasses the app and its guard triggers, as someone editing the
    database directly would; statements take ? placeholders on both engines."""
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() == "postgresql":
        def execute(sql, params=()):
            with psycopg.connect(host=url.host, port=url.port, user=url.username,
                                 dbname=url.database, autocommit=True) as con:
                con.execute("SET session_replication_role = replica")  # this session skips triggers
                con.execute(sql.replace("?", "%s"), params)
        return SimpleNamespace(execute=execute)
    con = sqlite3.connect(url.database, isolation_level=None)
    con.execute("DROP TRIGGER IF EXISTS case_events_no_update")
    con.execute("DROP TRIGGER IF EXISTS case_events_no_delete")
    return con


def test_database_refuses_update_and_delete_of_events(trail):
    for sql in ("UPDATE case_events SET trigger = 'x'", "DELETE FROM case_events"):
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(sql))
        db.session.rollback()
    assert db.session.query(CaseEvent).count() == 3 + 4 + 1   # closed, department and group paths


def test_untouched_trail_verifies(runner, trail):
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 0 and "0 problems" in result.output


@pytest.mark.parametrize("sql,problem", [
    ("UPDATE case_events SET data = '{\"resolution\": \"改过\"}' WHERE id = {id}", "content altered"),
    ("UPDATE case_events SET actor_id = NULL WHERE id = {id}", "content altered"),
    ("UPDATE case_events SET at = '2020-01-01 00:00:00' WHERE id = {id}", "content altered"),
    ("UPDATE case_events SET to_state = 'closed' WHERE id = {id}", "content altered"),
])
def test_each_altered_row_is_named(app, runner, trail, sql, problem):
    case_id, target = ids(trail[0])[0], ids(trail[0])[2]
    raw(app).execute(sql.replace("{id}", str(target)))
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1
    assert f"case_events row {target} (case {case_id}): {problem}" in result.output
    assert "1 problems" in result.output


def test_a_removed_row_is_named_by_its_successor(app, runner, trail):
    case_id, *events = ids(trail[1])
    raw(app).execute(f"DELETE FROM case_events WHERE id = {events[1]}")
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1
    assert f"case_events row {events[2]} (case {case_id}): link broken" in result.output


def test_rehashing_one_row_still_breaks_the_chain(app, runner, trail):
    """A forger who recomputes the altered row's own hash is caught at the next row."""
    case_id, *events = ids(trail[0])
    victim = db.session.get(CaseEvent, events[1])
    db.session.expunge(victim)
    victim.data = {"reason": "伪造"}
    forged = victim.digest()
    db.session.rollback()
    raw(app).execute("UPDATE case_events SET data = ?, hash = ? WHERE id = ?",
                     ('{"reason": "伪造"}', forged, events[1]))
    result = runner.invoke(args=["audit-verify"])
    assert f"case_events row {events[2]} (case {case_id}): link broken" in result.output


def test_an_event_written_in_bulk_hashes_as_the_orm_would(runner, trail):
    """The sweep writes its events outside the ORM: the same event must get the same hash, or
    audit-verify would call every sweep's flag altered."""
    case = trail[2]
    at = datetime(2026, 6, 10, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    data = {"reason": '王家村 "引号" \\ \n\t', "nested": {"b": [1, 2.5, None, True], "a": "é"}}
    fields = dict(case_id=case.id, at=at, actor_id=None, trigger="overdue", from_state=case.state,
                  to_state=case.state, from_unit_id=case.unit_id, to_unit_id=case.unit_id, data=data)
    append_events([tuple(fields[c] for c in EVENT_COLUMNS)])
    bulk = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.id.desc())).first()
    assert bulk.hash == CaseEvent(**fields, prev_hash=bulk.prev_hash).digest()
    assert bulk.prev_hash  # chained to the case's previous event
    db.session.commit()
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 0 and "0 problems" in result.output


# -- the head kept on the case row, the key, the checkpoint --------------------------------

def verify(runner, *args) -> tuple[int, list[str]]:
    result = runner.invoke(args=["audit-verify", *args])
    return result.exit_code, result.output.splitlines()


def test_removing_a_cases_newest_events_is_found(app, runner, trail):
    """A cut tail leaves every remaining link intact; the head on the case row names it."""
    case_id, *events = ids(trail[1])
    raw(app).execute(f"DELETE FROM case_events WHERE id IN ({events[-2]}, {events[-1]})")
    code, lines = verify(runner)
    assert code == 1
    assert lines[:-1] == [f"case {case_id}: missing tail: the case's head names an event that is gone "
                          "(its newest events were removed)"]


def _unkeyed(ev: CaseEvent) -> str:
    return ev.unkeyed_digest()


def _guessed_key(ev: CaseEvent) -> str:
    return ev.digest(b"a key the attacker guessed, not the app's")


@pytest.mark.parametrize("forge", [_unkeyed, _guessed_key])
def test_an_event_rewritten_with_its_hash_recomputed_without_the_key_is_named(app, runner, trail, forge):
    """An attacker rewrites the newest event and recomputes its hash the model's way, but
    without the key (plain sha256, or a guessed key), and moves the case's head to it."""
    case_id, *events = ids(trail[0])
    victim = db.session.get(CaseEvent, events[-1])
    db.session.expunge(victim)
    victim.data = {"note": "伪造"}
    forged = forge(victim)
    db.session.rollback()
    raw(app).execute("UPDATE case_events SET data = ?, hash = ? WHERE id = ?", ('{"note": "伪造"}', forged, events[-1]))
    raw(app).execute("UPDATE cases SET chain_head = ? WHERE id = ?", (forged, case_id))
    code, lines = verify(runner)
    assert code == 1
    assert f"case_events row {events[-1]} (case {case_id}): content altered" in lines
    assert f"case {case_id}: case row altered: its state, units, deadline, funds or head do not match its seal" in lines


@pytest.mark.parametrize("sql", [
    "UPDATE cases SET state = 'closed' WHERE id = {id}",
    "UPDATE cases SET funds = 999 WHERE id = {id}",
    "UPDATE cases SET unit_id = group_id WHERE id = {id}",
    "UPDATE cases SET deadline = '2030-01-01' WHERE id = {id}",
])
def test_a_case_row_edited_in_the_database_is_found(app, runner, trail, sql):
    case_id = ids(trail[1])[0]
    raw(app).execute(sql.replace("{id}", str(case_id)))
    code, lines = verify(runner)
    assert code == 1
    assert lines[:-1] == [f"case {case_id}: case row altered: its state, units, deadline, funds or head "
                          "do not match its seal"]


def test_a_checkpoint_finds_a_case_removed_or_rolled_back_since(app, runner, world, trail, tmp_path):
    """A case removed with its events, or cut back to an earlier event with its row as it was
    then, leaves no loose end in the database: the signed checkpoint names both."""
    gone, rolled = trail[0].id, trail[2]
    before = db.session.execute(text("SELECT chain_head, seal, version, deadline FROM cases WHERE id = :id"),
                                {"id": rolled.id}).one()
    fire(rolled, "escalate", world.users["group1"], reason="组内无法解决")
    db.session.commit()
    checkpoint = tmp_path / "heads.txt"
    code, lines = verify(runner, "--checkpoint", str(checkpoint))
    assert code == 0 and lines[-1] == f"checkpoint of 3 cases written to {checkpoint}"
    fire(trail[1], "return", None, reason="不属于本部门职责")  # events added since are no problem
    db.session.commit()
    assert verify(runner, "--checkpoint", str(checkpoint)) == (0, ["10 events checked, 0 problems"])

    raw(app).execute(f"DELETE FROM case_events WHERE case_id = {gone}")
    raw(app).execute(f"DELETE FROM cases WHERE id = {gone}")
    raw(app).execute(f"DELETE FROM case_events WHERE id = {ids(rolled)[-1]}")
    raw(app).execute("UPDATE cases SET state = 'group', unit_id = group_id, chain_head = ?, seal = ?, "
                     f"version = ?, deadline = ? WHERE id = {rolled.id}", tuple(before))
    assert verify(runner) == (0, ["6 events checked, 0 problems"])  # both look whole without it
    code, lines = verify(runner, "--checkpoint", str(checkpoint))
    assert code == 1
    assert lines[:-1] == [f"case {gone}: case missing: in the checkpoint, not in the database",
                          f"case {rolled.id}: missing tail: the event the checkpoint holds as its head is gone"]


def test_a_checkpoint_altered_or_signed_with_another_key_is_refused(runner, trail, tmp_path):
    checkpoint = tmp_path / "heads.txt"
    assert verify(runner, "--checkpoint", str(checkpoint))[0] == 0
    text_ = checkpoint.read_text()
    first = text_.splitlines()[2]
    checkpoint.write_text(text_.replace(first + "\n", ""))  # a case dropped from it
    code, lines = verify(runner, "--checkpoint", str(checkpoint))
    assert code == 1 and lines[0] == (f"checkpoint {checkpoint}: unreadable or its signature does not match "
                                      "(altered, or written with another audit key)")


def test_events_added_through_the_orm_chain_like_the_others(app, runner, world):
    """A shared problem's link (its parent's first event and a 'link' on each member) and a
    supervision note's event are chained by the session's flush hook, not by `fire`: each links
    to the event before it, the case row's head is the newest, and a change to one is named."""
    from casetrack.services.casework.notices import add_supervision_note
    from casetrack.services.casework.shared import link_cases
    u = world.users
    a, b = case_in(world, "team"), world.file("group2")
    fire(b, "escalate", u["group2"], reason="需要工作队")
    parent = link_cases(u["team1"], "同一条村道", [a.id, b.id])
    add_supervision_note(u["county"], a, "请抓紧办理")
    db.session.commit()
    for case in (a, b, parent):
        events = list(db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                         .order_by(CaseEvent.id)))
        assert [e.prev_hash for e in events] == ["", *[e.hash for e in events[:-1]]]
        assert case.chain_head == events[-1].hash
    assert runner.invoke(args=["audit-verify"]).output.endswith(" 0 problems\n")
    link = ids(parent)[1]
    raw(app).execute(f"UPDATE case_events SET data = '{{\"cases\": [{a.id}]}}' WHERE id = {link}")
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1 and f"case_events row {link} (case {parent.id}): content altered" in result.output
