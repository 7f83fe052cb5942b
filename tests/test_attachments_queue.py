"""Photos processed off the request path (issue 25, photo_upload): the upload keeps the bytes as
received, pending and never served; they are verified and re-encoded after the answer is sent, on
the first read, or by `flask process-photos`, then deleted; an unreadable one is removed and said
on the case's timeline; two workers on one photo store it once."""
from __future__ import annotations

import base64
import http.client
import io
import os
import threading
import time
from collections import Counter

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.serving import make_server

from casetrack.extensions import db
from casetrack.models import Attachment, AttachmentBlob
from casetrack.services.casework import attachments
from tests.helpers import FIELDS
from tests.test_attachments import fetch, needs_after_photo, photo, upload
from tests.test_rectification import problem, sites  # noqa: F401 (a fixture)


@pytest.fixture(params=["folder", "database"])
def store(request, app, tmp_path):
    app.config.update(ATTACHMENTS=request.param, ATTACHMENTS_DIR=str(tmp_path / "attachments"))
    return request.param


def row(attachment_id: int) -> Attachment | None:
    """The row as it stands now (the test's own read transaction ended: SQLite keeps its snapshot)."""
    db.session.rollback()
    return db.session.get(Attachment, attachment_id)


def raw_kept(attachment_id: int) -> bytes | None:
    """The photo as uploaded, where the quarantine keeps it (a file or its blob row), if anywhere."""
    db.session.rollback()
    blob = db.session.get(AttachmentBlob, (attachment_id, False))
    if blob is not None and row(attachment_id).pending:
        return blob.data
    path = attachments.folder() / attachments.PENDING / str(attachment_id)
    return path.read_bytes() if path.exists() else None


def everything_kept(tmp_path) -> bytes:
    """Every byte the app keeps: the attachments folder's files and the database's blobs."""
    folder = tmp_path / "attachments"
    files = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else b""
    db.session.rollback()
    return files + b"".join(db.session.scalars(select(AttachmentBlob.data)))


def a_cut_photo() -> bytes:
    """A JPEG whose header is whole (format, size) but whose body stops a third of the way."""
    out = io.BytesIO()
    Image.effect_noise((600, 400), 80).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()[: len(out.getvalue()) // 3]


def test_the_upload_answers_before_processing_and_the_photo_is_processed_after_the_answer(
        api, world, store, tmp_path):
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    sent = photo()
    r = upload(token, case.id, sent)
    assert r.status_code == 201, r.json
    pending = row(r.json["id"])
    assert pending.pending and pending.sha256 is None and pending.size == len(sent)
    assert raw_kept(pending.id) == sent      # kept as received, by its id, until processed
    assert r.json["thumbnail_url"] and r.json["content_type"] == "image/jpeg"

    r.close()   # the server closes the answer once sent: the processing runs then
    done = row(r.json["id"])
    assert not done.pending and done.sha256 and done.thumb_sha256
    assert raw_kept(done.id) is None          # the upload as received is gone
    assert b"SecretCam" not in everything_kept(tmp_path)   # no EXIF (camera, GPS) anywhere
    served = fetch(token, r.json["url"])
    assert served.status_code == 200 and len(served.data) == done.size
    assert Image.open(io.BytesIO(served.data)).size == (20, 40) and b"SecretCam" not in served.data


def test_a_pending_photo_is_processed_when_first_read_and_never_served_as_uploaded(
        api, world, store, tmp_path):
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    body = upload(token, case.id, photo()).json      # the answer left open: nothing processed yet
    assert row(body["id"]).pending

    # out of scope: the same 404, and nothing done on the outsider's behalf
    assert fetch(api("group2"), body["thumbnail_url"]).status_code == 404
    assert row(body["id"]).pending

    thumb = fetch(token, body["thumbnail_url"])       # the uploader's own read: processed first
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.data)).size) == 40 and b"SecretCam" not in thumb.data
    assert not row(body["id"]).pending and raw_kept(body["id"]) is None
    assert b"SecretCam" not in everything_kept(tmp_path)


def test_the_command_processes_the_photos_left_pending_and_the_old_leftover_uploads(
        app, runner, api, world, store):
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    ids = [upload(token, case.id, photo()).json["id"] for _n in range(2)]  # a worker stopped before them
    assert all(row(i).pending for i in ids)
    quarantine = attachments.folder() / attachments.PENDING
    quarantine.mkdir(parents=True, exist_ok=True)
    old, new = quarantine / "990001", quarantine / "990002"     # a rolled-back upload's, and one in flight
    if store == "folder":
        old.write_bytes(photo())
        new.write_bytes(photo())
        os.utime(old, (time.time() - 2 * 3600, time.time() - 2 * 3600))

    db.session.remove()
    result = runner.invoke(args=["process-photos"])
    assert result.exit_code == 0, result.output
    assert "2 photos processed: 2 stored, 0 unreadable" in result.output
    assert all(not row(i).pending and raw_kept(i) is None for i in ids)
    assert not old.exists() and new.exists() == (store == "folder")
    assert "0 photos processed" in runner.invoke(args=["process-photos"]).output


