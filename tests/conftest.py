"""Fixtures: an app on a fresh database per test, a small county, clients that log in.

The database is a fresh SQLite file, or with CASETRACK_TEST_DB=postgresql a throw-away
PostgreSQL cluster (one per session) whose tables are emptied before every test.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import tempfile

import pytest
from sqlalchemy import text

from casetrack import create_app
from casetrack.db.intent import write_intent
from casetrack.extensions import db
from tests.factories import World, build_world
from tests.pgcluster import Cluster, server_bin

TEST_DB = os.environ.get("CASETRACK_TEST_DB", "sqlite")
_database_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster():
    """The session's PostgreSQL cluster (only with CASETRACK_TEST_DB=postgresql)."""
    if TEST_DB != "postgresql":
        pytest.skip("PostgreSQL run only (CASETRACK_TEST_DB=postgresql)")
    bindir = server_bin()
    if bindir is None:
        pytest.fail("CASETRACK_TEST_DB=postgresql but no /usr/lib/postgresql/*/bin/initdb")
    cluster = Cluster(bindir)
    cluster.create_database("casetrack_test")
    yield cluster
    cluster.stop()


def pytest_collection_modifyitems(config, items):
    """Checks of one engine itself are left out of the other engine's run (not skipped)."""
    other = "sqlite_only" if TEST_DB == "postgresql" else "postgresql_only"
    keep = [i for i in items if i.get_closest_marker(other) is None]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep


def pytest_sessionstart(session):
    """Pages are tested in Chinese too: build the .mo files from the .po files if stale."""
    from casetrack.i18n import compile_catalogues
    compile_catalogues()


@pytest.fixture
def database_url(request, tmp_path) -> str:
    """The test's database: a SQLite file, or the session's PostgreSQL test database."""
    if TEST_DB == "postgresql":
        return request.getfixturevalue("pg_cluster").url("casetrack_test")
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def empty_database_url(request, tmp_path) -> str:
    """A database with nothing in it, on the engine under test (for migrations)."""
    if TEST_DB == "postgresql":
        return request.getfixturevalue("pg_cluster").create_database(
            f"casetrack_empty_{next(_database_names)}")
    return f"sqlite:///{tmp_path / 'empty.db'}"


def empty_tables() -> None:
    """PostgreSQL: empty every table and restart its ids, so each test starts afresh."""
    names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables
                      if t.name != "reference_versions")  # its one row is changed, never emptied
    db.session.execute(text("SET LOCAL lock_timeout = '10s'"))
    db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    db.session.commit()


@contextlib.contextmanager
def running_app(database_url: str, **overrides):
    """An app on the test's database (settings `overrides` the test's), its tables made (emptied
    on PostgreSQL), inside its app context; its connections closed at the end."""
    # Files in a folder of the test's own: ids restart with every test (and PostgreSQL's tables),
    # so a photo left pending by one test, or by the other engine's run in the same tree, must
    # not be taken for another's.
    files = tempfile.TemporaryDirectory(prefix="casetrack-files-")
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "PHOTO_PROCESSING": "inline",
                      "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test", "ATTACHMENTS_DIR": files.name,
                      "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}, **overrides})
    # The test's own reads must not hold SQLite's write lock while its client makes requests.
    token = write_intent.set(False)
    with files, app.app_context():
        db.create_all()
        if db.engine.dialect.name == "postgresql":
            empty_tables()
        yield app
        db.session.remove()
        db.engine.dispose()
    write_intent.reset(token)


@pytest.fixture
def app(database_url):
    with running_app(database_url) as app:
        yield app


@pytest.fixture
def impatient(database_url):
    """impatient(seconds): a second app on the test's database that waits only that long for a
    lock (LOCK_TIMEOUT), its connections closed at the end of the test."""
    made = []

    def make(seconds: float):
        made.append(create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test", "LOCK_TIMEOUT": seconds}))
        return made[-1]
    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def world(app) -> World:
    """A county with two teams, three groups, two departments and a user of every role, and
    two neighbouring counties (tests/factories.py)."""
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
    from casetrack.services.organisation.accounts import create_token

    def make(username: str) -> Api:
        token = create_token(world.users[username])
        db.session.commit()
        return Api(client, token)
    return make
