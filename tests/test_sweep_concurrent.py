"""Two sweeps at once: no case is escalated twice (PostgreSQL row locks, SQLite one transaction)."""
from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import func, select

from casetrack import create_app
from casetrack.extensions import db
from casetrack.models import Case, CaseEvent
from casetrack.services.deadlines.sweep import sweep_deadlines
from tests.factories import build_world
from tests.pgcluster import Cluster, server_bin
from tests.test_deadlines import on

CASES = 60


@pytest.fixture(scope="module")
def postgres_url():
    """A throw-away PostgreSQL cluster (tests/pgcluster.py), whichever engine the run uses."""
    bindir = server_bin()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL binaries missing; CI must have them")
        pytest.skip("PostgreSQL binaries missing (install postgresql)")
    cluster = Cluster(bindir)
    try:
        yield cluster.create_database("sweeps")
    finally:
        cluster.stop()


def _two_sweeps_at_once(app) -> list[dict]:
    with app.app_context(), on("2026-06-01"):
        build_world()
        db.session.commit()
        from casetrack.models import User
        from casetrack.services.casework.cases import file_case
        filer = db.session.scalars(select(User).where(User.username == "group1")).one()
        for i in range(CASES):
            file_case(filer, title=f"村道坑洼 {i}", category="infrastructure", kind="individual")
        db.session.commit()

    start, results, errors = threading.Barrier(2), [], []

    def run():
        try:
            with app.app_context(), on("2026-06-10"):  # two working days overdue: escalate all
                start.wait()
                results.append(sweep_deadlines(batch=7))
                db.session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def _assert_each_escalated_once(app, results):
    assert sum(r["escalated"] for r in results) == CASES
    with app.app_context():
        per_case = db.session.execute(
            select(CaseEvent.case_id, func.count()).where(CaseEvent.trigger == "escalate")
            .group_by(CaseEvent.case_id)).all()
        assert len(per_case) == CASES and {n for _id, n in per_case} == {1}
        assert set(db.session.scalars(select(Case.state).distinct())) == {"team"}


def _app(url: str):
    # engine options given explicitly: the defaults were made for the default SQLite URL
    options = {"connect_args": {"timeout": 15}} if url.startswith("sqlite") else {}
    return create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "test",
                       "SQLALCHEMY_ENGINE_OPTIONS": options,
                       "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}})


def test_two_sweeps_at_once_on_postgresql(postgres_url):
    app = _app(postgres_url)
    with app.app_context():
        db.drop_all()
        db.create_all()
    try:
        results = _two_sweeps_at_once(app)
        _assert_each_escalated_once(app, results)
        # SKIP LOCKED: each run took the batches the other had not locked; neither waited
        assert all(r["escalated"] > 0 for r in results), results
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def test_two_sweeps_at_once_on_sqlite(tmp_path):
    app = _app(f"sqlite:///{tmp_path / 'sweep.db'}")
    with app.app_context():
        db.create_all()
    try:
        results = _two_sweeps_at_once(app)
        _assert_each_escalated_once(app, results)
    finally:
        with app.app_context():
            db.engine.dispose()