def test_an_unreadable_photo_is_removed_and_the_timeline_says_so_even_after_the_transition_it_proved(
        app, client, auth, api, world, store):
    """The resolve asking for an after-photo takes the pending one; found cut off once processed,
    the photo goes, the case stays resolved, and its timeline tells the inspector."""
    needs_after_photo(app)
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    cut = upload(token, case.id, a_cut_photo(), name="整改后.jpg", stage="after")
    assert cut.status_code == 201, cut.json       # the header is an image's: the answer cannot tell
    r = token.post(f"/cases/{case.id}/transitions", json={"trigger": "resolve", "version": 1, **FIELDS["resolve"]})
    assert r.status_code == 200, r.json

    gone = fetch(token, cut.json["url"])   # processed on this first read (the answer left open)
    assert gone.status_code == 404 and "照片无法识别，已删除" in gone.json["message"]
    assert row(cut.json["id"]) is None and raw_kept(cut.json["id"]) is None
    assert fetch(token, cut.json["thumbnail_url"]).status_code == 404
    detail = token.get(f"/cases/{case.id}").json
    assert detail["attachments"] == [] and detail["state"] == "resolved"
    assert [(e["trigger"], e["data"]) for e in detail["events"][-2:]] == [
        ("resolve", detail["events"][-2]["data"]), ("photo_removed", {"file": "整改后.jpg", "stage": "after"})]
    auth.login("group1")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "照片无法识别，已删除" in page and "文件名" in page and "整改后.jpg" in page and "整改阶段" in page


def test_two_workers_on_one_photo_store_it_once(app, api, world, store):
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    attachment_id = upload(token, case.id, photo()).json["id"]
    decode, both_read = attachments._image, threading.Barrier(2, timeout=20)

    def decode_together(data):   # both have read the photo pending before either claims it
        both_read.wait()
        return decode(data)

    outcomes: Counter = Counter()
    failures = []

    def worker():
        try:
            with app.app_context():
                outcomes.update(attachments.process_photos([attachment_id], db.session.commit))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    attachments._image = decode_together
    try:
        threads = [threading.Thread(target=worker) for _n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        attachments._image = decode
    assert not failures and outcomes == Counter(stored=1, done=1)
    db.session.rollback()
    blobs = db.session.scalars(select(AttachmentBlob).where(AttachmentBlob.attachment_id == attachment_id)).all()
    assert sorted(b.thumbnail for b in blobs) == ([False, True] if store == "database" else [])
    assert not row(attachment_id).pending and raw_kept(attachment_id) is None
    assert fetch(token, f"/api/v1/attachments/{attachment_id}").status_code == 200


def test_photos_sent_in_json_are_processed_the_same_way(api, sites, tmp_path):
    """A filing with its photo in base64 (the offline queue's replay): answered before processing."""
    inspector = api("inspector1")
    r = inspector.post("/cases", json=problem(sites, photos=[
        {"data": base64.b64encode(photo()).decode(), "filename": "现场.jpg"}]))
    assert r.status_code == 201, r.json
    listed = inspector.get(f"/cases/{r.json['id']}").json["attachments"]
    assert len(listed) == 1 and listed[0]["thumbnail_url"] and row(listed[0]["id"]).pending
    r.close()
    assert not row(listed[0]["id"]).pending and b"SecretCam" not in everything_kept(tmp_path)


def test_behind_a_real_server_the_photo_is_processed_once_the_answer_is_sent(app, api, world, tmp_path):
    """Werkzeug's server closes the answer after writing it: the worker's photo thread (as deployed)
    processes the photo with no read."""
    app.config.update(ATTACHMENTS="folder", ATTACHMENTS_DIR=str(tmp_path / "attachments"),
                      PHOTO_PROCESSING="background")
    case, token = world.file("group1"), api("group1")
    db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        boundary = "photo-boundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"stage\"\r\n\r\nbefore\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n"
                "Content-Type: image/jpeg\r\n\r\n").encode() + photo() + f"\r\n--{boundary}--\r\n".encode()
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
        conn.request("POST", f"/api/v1/cases/{case.id}/attachments", body=body,
                     headers={**token.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        answer = conn.getresponse()
        assert answer.status == 201, answer.read()
        attachment_id = int(answer.getheader("Location").rsplit("/", 1)[1])
        conn.close()
        for _n in range(100):  # the bytes as uploaded go just after the commit: wait for both
            if not row(attachment_id).pending and raw_kept(attachment_id) is None:
                break
            time.sleep(0.1)
        assert not row(attachment_id).pending and raw_kept(attachment_id) is None
        worker = next(t for t in threading.enumerate() if t.name == "casetrack-photos")
        assert os.getpriority(os.PRIO_PROCESS, worker.native_id) == 19   # the answers being sent go first
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
