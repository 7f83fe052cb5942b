"""Fixtures: an app on a fresh SQLite file per test, a small county, clients that log in."""
from __future__ import annotations

import pytest

from casetrack import create_app
from casetrack.extensions import db, write_intent
from tests.factories import World, build_world


def pytest_sessionstart(session):
    """Pages are tested in Chinese too: build the .mo files from the .po files if stale."""
    from casetrack.i18n import compile_catalogues
    compile_catalogues()


@pytest.fixture
def app(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}", "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test",
                      "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}})
    # The test's own reads must not hold SQLite's write lock while its client makes requests.
    token = write_intent.set(False)
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()
    write_intent.reset(token)


@pytest.fixture
def world(app) -> World:
    """A county with two teams, three groups, two departments and a user of every role."""
    w = build_world()
    db.session.commit()
    return w


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, username: str, password: str = "secret"):
        return self.client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client) -> Auth:
    return Auth(client)


class Api:
    """A JSON client that sends one user's bearer token."""

    def __init__(self, client, token: str):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, path, **kw):
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(f"/api/v1{path}", json=json, headers=self.headers, **kw)


@pytest.fixture
def api(client, world):
    """api('group1') is a JSON client acting as that user."""
    from casetrack.services.accounts import create_token

    def make(username: str) -> Api:
        token = create_token(world.users[username])
        db.session.commit()
        return Api(client, token)
    return make
