"""Serving a case's photos and documents, to pages and API alike: photos only as the JPEG we
encoded, documents only as downloads, never anything a browser would run."""
from __future__ import annotations

import io
import os
import queue
import threading
import time
from functools import partial

from flask import Flask, send_file
from flask_babel import gettext as _

from casetrack.extensions import db
from casetrack.models import Attachment
from casetrack.services.casework.attachments import JPEG, added_pending, process_photos, read_bytes
from casetrack.services.common.errors import NotFound


def send_attachment(attachment: Attachment, thumbnail: bool):
    """The file (or the photo's thumbnail) of an attachment the caller may see; a photo still
    pending is processed first (a photo never leaves unprocessed), and one found unreadable is gone."""
    if attachment.pending:
        attachment_id = attachment.id
        process_photos([attachment_id], db.session.commit)
        attachment = db.session.get(Attachment, attachment_id)
        if attachment is None:
            raise NotFound(_("The photo could not be read and was removed; the case's timeline says so."))
    if thumbnail and not attachment.is_image:
        raise NotFound(_("No such file."))
    data = read_bytes(attachment, thumbnail)
    image = attachment.is_image
    response = send_file(io.BytesIO(data), mimetype=JPEG if image else attachment.content_type,
                         as_attachment=not image, download_name=attachment.filename or f"{attachment.id}",
                         etag=(attachment.thumb_sha256 if thumbnail else attachment.sha256), max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def process_after_answers(app: Flask) -> None:
    """The photos a request added are processed once its answer is sent: `call_on_close` runs
    when the server closes the answer, after writing its body (Werkzeug's server and gunicorn's
    workers, gthread included, do so in the thread that answered, before its next request); it
    hands them to the worker's photo thread (PHOTO_PROCESSING "background"), or processes them
    there and then ("inline")."""
    @app.after_request
    def _after_the_answer(response):
        ids = added_pending()
        if ids and response.status_code < 400:
            inline = app.config["PHOTO_PROCESSING"] == "inline"
            response.call_on_close(partial(_process, app, ids) if inline else partial(photo_thread.put, app, ids))
        return response


def _process(app: Flask, ids: list[int]) -> None:
    """In an app context (and session) of its own; a failure is logged, never raised: the photo
    stays pending for its first read or `flask process-photos`."""
    started = time.thread_time()
    try:
        with app.app_context():
            outcomes = process_photos(ids, db.session.commit)
        app.logger.info("photos %s processed after the answer (%s) in %.0f ms CPU", ids, dict(outcomes),
                        1000 * (time.thread_time() - started))
    except Exception:  # noqa: BLE001 - the answer is gone: nothing to tell the client
        app.logger.exception("photos %s not processed after the answer; left pending", ids)


class PhotoThread:
    """One thread per worker process that processes the photos handed over after each answer, at
    the lowest CPU priority (Linux's nice is per thread), so that the requests the worker and the
    machine serve meanwhile go first: measured back to back on 2 cores, a 3 MB photo's upload
    took 58 ms beside its predecessor's processing at the same priority, 47 ms at nice 19, 30 ms
    alone. A request thread cannot take the priority back once lowered (without CAP_SYS_NICE), so
    the work leaves the thread that answered. Started on first use, in the process that uses it
    (after gunicorn's fork); a worker stopped with photos queued leaves them pending."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.Queue = queue.Queue()

    def put(self, app: Flask, ids: list[int]) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._pid, self._queue = os.getpid(), queue.Queue()
                threading.Thread(target=self._run, args=(self._queue,), name="casetrack-photos", daemon=True).start()
        self._queue.put((app, ids))

    @staticmethod
    def _run(work: queue.Queue) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):  # not Linux: the same work at the same priority
            pass
        while True:
            app, ids = work.get()
            _process(app, ids)  # logs its failures, never raises


photo_thread = PhotoThread()
