"""Serving a case's photos and documents, to pages and API alike: photos only as the JPEG we
encoded, documents only as downloads, never anything a browser would run."""
from __future__ import annotations

import io

from flask import send_file
from flask_babel import gettext as _

from casetrack.models import Attachment
from casetrack.services.casework.attachments import JPEG, read_bytes
from casetrack.services.common.errors import NotFound


def send_attachment(attachment: Attachment, thumbnail: bool):
    """The file (or the photo's thumbnail) of an attachment the caller may see."""
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
