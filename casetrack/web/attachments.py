"""Serving a case's photos and documents, to pages and API alike: photos only as the JPEG we
encoded, documents only as downloads, never anything a browser would run."""
from __future__ import annotations

import io
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
    workers, gthread included, do so in the thread that answered, before its next request)."""
    @app.after_request
    def _after_the_answer(response):
        ids = added_pending()
        if ids and response.status_code < 400:
            response.call_on_close(partial(_process, app, ids))
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
