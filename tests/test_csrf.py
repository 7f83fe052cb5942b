"""CSRF: every state-changing page route refuses a request without a token; no GET changes state."""
import pytest
from flask import url_for
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from casetrack import create_app
from casetrack.extensions import db
from tests.factories import build_world

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def csrf_app(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'csrf.db'}", "SECRET_KEY": "test",
                      "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}})
    assert app.config["WTF_CSRF_ENABLED"] is not False
    with app.app_context():
        db.create_all()
        world = build_world()
        world.file()
        db.session.commit()
        yield app, world
        db.session.remove()
        db.engine.dispose()


def fingerprint():
    """Row counts of every table and the sum of every version column: any write shows."""
    figures = []
    for table in db.metadata.sorted_tables:
        figures.append(db.session.scalar(select(func.count()).select_from(table)))
        if "version" in table.c:
            figures.append(db.session.scalar(select(func.sum(table.c.version))))
    db.session.rollback()
    return figures


def urls(app, methods):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not (set(rule.methods) & methods):
            continue
        args = {a: (1 if isinstance(rule._converters[a], IntegerConverter) else "x")
                for a in rule.arguments}
        with app.test_request_context():
            yield rule, url_for(rule.endpoint, **args)


def logged_in(app, user):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client


@pytest.mark.parametrize("username", ["group1", "county", "admin"])
def test_every_write_route_refuses_a_request_without_a_token(csrf_app, username):
    app, world = csrf_app
    client = logged_in(app, world.users[username])
    before = fingerprint()
    checked = 0
    for rule, url in urls(app, WRITE_METHODS):
        if rule.rule.startswith(("/api/", "/open311/")):
            continue   # the APIs take tokens, never cookies: nothing to forge
        for method in set(rule.methods) & WRITE_METHODS:
            r = client.open(url, method=method, data={"reason": "x", "title": "x"})
            assert r.status_code == 400, (method, url, r.status_code)
            checked += 1
    assert checked >= 4
    assert fingerprint() == before


@pytest.mark.parametrize("username", ["group1", "team1", "county", "dept1", "admin"])
def test_no_get_changes_state(csrf_app, username):
    app, world = csrf_app
    client = logged_in(app, world.users[username])
    before = fingerprint()
    for rule, url in urls(app, {"GET"}):
        client.get(url)
    assert fingerprint() == before
