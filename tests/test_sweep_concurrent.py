"""Two sweeps at once: no case is escalated twice (PostgreSQL row locks, SQLite one transaction)."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casetrack import create_app
from casetrack.extensions import db
from casetrack.models import Case, CaseEvent
from casetrack.services.sweep import sweep_deadlines
from tests.factories import build_world
from tests.test_deadlines import on

PG_BIN = Path("/usr/lib/postgresql/15/bin")
CASES = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A throw-away PostgreSQL cluster in a temporary folder, on a free port."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL binaries missing in {PG_BIN}; CI must have them")
        pytest.skip(f"PostgreSQL binaries missing in {PG_BIN}")
    base = Path(tempfile.mkdtemp(prefix="casetrack-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        pg = pwd.getpwnam("postgres")
        os.chown(base, pg.pw_uid, pg.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port, data = _free_port(), base / "data"
    subprocess.run(as_user + [str(PG_BIN / "initdb"), "-D", str(data), "-U", "casetrack",
                              "--auth=trust", "-E", "UTF8", "--no-locale"],
                   check=True, capture_output=True)
    subprocess.run(as_user + [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w",
                              "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://casetrack@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(as_user + [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                  "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _two_sweeps_at_once(app) -> list[dict]:
    with app.app_context(), on("2026-06-01"):
        build_world()
        db.session.commit()
        from casetrack.models import User
        from casetrack.services.cases import file_case
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
