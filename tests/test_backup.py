"""Backup while the app writes, restore, and the restored trail verifies."""
import threading

import pytest

from sqlalchemy import func, select

from casetrack import create_app
from casetrack.extensions import db
from casetrack.services.integrity import backup
from casetrack.models import Case, CaseEvent, User
from casetrack.services.casework.cases import file_case


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


def test_a_backup_of_a_missing_database_fails_and_creates_nothing(tmp_path):
    missing, copy = tmp_path / "wrong" / "casetrack.db", tmp_path / "copy.db"
    wrong = create_app({"DATABASE_URL": f"sqlite:///{missing}"})
    result = wrong.test_cli_runner().invoke(args=["backup", str(copy)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert f"no database at {missing}" in result.output
    assert not missing.exists() and not copy.exists()
    result = wrong.test_cli_runner().invoke(args=["restore", str(_empty_sqlite(tmp_path / "x.db")), "--yes"])
    assert result.exit_code == 1 and not missing.exists()


def _empty_sqlite(path):
    import sqlite3
    sqlite3.connect(path).close()
    return path


def test_a_backup_of_a_database_without_casetrack_tables_fails(tmp_path, empty_database_url):
    if empty_database_url.startswith("sqlite"):
        _empty_sqlite(empty_database_url.removeprefix("sqlite:///"))
    copy = tmp_path / "copy.db"
    empty = create_app({"DATABASE_URL": empty_database_url})
    result = empty.test_cli_runner().invoke(args=["backup", str(copy)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "has no casetrack tables" in result.output
    assert not copy.exists()


def test_restore_refuses_a_backup_without_casetrack_tables(runner, world, tmp_path):
    world.file()
    db.session.commit()
    before = counts()
    result = runner.invoke(args=["restore", str(_empty_sqlite(tmp_path / "empty.db")), "--yes"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.startswith("error: ")
    assert counts() == before and before[0] > 0


@pytest.mark.parametrize("store", ["folder", "database"])
def test_backup_and_restore_keep_the_photos(app, runner, api, world, tmp_path, store):
    """Folder: a tar of it beside the copy, put back by restore; database: in the copy itself."""
    import io
    import shutil

    from tests.test_attachments import photo
    app.config.update(ATTACHMENTS=store, ATTACHMENTS_DIR=str(tmp_path / "attachments"))
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    sent = token.client.post(f"/api/v1/cases/{case.id}/attachments", headers=token.headers,
                             data={"file": (io.BytesIO(photo()), "p.jpg"), "stage": "before"},
                             content_type="multipart/form-data").json
    kept = token.client.get(sent["url"], headers=token.headers).data
    backup_file = tmp_path / "copy.db"
    result = runner.invoke(args=["backup", str(backup_file)])
    assert result.exit_code == 0, result.output
    assert backup.files_beside(backup_file).exists() == (store == "folder")

    # the machine is lost: an empty folder, and the database emptied by a restore of an older copy
    shutil.rmtree(tmp_path / "attachments", ignore_errors=True)
    if db.engine.dialect.name == "postgresql":
        db.session.remove()
    result = runner.invoke(args=["restore", str(backup_file), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    for url in (sent["url"], sent["thumbnail_url"]):
        got = token.client.get(url, headers=token.headers)
        assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert token.client.get(sent["url"], headers=token.headers).data == kept


@pytest.mark.parametrize("store", ["folder", "database"])
def test_a_backup_processes_the_pending_photos_first_and_copies_no_photo_as_uploaded(
        app, runner, api, world, tmp_path, store):
    """The quarantine (photos as uploaded, EXIF and GPS with them) is never in a backup."""
    import io
    import tarfile

    from casetrack.models import Attachment
    from tests.test_attachments import photo
    app.config.update(ATTACHMENTS=store, ATTACHMENTS_DIR=str(tmp_path / "attachments"))
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    sent = [token.client.post(f"/api/v1/cases/{case.id}/attachments", headers=token.headers,
                              data={"file": (io.BytesIO(photo(size)), "p.jpg"), "stage": "before"},
                              content_type="multipart/form-data").json["id"] for size in ((40, 20), (60, 30))]
    db.session.remove()
    backup_file = tmp_path / "copy.db"
    result = runner.invoke(args=["backup", str(backup_file)])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert all(not db.session.get(Attachment, i).pending for i in sent)
    if store == "folder":
        with tarfile.open(backup.files_beside(backup_file)) as tar:
            names = tar.getnames()
            kept = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
        assert len(names) == 4 and not any(n.startswith("pending") for n in names)  # 2 photos, 2 thumbnails
        assert b"SecretCam" not in kept
    if db.engine.dialect.name == "sqlite":   # the copy's every page, free ones too
        assert b"SecretCam" not in backup_file.read_bytes()
