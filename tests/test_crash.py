"""A process killed in the middle of a sweep or an import leaves the database as before."""
import fcntl
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from casetrack.db.intent import write_intent
from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Target
from casetrack.services.workdays import calendar
from tests.test_deadlines import on
from tests.test_failure import ROOT, env_for

# Runs a use case in a real process; with PAUSE it stops for good after its first write.
SCRIPT = """
import sys, time
from sqlalchemy import event
from sqlalchemy.engine import Engine
from casetrack import create_app
from casetrack.extensions import db
from casetrack.models import User

app = create_app()
with app.app_context():
{pause}
    actor = db.session.scalars(db.select(User).where(User.username == "county")).one()
    {work}
    db.session.commit()
"""
PAUSE = """
    @event.listens_for(Engine, "after_cursor_execute")
    def pause(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            open(sys.argv[1], "w").close()
            time.sleep(60)
"""


def script(work: str, pause: bool) -> str:
    return SCRIPT.replace("{pause}", PAUSE if pause else "").replace("{work}", work)


def run_and_kill(app, tmp_path, work: str) -> None:
    flag = tmp_path / "flushed"
    proc = subprocess.Popen([sys.executable, "-c", script(work, pause=True), str(flag)],
                            cwd=ROOT, env=env_for(app))
    for _ in range(600):
        if flag.exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert flag.exists(), "the operation never reached its first write"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    db.session.expire_all()


def snapshot():
    rows = db.session.execute(select(Case.id, Case.state, Case.unit_id, Case.version).order_by(Case.id)).all()
    events = db.session.scalar(select(func.count()).select_from(CaseEvent))
    db.session.rollback()
    return rows, events


def test_killed_sweep_changes_nothing(app, world, tmp_path, runner):
    with calendar.at(calendar.now() - timedelta(days=40)):
        for _ in range(5):
            world.file()
    db.session.commit()
    before = snapshot()
    run_and_kill(app, tmp_path, "from casetrack.services.deadlines.sweep import sweep_deadlines; sweep_deadlines(batch=1)")
    assert snapshot() == before
    # and the next sweep does the whole job
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0 and '"escalated": 5' in result.output
    assert runner.invoke(args=["audit-verify"]).exit_code == 0


def test_killed_import_imports_nothing(app, world, tmp_path):
    from openpyxl import Workbook
    book = Workbook()
    sheet = book.active
    sheet.append(["类型", "名称", "地址", "村/社区", "责任工作组(code)", "责任干部(username)", "编号"])
    for i in range(300):
        sheet.append(["农户", f"张{i}户", f"王家组{i}号", "王家村", "G1", "", f"H{i:04d}"])
    path = tmp_path / "targets.xlsx"
    book.save(path)
    importing = ("from casetrack.services.fieldwork.targets import import_targets; "
                 f"import_targets(actor, 'targets.xlsx', open({str(path)!r}, 'rb').read())")
    run_and_kill(app, tmp_path, importing)
    assert db.session.scalar(select(func.count()).select_from(Target)) == 0
    db.session.rollback()
    # the same file imports whole when nothing interrupts it
    done = subprocess.run([sys.executable, "-c", script(importing, pause=False)], cwd=ROOT,
                          env=env_for(app))
    assert done.returncode == 0
    assert db.session.scalar(select(func.count()).select_from(Target)) == 300


# The CLI sweep commits after each batch; this one is killed at its second batch's UPDATE.
KILLED_IN_SECOND_BATCH = """
import os, signal
from datetime import datetime, timezone
from sqlalchemy import event
from sqlalchemy.engine import Engine
from casetrack import create_app
from casetrack.services.workdays import calendar
from casetrack.services.deadlines import sweep

sweep.BATCH = 2
updates = []

@event.listens_for(Engine, "before_cursor_execute")
def kill(conn, cursor, statement, *args):
    if statement.lstrip().upper().startswith("UPDATE CASES"):
        updates.append(statement)
        if len(updates) == 2:
            os.kill(os.getpid(), signal.SIGKILL)

app = create_app()
with calendar.at(datetime(2026, 6, 9, 2, tzinfo=timezone.utc)):
    app.test_cli_runner().invoke(args=["sweep"])
"""


def test_killed_cli_sweep_keeps_its_whole_batches_and_the_next_run_does_the_rest(app, world, runner):
    from tests.test_sweep import sweep
    with on("2026-06-01"):
        cases = [world.file("group1") for _ in range(5)]
    db.session.commit()
    proc = subprocess.run([sys.executable, "-c", KILLED_IN_SECOND_BATCH], cwd=ROOT, env=env_for(app))
    assert proc.returncode == -signal.SIGKILL
    db.session.expire_all()
    flagged = db.session.scalars(select(Case.id).where(Case.overdue_for.is_not(None))).all()
    overdue = db.session.scalars(select(CaseEvent.case_id).where(CaseEvent.trigger == "overdue")).all()
    assert sorted(flagged) == sorted(overdue) == [c.id for c in cases[:2]]  # the first batch, whole
    db.session.rollback()
    assert sweep(runner, "2026-06-09") == {"escalated": 0, "warned": 0, "overdue": 3}
    assert sweep(runner, "2026-06-09")["overdue"] == 0
    per_case = db.session.execute(select(CaseEvent.case_id, func.count()).where(
        CaseEvent.trigger == "overdue").group_by(CaseEvent.case_id)).all()
    assert sorted(per_case) == [(c.id, 1) for c in cases]
    assert runner.invoke(args=["audit-verify"]).exit_code == 0


@pytest.mark.sqlite_only
def test_a_sweep_that_finds_the_database_busy_says_so_and_leaves_it_to_the_next_run(app, world, runner,
                                                                                   impatient):
    with calendar.at(calendar.now() - timedelta(days=40)):
        for _ in range(3):
            world.file()
    db.session.commit()
    before = snapshot()
    fd = os.open(f"{db.engine.url.database}-writer.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)   # another process is writing
    try:
        token = write_intent.set(True)
        busy = impatient(0).test_cli_runner().invoke(args=["sweep"])
        write_intent.reset(token)
    finally:
        os.close(fd)
    assert busy.exit_code == 75 and "busy" in busy.output and "Traceback" not in busy.output, busy.output
    assert snapshot() == before
    assert runner.invoke(args=["sweep"]).exit_code == 0
    assert snapshot() != before
