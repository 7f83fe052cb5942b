"""Real processes: 20 concurrent transitions over HTTP, and a process killed mid-transition."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.error import HTTPError

from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent
from casetrack.services.organisation.accounts import create_token
from tests.pgcluster import free_port

ROOT = Path(__file__).resolve().parent.parent


def env_for(app) -> dict:
    return {**os.environ, "CASETRACK_DATABASE_URL": app.config["DATABASE_URL"],
            "CASETRACK_SECRET_KEY": "test"}


def test_twenty_concurrent_transitions_over_http_lose_nothing(app, world):
    case = world.file()
    token = create_token(world.users["group1"])
    db.session.commit()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4",
                               "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env_for(app),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/me", timeout=1)
            except HTTPError:
                break        # 401: the server answers
            except OSError:
                time.sleep(0.1)

        def escalate(_):
            req = urllib.request.Request(
                f"{base}/cases/{case.id}/transitions", method="POST",
                data=json.dumps({"trigger": "escalate", "version": 1, "reason": "并发"}).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            try:
                return urllib.request.urlopen(req, timeout=30).status
            except HTTPError as err:
                return err.code

        with ThreadPoolExecutor(max_workers=20) as pool:
            codes = sorted(pool.map(escalate, range(20)))
    finally:
        server.terminate()
        server.wait(10)
    assert codes == [200] + [409] * 19
    db.session.rollback()
    events = db.session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
    assert events == 2


KILLED_MID_TRANSITION = """
import os, sys, time
from sqlalchemy import event
from sqlalchemy.orm import Session
from casetrack import create_app
from casetrack.extensions import db
from casetrack.models import Case, User
from casetrack.services.casework.cases import fire

app = create_app()
with app.app_context():
    @event.listens_for(Session, "after_flush")
    def pause(session, ctx):
        open(sys.argv[1], "w").close()   # the flush is done, the commit not yet
        time.sleep(60)
    case = db.session.get(Case, int(sys.argv[2]))
    user = db.session.scalars(db.select(User).where(User.username == "group1")).one()
    fire(case, "resolve", user, resolution="修好了", funds="9")
    db.session.commit()
"""


def test_a_process_killed_mid_transition_leaves_the_case_as_before(app, world, tmp_path, runner):
    case = world.file()
    db.session.commit()
    before = (case.state, case.version)
    db.session.rollback()
    flag = tmp_path / "flushed"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_MID_TRANSITION, str(flag), str(case.id)],
                            cwd=ROOT, env=env_for(app))
    for _ in range(300):
        if flag.exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert flag.exists(), "the transition never reached its flush"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    db.session.expire_all()
    again = db.session.get(Case, case.id)
    assert (again.state, again.version, again.funds) == (*before, None)
    assert db.session.scalar(select(func.count()).select_from(CaseEvent)) == 1
    db.session.rollback()
    assert runner.invoke(args=["audit-verify"]).exit_code == 0
