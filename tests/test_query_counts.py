"""The main pages issue as many SQL queries for many rows as for few (no N+1)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import event, select

from casetrack.db import at_commit
from casetrack.extensions import db
from casetrack.models import Unit, User
from casetrack.services.workdays.calendar import today
from casetrack.services.casework.cases import fire
from tests.helpers import case_in


@contextmanager
def counting():
    """The SQL statements sent, those that go with the COMMIT on PostgreSQL included."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    def send_with_commit(conn, writes):
        statements.extend(str(stmt.compile(conn)) for stmt, _params in writes)
        sending(conn, writes)
    sending, at_commit.send_with_commit = at_commit.send_with_commit, send_with_commit
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
        at_commit.send_with_commit = sending


def _queries(get, path: str) -> int:
    """Queries of one request made with an empty session (nothing already loaded helps it)."""
    db.session.remove()
    g.pop("_login_user", None)  # Flask-Login's cached user belonged to the old session
    with counting() as statements:
        response = get(path)
    assert response.status_code == 200, path
    return len(statements)


def _reload(world) -> None:
    """Load the world's users and units again into the (new) session."""
    world.users = {u.username: u for u in db.session.scalars(select(User))}
    world.units = {u.code: u for u in db.session.scalars(select(Unit))}


def _worked_case(world, n: int):
    """A case filed by group n's leader and worked through team, county, a department and back."""
    users = world.users
    group, team = ("group1", "team1") if n % 2 else ("group3", "team2")
    case = world.file(group, title=f"问题{n}", kind="shared" if n % 3 == 0 else "individual")
    if case.state == "group":
        fire(case, "escalate", users[group], reason="需要协调")
    fire(case, "escalate", users[team], reason="镇里解决不了")
    fire(case, "refer", users["county"], department="D1" if n % 2 else "D2",
         due_date=(today() + timedelta(days=20)).isoformat())
    fire(case, "resolve", users["dept1" if n % 2 else "dept2"], resolution="已办结", funds="1")
    fire(case, "verify", users["county"], satisfied=False)
    return case


@pytest.mark.parametrize("who", ["county", "group1"])
def test_list_pages_do_not_grow_with_the_number_of_cases(world, client, auth, api, who):
    _worked_case(world, 1)   # one case of every shape shown, so "few" loads the same kinds of rows
    db.session.commit()
    auth.login(who)
    json_client = api(who)
    json_client.get("/me")  # a first call also notes the token's use (then at most once a minute)
    few = (_queries(client.get, "/"), _queries(client.get, "/cases"), _queries(json_client.get, "/cases"))
    _reload(world)
    for n in range(2, 26):
        _worked_case(world, n)
    db.session.commit()
    many = (_queries(client.get, "/"), _queries(client.get, "/cases"), _queries(json_client.get, "/cases"))
    assert many == few


def test_case_page_does_not_grow_with_the_timeline(world, client, auth, api):
    # A case referred to a department, as the long one ends: the office's take_over (reach: scope)
    # is then offered on both pages, at the cost of one scope check each (issue 22).
    short = case_in(world, "department")
    db.session.commit()
    auth.login("county")
    json_client = api("county")
    json_client.get("/me")  # a first call also notes the token's use (then at most once a minute)
    few = (_queries(client.get, f"/cases/{short.id}"), _queries(json_client.get, f"/cases/{short.id}"))
    _reload(world)
    long = _worked_case(world, 1)
    for _ in range(3):
        fire(long, "resolve", world.users["dept1"], resolution="返工", funds="1")
        fire(long, "verify", world.users["county"], satisfied=False)
    db.session.commit()
    many = (_queries(client.get, f"/cases/{long.id}"), _queries(json_client.get, f"/cases/{long.id}"))
    assert many == few


def test_health_check_answers_without_login_or_database(app, client):
    with counting() as statements:
        response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert statements == []
