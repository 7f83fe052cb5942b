"""Backup while the app writes, restore, and the restored trail verifies."""
import threading

from sqlalchemy import func, select

from casetrack import create_app
from casetrack.extensions import db
from casetrack.services import backup
from casetrack.models import Case, CaseEvent, User
from casetrack.services.cases import file_case


def counts():
    return (db.session.scalar(select(func.count()).select_from(Case)),
            db.session.scalar(select(func.count()).select_from(CaseEvent)))


def test_backup_under_write_load_then_restore_drill(app, runner, world, tmp_path, empty_database_url):
    stop, filed = threading.Event(), []

    def writer():
        with app.app_context():
            user = db.session.scalars(select(User).where(User.username == "group1")).one()
            while not stop.is_set():
                file_case(user, title="夜间施工噪音", category="environment", kind="individual")
                db.session.commit()
                filed.append(1)
            db.session.remove()

    thread = threading.Thread(target=writer)
    thread.start()
    while len(filed) < 5:
        thread.join(0.05)
    backup_file = tmp_path / "copy.db"
    result = runner.invoke(args=["backup", str(backup_file)])
    stop.set()
    thread.join()
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert counts()[0] == len(filed) and len(filed) >= 5

    copy_url = f"sqlite:///{backup_file}"
    if db.engine.dialect.name == "postgresql":  # a pg_dump file: look at it restored elsewhere
        copy_url = empty_database_url
        backup.restore(copy_url, backup_file)
    copy = create_app({"DATABASE_URL": copy_url})
    with copy.app_context():
        cases, events = counts()
        assert 5 <= cases and events == cases          # every case with its filing event, no half
        verify = copy.test_cli_runner().invoke(args=["audit-verify"])
        assert verify.exit_code == 0, verify.output
        db.session.remove()
        db.engine.dispose()

    world.file()   # written after the backup: the restore takes it away
    db.session.commit()
    result = runner.invoke(args=["restore", str(backup_file), "--yes"])
    assert result.exit_code == 0, result.output
    assert counts() == (cases, events)
    verify = runner.invoke(args=["audit-verify"])
    assert verify.exit_code == 0 and "0 problems" in verify.output


def test_restore_refuses_a_missing_file(runner, tmp_path):
    result = runner.invoke(args=["restore", str(tmp_path / "none.db"), "--yes"])
    assert result.exit_code != 0
